"""Retrying dead letters on the embedded log: corrected events in, the originals marked.

A retry is one transaction: the corrections are checked against the log as
it is inside it (the letters exist and are open, unless ``again``; the
events are valid, not too far ahead, and no event of the log has their id
with another body), then the events are appended by the same path as
``triage ingest`` (:func:`ingest_lines`, deduplicated by workspace and id)
and each original is marked retried. If anything is wrong, nothing is
written (:class:`RetryRefusedError`, a line per problem).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import msgspec

from events import InputEvent, LogError, encode

from .._dead_letters import Correction, Kept, Retry, RetryRefusedError, check_corrections
from ._ingest import ingest_lines
from ._journal import Journal

__all__ = ["Retried", "retry_dead_letters"]


class Retried(msgspec.Struct, frozen=True, kw_only=True):
    """What a retry did: per dead letter, the event submitted for it and whether it was new.

    ``retried`` holds (dead letter id, workspace, event id, ``accepted`` or
    ``duplicate``) in the order of the file.
    """

    retried: list[tuple[str, str, str, str]]


def retry_dead_letters(
    journal: Journal,
    corrections: Sequence[Correction],
    *,
    source: str,
    at: datetime,
    again: bool = False,
    refuse: Callable[[InputEvent], str | None] | None = None,
) -> Retried:
    """Submit the corrected events and mark their dead letters retried at ``at``, atomically."""
    with journal.atomic():
        letters = {c.dead_letter: _letter(journal, c.dead_letter) for c in corrections}
        problems = check_corrections(corrections, letters, again=again, refuse=refuse)
        outcomes: list[str] = []
        earlier: dict[tuple[str, str], tuple[int, bytes]] = {}  # the file's events, by key
        for correction in corrections:
            event = correction.event
            if event is None:
                continue
            key, body = (event.workspace, event.id), encode(event)
            where = f"line {correction.line} (dead letter {correction.dead_letter})"
            first = earlier.setdefault(key, (correction.line, body))
            known = journal.event_body(*key)
            if first[0] != correction.line:
                outcomes.append("duplicate")
                if first[1] != body:
                    problems.append(
                        f"{where}: event {event.id} of {event.workspace} is on line {first[0]} "
                        "already, with a different body; give the corrected event a new id"
                    )
                continue
            if known is not None and known != body:
                problems.append(
                    f"{where}: event {event.id} of {event.workspace} is already in the log "
                    "with a different body; give the corrected event a new id"
                )
            outcomes.append("accepted" if known is None else "duplicate")
        if problems:
            raise RetryRefusedError(problems)
        ingested = ingest_lines(journal, (c.raw for c in corrections), source)
        if ingested.conflicts or ingested.dead_lettered:
            # Checked above inside this transaction: only a bug gets here.
            raise LogError("a corrected event was refused on its way in; nothing was retried")
        retried = []
        for correction, outcome in zip(corrections, outcomes, strict=True):
            event = correction.event
            assert event is not None
            journal.mark_retried(
                int(correction.dead_letter),
                Retry(event=event.id, workspace=event.workspace, at=at),
            )
            retried.append((correction.dead_letter, event.workspace, event.id, outcome))
    return Retried(retried=retried)


def _letter(journal: Journal, letter: str) -> Kept | None:
    return journal.kept_letter(int(letter)) if letter.isascii() and letter.isdigit() else None
