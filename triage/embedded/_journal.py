"""The embedded log: one SQLite file (WAL) that is the system of record.

Tables:

- ``inputs``: every accepted input event, in processing order (``pos``),
  unique by (workspace, id): a resent event is a duplicate, not a new fact;
- ``outputs``: the engine's output events, each with the ``pos`` of the
  input that caused it;
- ``deadletters``: records that could not be decoded or validated, with the
  raw bytes, the reason and where they came from;
- ``policies``: the routing policy in force from a given input position on,
  so that recovery and replay decide as the live run did;
- ``meta``: ``processed``, the last input whose outputs are recorded.

The outputs of a batch of inputs and the new ``processed`` mark are written
in one transaction (the tracking-record pattern): a process killed at any
moment leaves either all of a batch or none of it, and a restart rebuilds
the engine by folding the inputs up to ``processed`` and carries on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final, Literal

import msgspec

from events import InputEvent, LogError, OutputEvent, encode, type_name

__all__ = ["Appended", "DeadLetter", "Entry", "Journal"]

_SCHEMA_VERSION: Final = 1
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS inputs (
    pos INTEGER PRIMARY KEY,
    workspace TEXT NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (workspace, id)
);
CREATE TABLE IF NOT EXISTS outputs (
    pos INTEGER PRIMARY KEY,
    input INTEGER NOT NULL,
    type TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outputs_by_input ON outputs (input);
CREATE TABLE IF NOT EXISTS deadletters (
    pos INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    error TEXT NOT NULL,
    raw BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS policies (
    pos INTEGER PRIMARY KEY,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

Sync = Literal["off", "normal", "full"]


class Appended(msgspec.Struct, frozen=True):
    """What an append did: events accepted, and events already in the log."""

    accepted: int
    duplicates: int


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A record that could not be decoded or validated."""

    source: str
    location: str
    error: str
    raw: bytes


class Entry(msgspec.Struct, frozen=True):
    """One accepted input (canonical JSON) and the outputs it caused."""

    pos: int
    input: bytes
    outputs: list[bytes]


