"""The log's tables, its schema versions, and what a writer does when it opens a file.

The version is kept in ``meta`` (``schema``). A writer creates the tables
in an empty file and upgrades an older log in place, in one transaction; a
reader reads an older log as it is. A file that is SQLite but lacks the
tables is not a Triage log, and a writer never adds them to it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final, Literal

from events import LogError

from ._sqlite import Atomic, damaged, log_error, reading, text

__all__ = ["SCHEMA_VERSION", "Sync", "check_version", "prepare"]

Sync = Literal["off", "normal", "full"]

SCHEMA_VERSION: Final = 4
_TABLES: Final = frozenset({"inputs", "outputs", "deadletters", "policies", "meta"})
_SCHEMA: Final = (
    """CREATE TABLE inputs (
        pos INTEGER PRIMARY KEY,
        workspace TEXT NOT NULL,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        body BLOB NOT NULL,
        UNIQUE (workspace, id)
    )""",
    """CREATE TABLE outputs (
        pos INTEGER PRIMARY KEY,
        input INTEGER NOT NULL,
        type TEXT NOT NULL,
        body BLOB NOT NULL
    )""",
    "CREATE INDEX outputs_by_input ON outputs (input)",
    """CREATE TABLE deadletters (
        pos INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        location TEXT NOT NULL,
        error TEXT NOT NULL,
        raw BLOB NOT NULL
    )""",
    "CREATE TABLE policies (pos INTEGER PRIMARY KEY, body BLOB NOT NULL)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
#: What brings a log of schema N - 1 to schema N, by N.
_UPGRADES: Final = {
    # A dead letter is kept once per (source, location, raw), so that ingesting
    # a file again after a crash does not repeat its dead letters.
    2: (
        """DELETE FROM deadletters WHERE pos NOT IN
            (SELECT min(pos) FROM deadletters GROUP BY source, location, raw)""",
        "CREATE UNIQUE INDEX deadletters_once ON deadletters (source, location, raw)",
    ),
    # Snapshots of the engine at a position (router.snapshot): recovery restores
    # the latest it can read and folds only the inputs after it.
    3: ("CREATE TABLE snapshots (pos INTEGER PRIMARY KEY, body BLOB NOT NULL)",),
    # When each dead letter was received (the wall clock of the writer; NULL for
    # the letters kept before), and the retries marked on dead letters: the
    # corrected event submitted for one, and when. Nothing is deleted.
    4: (
        "ALTER TABLE deadletters ADD COLUMN received TEXT",
        """CREATE TABLE retries (
            pos INTEGER PRIMARY KEY,
            deadletter INTEGER NOT NULL,
            workspace TEXT NOT NULL,
            event TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX retries_by_deadletter ON retries (deadletter)",
    ),
}


def prepare(db: sqlite3.Connection, path: Path, atomic: Atomic, *, sync: Sync, check: bool) -> None:
    """For a writer: check the file, set WAL mode, and create or upgrade the schema."""
    try:
        if check:
            problems = [text(row[0]) for row in db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise damaged(path, "; ".join(problems[:3]))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={sync.upper()}")
    except (sqlite3.Error, TypeError, ValueError) as exc:  # ValueError: text that is not UTF-8
        raise log_error(path, exc, "open") from None
    with atomic:
        version = check_version(db, path, readonly=False)
        if version == SCHEMA_VERSION:
            return
        if version == 0:
            for statement in _SCHEMA:
                db.execute(statement)
            version = 1  # the tables as schema 1 had them; the upgrades follow
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _UPGRADES[number]:
                db.execute(statement)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))


def check_version(db: sqlite3.Connection, path: Path, *, readonly: bool) -> int:
    """The file's log schema (0: an empty file a writer may create the log in).

    LogError if the file is not a Triage log, or one of a newer schema.
    """
    with reading(path):
        tables = {
            text(name)
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if not tables and not readonly:
            return 0
        missing = _TABLES - tables
        if missing:
            raise damaged(path, "it has no table " + ", ".join(sorted(missing)))
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        version = 1 if row is None else int(text(row[0]))
    if version > SCHEMA_VERSION:
        raise LogError(f"{path} has log schema {version}; this Triage reads up to {SCHEMA_VERSION}")
    return version
