"""One fold of a journal, as any backend reads it, into the report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from events import InvalidEvent, decode_event

from ._metrics import Projections
from ._model import Report

__all__ = ["fold"]


def fold(entries: Iterable[tuple[bytes, Sequence[bytes]]], dead_letters: Iterable[str]) -> Report:
    """The report of a journal: each input with its outputs in order, then dead-letter sources."""
    folded = Projections()
    for raw, outputs in entries:
        try:
            folded.apply(decode_event(raw))
        except InvalidEvent:
            pass  # accepted by an older version, refused on reading: its rejection follows
        for output in outputs:
            folded.apply(decode_event(output))
    for source in dead_letters:
        folded.dead_letter(source)
    return folded.report()
