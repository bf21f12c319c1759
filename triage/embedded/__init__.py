"""The embedded log: Triage on one SQLite file, with no broker.

- :class:`Journal`: the log itself (inputs, outputs, dead letters,
  policies, the processed mark), the system of record;
- :class:`EmbeddedRuntime`: the engine over a journal (recover, process,
  follow), one writer at a time;
- :class:`WriterLock`: the lock that makes it one writer at a time;
- :func:`ingest_lines`: JSON Lines into the log, bad lines into dead letters;
- :func:`retry_dead_letters`: corrected events in by the same path, their
  dead letters marked retried.

This is the only package of Triage that imports ``sqlite3``.
"""

from ._ingest import Ingested, ingest_lines
from ._journal import Appended, Entry, Journal
from ._letters import DeadLetter
from ._lock import WriterLock
from ._report import report_of
from ._retry import Retried, retry_dead_letters
from ._runtime import EmbeddedRuntime

__all__ = [
    "Appended",
    "DeadLetter",
    "EmbeddedRuntime",
    "Entry",
    "Ingested",
    "Journal",
    "Retried",
    "WriterLock",
    "ingest_lines",
    "report_of",
    "retry_dead_letters",
]
