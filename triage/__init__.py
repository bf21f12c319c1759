"""Triage: the imperative shell around the routing core (log, runtimes, CLI)."""

from ._embedded import EmbeddedRuntime, encode_policy, log_decisions
from ._ingest import Ingested, ingest_lines
from ._journal import Appended, DeadLetter, Entry, Journal

__all__ = [
    "Appended",
    "DeadLetter",
    "EmbeddedRuntime",
    "Entry",
    "Ingested",
    "Journal",
    "encode_policy",
    "ingest_lines",
    "log_decisions",
]
