"""The embedded log: Triage on one SQLite file, with no broker.

- :class:`Journal`: the log itself (inputs, outputs, dead letters,
  policies, the processed mark), the system of record;
- :class:`EmbeddedRuntime`: the engine over a journal (recover, process,
  follow), one writer at a time;
- :class:`WriterLock`: the lock that makes it one writer at a time;
- :func:`ingest_lines`: JSON Lines into the log, bad lines into dead letters.

This is the only package of Triage that imports ``sqlite3``.
"""

from ._ingest import Ingested, ingest_lines
from ._journal import Appended, DeadLetter, Entry, Journal
from ._lock import WriterLock
from ._report import report_of
from ._runtime import EmbeddedRuntime

__all__ = [
    "Appended",
    "DeadLetter",
    "EmbeddedRuntime",
    "Entry",
    "Ingested",
    "Journal",
    "WriterLock",
    "ingest_lines",
    "report_of",
]
