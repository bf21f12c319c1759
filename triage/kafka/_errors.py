"""Kafka client errors as the project's own: one ``LogError`` with a line a person can act on.

An unreachable broker, refused credentials or a missing topic are the
user's to fix, not bugs, so every public entry point of this package turns
the Kafka client's exceptions into :class:`events.LogError` here, at the
adapter's edge, and the command line prints them like any other error.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from aiokafka.errors import KafkaError

from events import LogError

__all__ = ["kafka_errors"]

_F = TypeVar("_F", bound=Callable[..., Any])


def kafka_errors(fn: _F) -> _F:
    """Run ``fn`` (or iterate it, if it is a generator function); a Kafka client
    error becomes ``LogError("kafka: ...")``."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def iterate(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except KafkaError as exc:
                raise LogError(f"kafka: {exc}") from None

        return cast(_F, iterate)

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KafkaError as exc:
            raise LogError(f"kafka: {exc}") from None

    return cast(_F, call)
