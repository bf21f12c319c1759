"""The SQLite plumbing of the journal: opening a file to read or to write, and its errors.

Every ``sqlite3`` error, and every value of an unexpected type read back
from a table, becomes a :class:`LogError` that names the file: a damaged
file (or one that is not a Triage log) reads ``the log X is damaged or not a
Triage log: ...``; a busy, unreadable or unwritable one says what could not
be done. Nothing else of the journal sees a ``sqlite3`` exception.

Readers open the file with a ``mode=ro`` URI and never change it (no schema
script, no ``journal_mode``); when neither the file nor its directory can be
written (an archive, a read-only mount) they open it ``immutable=1``, which
needs no ``-shm`` file. A reader of a log that it can write may leave an
empty ``-wal`` and ``-shm`` beside it, as any SQLite reader does.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Final
from urllib.parse import quote

import msgspec

from events import LogError

__all__ = [
    "Atomic",
    "blob",
    "damaged",
    "integer",
    "log_error",
    "open_reader",
    "open_writer",
    "reading",
    "text",
]

#: Primary result codes that mean the file is not what a Triage log should be.
_DAMAGE: Final = frozenset(
    {
        sqlite3.SQLITE_ERROR,  # no such table or column: not a Triage log
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_FORMAT,
        sqlite3.SQLITE_RANGE,
        sqlite3.SQLITE_MISMATCH,
        sqlite3.SQLITE_SCHEMA,
    }
)
_TIMEOUT: Final = 30.0


def damaged(path: Path, why: object) -> LogError:
    """The error of a log whose content is not what Triage wrote (on one line)."""
    return LogError(f"the log {path} is damaged or not a Triage log: {_line(why)}")


def log_error(path: Path, exc: BaseException, doing: str) -> LogError:
    """A LogError for an exception met while ``doing`` (read, write, open) the log."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None or (code & 0xFF) in _DAMAGE:
            return damaged(path, exc)
        return LogError(f"cannot {doing} the log {path}: {_line(exc)}")
    return damaged(path, f"{type(exc).__name__}: {exc}")


def _line(why: object) -> str:
    """SQLite's reports (quick_check's above all) span lines; an error is one."""
    return " ".join(str(why).split())


def open_writer(path: Path, *, create: bool) -> sqlite3.Connection:
    """A read-write connection in autocommit mode (transactions are explicit)."""
    if not create and not path.exists():
        raise LogError(f"no log at {path}")
    try:
        return sqlite3.connect(path, isolation_level=None, timeout=_TIMEOUT)
    except sqlite3.Error as exc:
        raise LogError(f"cannot open the log {path}: {exc}") from None


def open_reader(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the file, for ``dump`` and ``report``."""
    if not path.exists():
        raise LogError(f"no log at {path}")
    writable = os.access(path, os.W_OK) and os.access(path.absolute().parent, os.W_OK)
    # A leftover -wal holds committed transactions that immutable=1 would not read;
    # mode=ro reads it, keeping the wal-index in memory if -shm cannot be written.
    wal = Path(f"{path}-wal").exists()
    uri = f"file:{quote(str(path.absolute()))}?mode=ro"
    if not (writable or wal):
        uri += "&immutable=1"
    try:
        return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=_TIMEOUT)
    except sqlite3.Error as exc:
        raise LogError(f"cannot open the log {path}: {exc}") from None


class Atomic:
    """BEGIN IMMEDIATE .. COMMIT, or ROLLBACK on any error; nested uses join the outer one.

    SQLite errors inside become LogError (the damage or write error of
    :func:`log_error`); a LogError raised inside rolls back and goes through.
    """

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self._path = path
        self._depth = 0

    def __enter__(self) -> None:
        self._depth += 1
        if self._depth > 1:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._depth = 0
            raise log_error(self._path, exc, "write") from None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._depth -= 1
        if self._depth > 0:
            if isinstance(exc, sqlite3.Error):
                raise log_error(self._path, exc, "write") from None
            return
        if exc is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                self._rollback()
                raise log_error(self._path, error, "write") from None
            return
        self._rollback()
        if isinstance(exc, sqlite3.Error):
            raise log_error(self._path, exc, "write") from None

    def _rollback(self) -> None:
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the transaction is gone with the error that ended it


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn what a damaged file raises while it is read into the LogError naming it.

    Besides ``sqlite3`` errors, a value of the wrong type in a column (SQLite
    keeps whatever a damaged record says) raises TypeError or ValueError in
    the code that reads it, and a policy that does not decode raises a
    msgspec error: all of them mean the same to the user.
    """
    try:
        yield
    except (sqlite3.Error, ValueError, TypeError, msgspec.DecodeError) as exc:
        raise log_error(path, exc, "read") from None


def blob(value: object) -> bytes:
    """A BLOB column's value, or TypeError if the record says otherwise."""
    if isinstance(value, bytes):
        return value
    raise TypeError(f"expected bytes, found {type(value).__name__}")


def text(value: object) -> str:
    """A TEXT column's value, or TypeError if the record says otherwise."""
    if isinstance(value, str):
        return value
    raise TypeError(f"expected text, found {type(value).__name__}")


def integer(value: object) -> int:
    """An INTEGER column's value, or TypeError if the record says otherwise."""
    if isinstance(value, int):
        return value
    raise TypeError(f"expected an integer, found {type(value).__name__}")
