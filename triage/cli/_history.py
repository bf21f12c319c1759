"""A recorded journal for the ops commands, read from the embedded log or from Kafka.

``triage.ops`` works on plain entries (position, input, outputs); this is
where they come from, with what each backend knows besides: the policies
the embedded log records, the dead letters, and where a copy is written.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from events import ConfigError, InputEvent, OutputEvent
from router import DEFAULT_POLICY, Policy

from .._policy_file import encode_policy, load_policy
from ..embedded import DeadLetter, Journal
from ..ops import Recorded
from ._options import client_settings

__all__ = ["Source", "open_source", "write_copy"]

_BATCH = 5_000


class Source:
    """One history to read: its entries, its policies, its dead letters, its size if known."""

    def __init__(
        self,
        name: str,
        entries: Callable[[], Iterator[Recorded]],
        epochs: list[tuple[int, Policy]],
        dead_letters: Callable[[], list[DeadLetter]],
        total: int | None,
        *,
        policy_recorded: bool,
        live: Path | None = None,
        pending: int = 0,
    ) -> None:
        self.name = name
        self.entries = entries
        self.epochs = epochs
        self.dead_letters = dead_letters
        self.total = total
        self.policy_recorded = policy_recorded
        self.live = live
        self.pending = pending

    def policy_notes(self) -> list[str]:
        """What a report on this history must say of the policy it was replayed with."""
        if self.policy_recorded:
            return []
        return [
            f"the Kafka journal does not record the policy: replayed with "
            f"{self.epochs[0][1].name!r} (--policy)"
        ]


@contextmanager
def open_source(
    log_path: Path, options: dict[str, Any], policy_path: Path | None, option: str = "--policy"
) -> Iterator[Source]:
    """The history of ``--broker`` if given, else of the embedded log at ``log_path``.

    The Kafka journal does not record the policy, so on Kafka ``policy_path``
    (default: the default policy) stands for it; the embedded log records its
    own, and ``policy_path`` is refused there rather than silently ignored.
    """
    if options.get("broker"):
        settings = client_settings(options, lenient=True)
        policy = load_policy(policy_path)
        yield Source(
            f"the Kafka journal {settings.topics.journal!r} at {options['broker']}",
            lambda: _kafka_entries(settings),
            [(1, policy)],
            lambda: _kafka_dead_letters(settings),
            None,
            policy_recorded=False,
        )
        return
    if policy_path is not None:
        raise ConfigError(
            "the embedded log records the policies it was routed with; "
            f"{option} is for a Kafka history (--broker), whose journal does not"
        )
    with Journal(log_path, readonly=True) as journal:
        processed = journal.processed()
        epochs = [(pos, msgspec.json.decode(body, type=Policy)) for pos, body in journal.policies()]
        yield Source(
            f"the embedded log {log_path}",
            lambda: _embedded_entries(journal, processed),
            epochs or [(1, DEFAULT_POLICY)],
            lambda: list(journal.dead_letters()),
            processed,
            policy_recorded=True,
            live=log_path,
            pending=journal.last() - processed,
        )


def _embedded_entries(journal: Journal, processed: int) -> Iterator[Recorded]:
    # Inputs past `processed` have no outputs yet: they are pending, not history.
    for inputs, caused in journal.pages(upto=processed):
        outputs_of = caused.get
        for pos, body in inputs:
            yield pos, body, outputs_of(pos, [])


def _kafka_entries(settings: Any) -> Iterator[Recorded]:
    from ..kafka import read_journal

    position = 0
    for _, batch in read_journal(settings):
        for raw, outputs in batch.entries:
            position += 1
            yield position, bytes(raw), [bytes(output) for output in outputs]


def _kafka_dead_letters(settings: Any) -> list[DeadLetter]:
    from ..kafka import dump_kafka

    out = io.BytesIO()
    dump_kafka(settings, out, deadletters=True)
    letters = []
    for line in out.getvalue().splitlines():
        found = msgspec.json.decode(line)
        letters.append(
            DeadLetter(
                source=found["source"],
                location=found["location"],
                error=found["error"],
                raw=base64.b64decode(found["raw_base64"]),
            )
        )
    return letters


class _Copy:
    """Writes replayed inputs with their outputs into a new log, switching policies in place."""

    def __init__(self, journal: Journal, epochs: Sequence[tuple[int, Policy]]) -> None:
        self.journal = journal
        self.epochs = sorted(epochs, key=lambda epoch: epoch[0])
        self.pending: list[tuple[InputEvent, Sequence[OutputEvent]]] = []
        self.mark = journal.processed()  # the new log's processed mark (fenced writes)

    def __call__(self, position: int, event: InputEvent, outputs: Sequence[OutputEvent]) -> None:
        if self.epochs and self.epochs[0][0] <= position:
            self.flush()
            while self.epochs and self.epochs[0][0] <= position:
                policy = self.epochs.pop(0)[1]
            self.journal.set_policy(encode_policy(policy))
        self.pending.append((event, outputs))
        if len(self.pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        self.mark = self.journal.commit(self.pending, after=self.mark)
        self.pending.clear()


@contextmanager
def write_copy(
    path: Path, source: Source
) -> Iterator[Callable[[int, InputEvent, Sequence[OutputEvent]], None]]:
    """A sink for ``replay`` writing a new embedded log at ``path``; it must not exist."""
    if source.live is not None and path.resolve() == source.live.resolve():
        raise ConfigError(f"--to {path} is the log being replayed; replay never writes to it")
    if path.exists():
        raise ConfigError(f"--to {path} exists; replay writes a new log and overwrites nothing")
    with Journal(path) as journal:
        copy = _Copy(journal, source.epochs)
        yield copy
        copy.flush()
        journal.dead_letter(source.dead_letters())
        journal.set_meta("replayed_from", source.name)
