"""The dead letters of the embedded log: keeping them, reading them, marking retries.

Tables (schema 4): ``deadletters(pos, source, location, error, raw,
received)``, each letter kept once per (source, location, raw), and
``retries(pos, deadletter, workspace, event, at)``, one row per retry marked
on a letter. A letter's id is its ``pos``. A log of an older schema is read
as it is: its letters have no receive time and no retries.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import msgspec

from events import LogError

from .._dead_letters import Kept, Retry, stamp
from ._sqlite import Atomic, blob, integer, reading, text

__all__ = ["DeadLetter", "DeadLetterStore"]

_RECEIVED_FROM: int = 4  # the first schema with `received` and `retries`


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A record that could not be decoded or validated; ``received``: when it was kept."""

    source: str
    location: str
    error: str
    raw: bytes
    received: datetime | None = None


class DeadLetterStore:
    """The dead-letter half of :class:`~triage.embedded.Journal` (a mixin over its connection)."""

    path: Path
    schema: int
    _db: sqlite3.Connection
    _atomic: Atomic

    def dead_letter(self, letters: Sequence[DeadLetter]) -> int:
        """Keep records that could not be decoded, with their reason; returns how many are new.

        A letter already kept (same source, location and raw bytes) is not
        kept twice.
        """
        if not letters:
            return 0
        with self._atomic:
            cursor = self._db.executemany(
                "INSERT OR IGNORE INTO deadletters (source, location, error, raw, received)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (d.source, d.location, d.error, d.raw, _stamp_or_none(d.received))
                    for d in letters
                ],
            )
        return max(cursor.rowcount, 0)

    def dead_letters(self) -> Iterator[DeadLetter]:
        """Every dead letter, oldest first."""
        for kept in self.kept_letters():
            yield DeadLetter(
                source=kept.source,
                location=kept.location,
                error=kept.error,
                raw=kept.raw,
                received=kept.received,
            )

    def kept_letters(self, *, after: int = 0, batch: int = 5_000) -> Iterator[Kept]:
        """Every dead letter after id ``after`` with its retries, oldest first, read in batches."""
        while True:
            with reading(self.path):
                rows = self._db.execute(
                    f"SELECT pos, source, location, error, raw, {self._received} FROM deadletters"
                    " WHERE pos > ? ORDER BY pos LIMIT ?",
                    (after, batch),
                ).fetchall()
                if not rows:
                    return
                retries = self._retries(integer(rows[0][0]), integer(rows[-1][0]))
                found = [_kept(row, retries.get(integer(row[0]), ())) for row in rows]
            yield from found
            after = integer(rows[-1][0])

    def kept_letter(self, letter: int) -> Kept | None:
        """The dead letter with id ``letter``, or ``None``."""
        with reading(self.path):
            row = self._db.execute(
                f"SELECT pos, source, location, error, raw, {self._received} FROM deadletters"
                " WHERE pos = ?",
                (letter,),
            ).fetchone()
            if row is None:
                return None
            return _kept(row, self._retries(letter, letter).get(letter, ()))

    def dead_letter_count(self) -> int:
        """How many dead letters the log keeps."""
        with reading(self.path):
            return integer(self._db.execute("SELECT count(*) FROM deadletters").fetchone()[0])

    def retried_count(self) -> int:
        """How many dead letters have at least one retry marked."""
        if self.schema < _RECEIVED_FROM:
            return 0
        with reading(self.path):
            row = self._db.execute("SELECT count(DISTINCT deadletter) FROM retries").fetchone()
            return integer(row[0])

    def retries_after(self, after: int = 0) -> list[tuple[int, str, Retry]]:
        """(position, dead letter id, retry) of every retry marked after position ``after``."""
        if self.schema < _RECEIVED_FROM:
            return []
        with reading(self.path):
            return [
                (integer(pos), str(integer(letter)), _retry(workspace, event, at))
                for pos, letter, workspace, event, at in self._db.execute(
                    "SELECT pos, deadletter, workspace, event, at FROM retries"
                    " WHERE pos > ? ORDER BY pos",
                    (after,),
                )
            ]

    def mark_retried(self, letter: int, retry: Retry) -> None:
        """Mark a dead letter as retried by ``retry``'s event (a mark more if it has one)."""
        with self._atomic:
            if self.kept_letter(letter) is None:
                raise LogError(f"the log {self.path} has no dead letter {letter}")
            self._db.execute(
                "INSERT INTO retries (deadletter, workspace, event, at) VALUES (?, ?, ?, ?)",
                (letter, retry.workspace, retry.event, stamp(retry.at)),
            )

    @property
    def _received(self) -> str:
        return "received" if self.schema >= _RECEIVED_FROM else "NULL"

    def _retries(self, first: int, last: int) -> dict[int, tuple[Retry, ...]]:
        """The retries of the letters ``first`` to ``last``, each oldest first."""
        if self.schema < _RECEIVED_FROM:
            return {}
        marks: dict[int, list[Retry]] = {}
        for letter, workspace, event, at in self._db.execute(
            "SELECT deadletter, workspace, event, at FROM retries"
            " WHERE deadletter >= ? AND deadletter <= ? ORDER BY pos",
            (first, last),
        ):
            marks.setdefault(integer(letter), []).append(_retry(workspace, event, at))
        return {letter: tuple(found) for letter, found in marks.items()}


def _kept(row: tuple[object, ...], retries: tuple[Retry, ...]) -> Kept:
    pos, source, location, error, raw, received = row
    return Kept(
        id=str(integer(pos)),
        received=None if received is None else _time(received),
        source=text(source),
        location=text(location),
        error=text(error),
        raw=blob(raw),
        retries=retries,
    )


def _retry(workspace: object, event: object, at: object) -> Retry:
    return Retry(event=text(event), workspace=text(workspace), at=_time(at))


def _time(value: object) -> datetime:
    """A time the log keeps; ValueError (damage, under ``reading``) if it is not one."""
    moment = datetime.fromisoformat(text(value))
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} has no offset")
    return moment


def _stamp_or_none(at: datetime | None) -> str | None:
    return None if at is None else stamp(at)
