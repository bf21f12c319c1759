"""The report of an embedded log: its journal and dead letters folded into the projections."""

from __future__ import annotations

from projections import Report, fold

from ._journal import Journal

__all__ = ["report_of"]


def report_of(journal: Journal) -> Report:
    """Fold the whole journal and its dead letters into the report."""
    return fold(
        ((entry.input, entry.outputs) for entry in journal.entries()),
        (letter.source for letter in journal.dead_letters()),
    )