class Journal:
    """The SQLite journal at ``path``; created on first use."""

    def __init__(self, path: str | Path, *, sync: Sync = "normal", create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise LogError(f"no log at {self.path}")
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={sync.upper()}")
            self._db.executescript(_SCHEMA)
            version = self._meta("schema")
            if version is None:
                self._db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(_SCHEMA_VERSION),)
                )
            elif int(version) > _SCHEMA_VERSION:
                raise LogError(
                    f"{self.path} has log schema {version}; "
                    f"this Triage reads up to {_SCHEMA_VERSION}"
                )
        except sqlite3.Error as exc:
            raise LogError(f"cannot open the log {self.path}: {exc}") from None

    def close(self) -> None:
        """Close the file; committed work is durable."""
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing -------------------------------------------------------------

    def append(self, events: Iterable[InputEvent]) -> Appended:
        """Append input events in order; an event whose (workspace, id) is known is skipped."""
        rows = [(e.workspace, e.id, type_name(e), encode(e)) for e in events]
        with self._transaction():
            cursor = self._db.executemany(
                "INSERT OR IGNORE INTO inputs (workspace, id, type, body) VALUES (?, ?, ?, ?)",
                rows,
            )
        accepted = max(cursor.rowcount, 0)
        return Appended(accepted, len(rows) - accepted)

    def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        """Keep records that could not be decoded, with their reason."""
        if not letters:
            return
        with self._transaction():
            self._db.executemany(
                "INSERT INTO deadletters (source, location, error, raw) VALUES (?, ?, ?, ?)",
                [(d.source, d.location, d.error, d.raw) for d in letters],
            )

    def record(self, results: Sequence[tuple[int, Sequence[OutputEvent]]]) -> None:
        """Write the outputs of processed inputs and move ``processed``, atomically."""
        if not results:
            return
        rows = [(pos, type_name(o), encode(o)) for pos, outputs in results for o in outputs]
        with self._transaction():
            self._db.executemany("INSERT INTO outputs (input, type, body) VALUES (?, ?, ?)", rows)
            self._set_meta("processed", str(results[-1][0]))

    def commit(self, processed: Sequence[tuple[InputEvent, Sequence[OutputEvent]]]) -> None:
        """Append inputs already applied by the caller, with their outputs, atomically.

        For a single writer that drives the engine itself and needs each
        decision at once (the demo, a simulation). The events must be new:
        one already in the log would mean the caller's engine has folded it
        twice, so it raises LogError and the whole batch is rolled back.
        """
        if not processed:
            return
        with self._transaction():
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
            self._set_meta("processed", str(cursor.lastrowid))

    def set_policy(self, body: bytes) -> bool:
        """Record the policy in force from the next unprocessed input; False if unchanged."""
        current = self._db.execute("SELECT body FROM policies ORDER BY pos DESC LIMIT 1").fetchone()
        if current is not None and bytes(current[0]) == body:
            return False
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO policies (pos, body) VALUES (?, ?)",
                (self.processed() + 1, body),
            )
        return True

    # --- reading -------------------------------------------------------------

    def processed(self) -> int:
        """Position of the last input whose outputs are recorded (0: none)."""
        value = self._meta("processed")
        return int(value) if value is not None else 0

    def last(self) -> int:
        """Position of the last accepted input (0: none)."""
        row = self._db.execute("SELECT max(pos) FROM inputs").fetchone()
        return int(row[0] or 0)

    def inputs(
        self, after: int = 0, upto: int | None = None, limit: int = 10_000
    ) -> list[tuple[int, bytes]]:
        """Accepted inputs after position ``after`` (and up to ``upto``), in order."""
        if upto is None:
            upto = 2**62
        rows = self._db.execute(
            "SELECT pos, body FROM inputs WHERE pos > ? AND pos <= ? ORDER BY pos LIMIT ?",
            (after, upto, limit),
        ).fetchall()
        return [(pos, bytes(body)) for pos, body in rows]

    def policies(self) -> list[tuple[int, bytes]]:
        """(first input position, policy JSON) for every policy change, in order."""
        rows = self._db.execute("SELECT pos, body FROM policies ORDER BY pos").fetchall()
        return [(pos, bytes(body)) for pos, body in rows]

    def entries(
        self, batch: int = 10_000, *, after: int = 0, upto: int | None = None
    ) -> Iterator[Entry]:
        """The journal in processing order: each input with the outputs it caused.

        ``after`` and ``upto`` bound the positions (a follower reads from
        where it stopped up to ``processed()``, whose outputs are all written).
        """
        while True:
            inputs = self.inputs(after, upto, limit=batch)
            if not inputs:
                return
            last = inputs[-1][0]
            caused: dict[int, list[bytes]] = {}
            for pos, body in self._db.execute(
                "SELECT input, body FROM outputs WHERE input > ? AND input <= ? ORDER BY pos",
                (after, last),
            ):
                caused.setdefault(pos, []).append(bytes(body))
            for pos, body in inputs:
                yield Entry(pos, body, caused.get(pos, []))
            after = last

    def dead_letters(self) -> Iterator[DeadLetter]:
        """Every dead letter, oldest first."""
        for source, location, error, raw in self._db.execute(
            "SELECT source, location, error, raw FROM deadletters ORDER BY pos"
        ):
            yield DeadLetter(source=source, location=location, error=error, raw=bytes(raw))

    def counts(self) -> dict[str, int]:
        """Sizes of the log: inputs, outputs, dead letters, processed."""
        one = self._db.execute
        return {
            "inputs": int(one("SELECT count(*) FROM inputs").fetchone()[0]),
            "outputs": int(one("SELECT count(*) FROM outputs").fetchone()[0]),
            "deadletters": int(one("SELECT count(*) FROM deadletters").fetchone()[0]),
            "processed": self.processed(),
        }

    def meta(self, key: str) -> str | None:
        """A free-form marker kept with the log (e.g. that it holds a demo)."""
        return self._meta(f"user.{key}")

    def set_meta(self, key: str, value: str) -> None:
        """Keep a free-form marker with the log."""
        with self._transaction():
            self._set_meta(f"user.{key}", value)

    # --- plumbing ------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self.path)


class _Transaction:
    """BEGIN IMMEDIATE .. COMMIT, or ROLLBACK on any error; SQLite errors become LogError."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self._path = path

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise LogError(f"cannot write the log {self._path}: {exc}") from None

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if kind is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                self._db.execute("ROLLBACK")
                raise LogError(f"cannot write the log {self._path}: {error}") from None
        else:
            self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise LogError(f"cannot write the log {self._path}: {exc}") from exc
