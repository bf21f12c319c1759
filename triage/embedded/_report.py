"""The report of an embedded log: its journal and dead letters folded into the projections."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from events import InvalidEvent
from projections import Report, fold

from ._journal import Journal
from ._sqlite import damaged

__all__ = ["report_of"]


def report_of(journal: Journal, progress: Callable[[int, int], None] | None = None) -> Report:
    """Fold the whole journal and its dead letters into the report.

    ``progress(position, last)`` is called every 10,000 inputs. An output
    of the log that does not decode means the file is damaged (Triage
    writes only valid events): LogError. An input that no longer decodes
    was accepted by an older version; the fold skips it (its rejection
    follows it in the log).
    """
    last = journal.last()

    def entries() -> Iterator[tuple[bytes, Sequence[bytes]]]:
        for inputs, caused in journal.pages():
            outputs_of = caused.get
            for pos, body in inputs:
                if progress is not None and pos % 10_000 == 0:
                    progress(pos, last)
                yield body, outputs_of(pos, ())

    try:
        return fold(
            entries(),
            (letter.source for letter in journal.dead_letters()),
            retried=journal.retried_count(),
        )
    except InvalidEvent as exc:
        raise damaged(journal.path, f"an event does not decode: {exc.reason}") from None
