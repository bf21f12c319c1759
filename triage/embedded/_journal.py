"""The embedded log: one SQLite file (WAL) that is the system of record.

Tables (created and upgraded by ``_schema``):

- ``inputs``: every accepted input event, in processing order (``pos``),
  unique by (workspace, id): a resent event is a duplicate, not a new fact,
  and a known id with another body is a conflict the caller is told of;
- ``outputs``: the engine's output events, each with the ``pos`` of the
  input that caused it;
- ``deadletters``: records that could not be decoded or validated, with the
  raw bytes, the reason, where they came from and when, each kept once, and
  ``retries``, the corrected events submitted for them (``_letters``);
- ``policies``: the routing policy in force from a given input position on,
  so that recovery and replay decide as the live run did;
- ``meta``: ``processed``, the last input whose outputs are recorded, and
  the schema version.

The outputs of a batch of inputs and the new ``processed`` mark are written
in one transaction (the tracking-record pattern): a process killed at any
moment leaves either all of a batch or none of it, and a restart rebuilds
the engine by folding the inputs up to ``processed`` and carries on. The
transaction is fenced: the writer says which mark it last saw, and if
another writer has moved it, nothing is written (LogError).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from itertools import groupby, islice
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

import msgspec

from events import InputEvent, LogError, OutputEvent, encode, type_name

from ._letters import DeadLetterStore
from ._schema import SCHEMA_VERSION, Sync, check_version, prepare
from ._sqlite import Atomic, blob, damaged, integer, open_reader, open_writer, reading, text

__all__ = ["Appended", "Entry", "Journal"]

_POSITION: Final = itemgetter(0)
_BODY: Final = itemgetter(1)


def _typed(rows: list[Any]) -> bool:
    """(integer, BLOB) rows, checked in C: a damaged record may hold any type."""
    return not rows or (
        set(map(type, map(_POSITION, rows))) == {int}
        and set(map(type, map(_BODY, rows))) == {bytes}
    )


def _well_formed(rows: list[Any], after: int, upto: int) -> bool:
    """Typed rows whose positions rise strictly from ``after`` to no more than ``upto``."""
    if not rows or not _typed(rows):
        return not rows
    positions = list(map(_POSITION, rows))
    return (
        after < positions[0]
        and positions[-1] <= upto
        and all(map(operator.lt, positions, islice(positions, 1, None)))
    )


class Appended(msgspec.Struct, frozen=True):
    """What an append did: events accepted, resent, and in conflict with the log.

    ``conflicts`` are the indexes (in the appended sequence) of the events
    whose (workspace, id) is in the log with a different canonical body.
    """

    accepted: int
    duplicates: int
    conflicts: tuple[int, ...] = ()


class Entry(msgspec.Struct, frozen=True, gc=False):
    """One accepted input (canonical JSON) and the outputs it caused."""

    # gc=False: it holds bytes and a list of bytes, so it is in no cycle, and a
    # whole journal read by entries is not for the collector to walk.

    pos: int
    input: bytes
    outputs: list[bytes]


class Journal(DeadLetterStore):
    """The SQLite journal at ``path``.

    Opened to write (the default), it is created on first use (unless
    ``create=False``), checked with ``PRAGMA quick_check`` (unless
    ``check=False``: a log just created needs none) and upgraded in place to
    the current log schema. Opened ``readonly``, it must exist, may be of an
    older schema, and is never changed. Every failure is a LogError naming
    the file.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        sync: Sync = "normal",
        create: bool = True,
        readonly: bool = False,
        check: bool = True,
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._db = open_reader(self.path) if readonly else open_writer(self.path, create=create)
        self._atomic = Atomic(self._db, self.path)
        try:
            if readonly:
                self.schema = check_version(self._db, self.path, readonly=True)
            else:
                prepare(self._db, self.path, self._atomic, sync=sync, check=check)
                self.schema = SCHEMA_VERSION
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the file; committed work is durable."""
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def atomic(self) -> Atomic:
        """One transaction around several writes: ``with journal.atomic(): ...``."""
        return self._atomic

    # --- writing -------------------------------------------------------------

    def append(self, events: Sequence[InputEvent]) -> Appended:
        """Append input events in order; one whose (workspace, id) is known is skipped.

        A known event with the same canonical body is a duplicate (a resend);
        one with another body is a conflict, reported by its index so that
        the caller can keep it as a dead letter.
        """
        rows = [(e.workspace, e.id, type_name(e), encode(e)) for e in events]
        with self._atomic:
            before = self.last()
            cursor = self._db.executemany(
                "INSERT OR IGNORE INTO inputs (workspace, id, type, body) VALUES (?, ?, ?, ?)",
                rows,
            )
            accepted = max(cursor.rowcount, 0)
            conflicts = self._conflicts(rows, before) if accepted < len(rows) else ()
        return Appended(accepted, len(rows) - accepted - len(conflicts), conflicts)

    def record(self, results: Sequence[tuple[int, Sequence[OutputEvent]]], *, after: int) -> int:
        """Write the outputs of processed inputs and move ``processed``, atomically.

        ``after`` is the mark this writer last read or wrote: if the log's
        mark is elsewhere, another writer has processed these inputs, and
        nothing is written (LogError). Returns the new mark.
        """
        if not results:
            return after
        rows = [(pos, type_name(o), encode(o)) for pos, outputs in results for o in outputs]
        with self._atomic:
            self._fence(after)
            self._db.executemany("INSERT INTO outputs (input, type, body) VALUES (?, ?, ?)", rows)
            self._set_meta("processed", str(results[-1][0]))
        return results[-1][0]

    def commit(
        self, processed: Sequence[tuple[InputEvent, Sequence[OutputEvent]]], *, after: int
    ) -> int:
        """Append inputs already applied by the caller, with their outputs, atomically.

        For a single writer that drives the engine itself and needs each
        decision at once (the demo, a simulation). The events must be new:
        one already in the log would mean the caller's engine has folded it
        twice, so it raises LogError and the whole batch is rolled back. As
        for :meth:`record`, ``after`` is the mark this writer last wrote, and
        the log must hold no input beyond it. Returns the new mark.
        """
        if not processed:
            return after
        with self._atomic:
            self._fence(after, appending=True)
            for event, outputs in processed:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO inputs (workspace, id, type, body) VALUES (?, ?, ?, ?)",
                    (event.workspace, event.id, type_name(event), encode(event)),
                )
                if cursor.rowcount != 1:
                    raise LogError(
                        f"event {event.id!r} of {event.workspace!r} is already in the log"
                    )
                if outputs:
                    pos = cursor.lastrowid
                    self._db.executemany(
                        "INSERT INTO outputs (input, type, body) VALUES (?, ?, ?)",
                        [(pos, type_name(o), encode(o)) for o in outputs],
                    )
            mark = int(cursor.lastrowid or 0)
            self._set_meta("processed", str(mark))
        return mark

    def set_policy(self, body: bytes) -> bool:
        """Record the policy in force from the next unprocessed input; False if unchanged."""
        with self._atomic:
            with reading(self.path):
                current = self._db.execute(
                    "SELECT body FROM policies ORDER BY pos DESC LIMIT 1"
                ).fetchone()
                if current is not None and blob(current[0]) == body:
                    return False
            self._db.execute(
                "INSERT OR REPLACE INTO policies (pos, body) VALUES (?, ?)",
                (self.processed() + 1, body),
            )
        return True

    def save_snapshot(self, position: int, body: bytes, *, keep: int = 2) -> None:
        """Keep a snapshot of the engine after input ``position``; only the newest ``keep`` stay."""
        with self._atomic:
            self._db.execute(
                "INSERT OR REPLACE INTO snapshots (pos, body) VALUES (?, ?)", (position, body)
            )
            self._db.execute(
                "DELETE FROM snapshots WHERE pos NOT IN "
                "(SELECT pos FROM snapshots ORDER BY pos DESC LIMIT ?)",
                (keep,),
            )

    # --- reading -------------------------------------------------------------

    def snapshots(self, upto: int) -> Iterator[tuple[int, bytes]]:
        """The snapshots at or before position ``upto``, newest first (none in an older log)."""
        with reading(self.path):
            if not self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'snapshots'"
            ).fetchone():
                return
            rows = self._db.execute(
                "SELECT pos FROM snapshots WHERE pos <= ? ORDER BY pos DESC", (upto,)
            ).fetchall()
        for (pos,) in rows:
            with reading(self.path):
                row = self._db.execute(
                    "SELECT body FROM snapshots WHERE pos = ?", (pos,)
                ).fetchone()
            if row is not None:
                yield integer(pos), blob(row[0])

    def processed(self) -> int:
        """Position of the last input whose outputs are recorded (0: none)."""
        with reading(self.path):
            value = self._meta("processed")
            return int(value) if value is not None else 0

    def last(self) -> int:
        """Position of the last accepted input (0: none)."""
        with reading(self.path):
            row = self._db.execute("SELECT max(pos) FROM inputs").fetchone()
            return integer(row[0] or 0)

    def inputs(
        self, after: int = 0, upto: int | None = None, limit: int = 10_000
    ) -> list[tuple[int, bytes]]:
        """Accepted inputs after position ``after`` (and up to ``upto``), in order."""
        if upto is None:
            upto = 2**62
        with reading(self.path):
            rows = self._db.execute(
                "SELECT pos, body FROM inputs WHERE pos > ? AND pos <= ? ORDER BY pos LIMIT ?",
                (after, upto, limit),
            ).fetchall()
            if _well_formed(rows, after, upto):
                return rows
            found = [(integer(pos), blob(body)) for pos, body in rows]
        # A damaged b-tree can return rows out of the range asked for; a reader
        # that pages on by position would then never end.
        previous = after
        for pos, _ in found:
            if not previous < pos <= upto:
                raise damaged(self.path, f"input {pos} is out of order after {previous}")
            previous = pos
        return found

    def event_body(self, workspace: str, event_id: str) -> bytes | None:
        """The canonical body of an accepted input, or ``None`` if the log has none by that id."""
        with reading(self.path):
            row = self._db.execute(
                "SELECT body FROM inputs WHERE workspace = ? AND id = ?", (workspace, event_id)
            ).fetchone()
            return None if row is None else blob(row[0])

    def policies(self) -> list[tuple[int, bytes]]:
        """(first input position, policy JSON) for every policy change, in order."""
        with reading(self.path):
            rows = self._db.execute("SELECT pos, body FROM policies ORDER BY pos").fetchall()
            return [(integer(pos), blob(body)) for pos, body in rows]

    def entries(
        self, batch: int = 10_000, *, after: int = 0, upto: int | None = None
    ) -> Iterator[Entry]:
        """The journal in processing order: each input with the outputs it caused.

        ``after`` and ``upto`` bound the positions (a follower reads from
        where it stopped up to ``processed()``, whose outputs are all written).
        """
        for inputs, caused in self.pages(batch, after=after, upto=upto):
            for pos, body in inputs:
                yield Entry(pos, body, caused.get(pos, []))

    def pages(
        self, batch: int = 10_000, *, after: int = 0, upto: int | None = None
    ) -> Iterator[tuple[list[tuple[int, bytes]], dict[int, list[bytes]]]]:
        """The journal a page at a time: up to ``batch`` inputs, and their outputs by position.

        What :meth:`entries` reads, without an ``Entry`` per input, for the
        readers that go through a whole journal (the report's fold).
        """
        while True:
            inputs = self.inputs(after, upto, limit=batch)
            if not inputs:
                return
            last = inputs[-1][0]
            yield inputs, self._caused(after, last)
            after = last

    def _caused(self, after: int, last: int) -> dict[int, list[bytes]]:
        """The outputs of the inputs after ``after`` up to ``last``, by input, in order."""
        caused: dict[int, list[bytes]] = {}
        with reading(self.path):
            rows = self._db.execute(
                "SELECT input, body FROM outputs WHERE input > ? AND input <= ? ORDER BY pos",
                (after, last),
            ).fetchall()
            if not _typed(rows):
                rows = [(integer(pos), blob(body)) for pos, body in rows]
        # An input's outputs are written together, so they come as one run.
        for pos, run in groupby(rows, _POSITION):
            outputs = caused.get(pos)
            if outputs is None:
                caused[pos] = list(map(_BODY, run))
            else:
                outputs += map(_BODY, run)
        return caused

    def counts(self) -> dict[str, int]:
        """Sizes of the log: inputs, outputs, dead letters, processed."""
        with reading(self.path):
            one = self._db.execute
            return {
                "inputs": integer(one("SELECT count(*) FROM inputs").fetchone()[0]),
                "outputs": integer(one("SELECT count(*) FROM outputs").fetchone()[0]),
                "deadletters": integer(one("SELECT count(*) FROM deadletters").fetchone()[0]),
                "processed": self.processed(),
            }

    def meta(self, key: str) -> str | None:
        """A free-form marker kept with the log (e.g. that it holds a demo)."""
        with reading(self.path):
            return self._meta(f"user.{key}")

    def set_meta(self, key: str, value: str) -> None:
        """Keep a free-form marker with the log."""
        with self._atomic:
            self._set_meta(f"user.{key}", value)

    # --- plumbing ------------------------------------------------------------

    def _fence(self, after: int, *, appending: bool = False) -> None:
        """Inside a write: refuse if another writer has moved the log since ``after``."""
        current = self.processed()
        with reading(self.path):
            caused = self._db.execute("SELECT max(input) FROM outputs").fetchone()[0]
        if caused is not None and integer(caused) > current:
            raise damaged(self.path, f"it has outputs beyond its processed mark {current}")
        if current != after:
            raise LogError(
                f"another writer has processed the log {self.path} up to {current} "
                f"(this one expected {after}); nothing was written: run one writer per log"
            )
        if appending and self.last() != after:
            raise LogError(
                f"the log {self.path} has inputs after {after} that this writer has not "
                "processed; nothing was written: run one writer per log"
            )

    def _conflicts(self, rows: list[tuple[str, str, str, bytes]], before: int) -> tuple[int, ...]:
        """Indexes of the rows whose (workspace, id) is in the log with another body."""
        appended: set[tuple[str, str]] = set()
        conflicts = []
        with reading(self.path):
            for index, (workspace, event_id, _, body) in enumerate(rows):
                pos, stored = self._db.execute(
                    "SELECT pos, body FROM inputs WHERE workspace = ? AND id = ?",
                    (workspace, event_id),
                ).fetchone()
                key = (workspace, event_id)
                if integer(pos) > before and key not in appended:
                    appended.add(key)  # this row is the one the append kept
                elif blob(stored) != body:
                    conflicts.append(index)
        return tuple(conflicts)

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else text(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
