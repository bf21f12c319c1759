"""Kafka client errors as the project's own: one ``LogError`` with a line a person can act on.

An unreachable broker, refused credentials or a missing topic are the
user's to fix, not bugs, so every public entry point of this package turns
the Kafka client's exceptions into :class:`events.LogError` here, at the
adapter's edge, and the command line prints them like any other error.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from aiokafka.errors import KafkaConnectionError, KafkaError

from events import LogError

__all__ = ["kafka_errors", "start_or_close"]

_ADDRESS = re.compile(r"\('([^']+)', (\d+)")


def _explain(exc: KafkaError) -> LogError:
    """The client's error as one line a person can act on."""
    if isinstance(exc, KafkaConnectionError):
        hosts = ", ".join(f"{h}:{p}" for h, p in _ADDRESS.findall(str(exc)))
        return LogError(f"kafka: cannot reach a broker at {hosts or 'the bootstrap servers'}")
    return LogError(f"kafka: {exc}")


async def start_or_close(client: Any) -> None:
    """Start a Kafka client; if it cannot start, close it before raising.

    A client whose ``start`` failed still holds a connection pool, and
    asyncio warns about it at exit ("Unclosed AIOKafkaProducer").
    """
    try:
        await client.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await (client.close() if hasattr(client, "close") else client.stop())
        raise


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
                raise _explain(exc) from None

        return cast(_F, iterate)

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KafkaError as exc:
            raise _explain(exc) from None

    return cast(_F, call)
