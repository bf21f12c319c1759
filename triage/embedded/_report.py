"""The report of an embedded log: its journal and dead letters folded into the projections."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from projections import Report, fold

from ._journal import Journal

__all__ = ["report_of"]


def report_of(journal: Journal, progress: Callable[[int, int], None] | None = None) -> Report:
    """Fold the whole journal and its dead letters into the report.

    ``progress(position, last)`` is called every 10,000 inputs.
    """
    last = journal.last()

    def entries() -> Iterator[tuple[bytes, list[bytes]]]:
        for entry in journal.entries():
            if progress is not None and entry.pos % 10_000 == 0:
                progress(entry.pos, last)
            yield entry.input, entry.outputs

    return fold(entries(), (letter.source for letter in journal.dead_letters()))
