"""The report of an embedded log: its journal and dead letters folded into the projections."""

from __future__ import annotations

from events import InvalidEvent
from projections import Report, fold

from ._journal import Journal
from ._sqlite import damaged

__all__ = ["report_of"]


def report_of(journal: Journal) -> Report:
    """Fold the whole journal and its dead letters into the report.

    An event of the log that does not decode means the file is damaged
    (Triage wrote only valid events): LogError.
    """
    try:
        return fold(
            ((entry.input, entry.outputs) for entry in journal.entries()),
            (letter.source for letter in journal.dead_letters()),
        )
    except InvalidEvent as exc:
        raise damaged(journal.path, f"an event does not decode: {exc.reason}") from None
