"""Reading JSON Lines into the log: valid events appended, the rest dead-lettered.

Nothing is lost without a trace: a line that does not decode, an event
the caller refuses (dated too far ahead of the wall clock), and an event whose id is in the log
with another body are all dead letters with their reason; an event resent
as it was is a duplicate. Unknown fields are ignored, as the contract says,
but their names are counted, so that a typo (``educaton``) does not vanish.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Final, Union, get_args

import msgspec

from events import Event, InputEvent, InvalidEvent, decode_input, type_name

from ._journal import Journal
from ._letters import DeadLetter

__all__ = ["Ingested", "ingest_lines"]

_BOM: Final = b"\xef\xbb\xbf"
_keys: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])
_known: dict[type, frozenset[str]] = {}


class Ingested(msgspec.Struct, frozen=True, kw_only=True):
    """What one ingest did, line by line of its input.

    ``dead_lettered`` counts the invalid lines and those too far ahead;
    ``conflicts`` the events whose (workspace, id) is in the log with another
    body (kept as dead letters too); ``unknown_fields`` how many lines carried
    each unknown top-level field.
    """

    accepted: int
    duplicates: int
    conflicts: int
    dead_lettered: int
    unknown_fields: dict[str, int]


def ingest_lines(
    journal: Journal,
    lines: Iterable[bytes],
    source: str,
    *,
    batch: int = 5_000,
    refuse: Callable[[InputEvent], str | None] | None = None,
    received: Callable[[], datetime] | None = None,
) -> Ingested:
    """Append every valid line as an event; every invalid one becomes a dead letter.

    Blank lines are skipped, and a UTF-8 byte order mark at the start of the
    input is dropped. A dead letter keeps the raw line, the reason and
    ``line N`` of ``source``; nothing stops the read. ``refuse`` may give a
    reason to dead-letter a valid event too (the CLI's guard against dates
    too far ahead of the wall clock). ``received`` is the wall clock the
    dead letters are stamped with (none: they keep no receive time). Each
    batch's events and dead letters are written in one transaction.
    """
    accepted = duplicates = conflicts = dead = 0
    unknown: Counter[str] = Counter()
    good: list[InputEvent] = []
    origins: list[tuple[int, bytes]] = []  # (line number, raw line) of each good event
    bad: list[tuple[int, DeadLetter]] = []

    def letter(number: int, reason: str, raw: bytes) -> DeadLetter:
        return DeadLetter(
            source=source,
            location=f"line {number}",
            error=reason,
            raw=raw,
            received=None if received is None else received(),
        )

    def flush() -> None:
        nonlocal accepted, duplicates, conflicts
        with journal.atomic():
            appended = journal.append(good)
            for index in appended.conflicts:
                event = good[index]
                number, raw = origins[index]
                reason = (
                    f"conflict: event {event.id} of {event.workspace} "
                    "is already in the log with a different body"
                )
                bad.append((number, letter(number, reason, raw)))
            journal.dead_letter([d for _, d in sorted(bad, key=lambda item: item[0])])
        accepted += appended.accepted
        duplicates += appended.duplicates
        conflicts += len(appended.conflicts)
        good.clear()
        origins.clear()
        bad.clear()

    for number, line in enumerate(lines, start=1):
        raw = line.rstrip(b"\r\n")
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if not raw.strip():
            continue
        try:
            event = decode_input(raw)
        except InvalidEvent as exc:
            dead += 1
            bad.append((number, letter(number, exc.reason, raw)))
        else:
            extra = _unknown_fields(raw, event)
            if extra:
                unknown.update(extra)
            reason = refuse(event) if refuse is not None else None
            if reason is None:
                good.append(event)
                origins.append((number, raw))
            else:
                dead += 1
                bad.append((number, letter(number, reason, raw)))
        if len(good) + len(bad) >= batch:
            flush()
    flush()
    return Ingested(
        accepted=accepted,
        duplicates=duplicates,
        conflicts=conflicts,
        dead_lettered=dead,
        unknown_fields=dict(sorted(unknown.items(), key=lambda item: (-item[1], item[0]))),
    )


def _strict(kind: type[Event]) -> type[msgspec.Struct]:
    """The same event type, but refusing unknown fields (only to detect them)."""
    return msgspec.defstruct(
        kind.__name__,
        [],
        bases=(kind,),
        tag=type_name(kind),
        frozen=True,
        kw_only=True,
        forbid_unknown_fields=True,
    )


#: Decodes a line that has no unknown top-level field, and fails on one that has:
#: cheaper than listing the keys of every line (measured in docs/cli.md).
_probe: Final = msgspec.json.Decoder(Union[tuple(_strict(k) for k in get_args(InputEvent))])  # noqa: UP007


def _unknown_fields(raw: bytes, event: InputEvent) -> Iterable[str]:
    """The top-level field names of ``raw`` that the event's type does not know."""
    try:
        _probe.decode(raw)
    except msgspec.ValidationError:
        pass
    else:
        return ()
    kind = type(event)
    known = _known.get(kind)
    if known is None:
        known = _known[kind] = frozenset({"type", *kind.__struct_encode_fields__})
    return _keys.decode(raw).keys() - known
