"""A moment of the history: parsed from the command line, and the journal cut at it.

A moment is RFC 3339 with an explicit offset. A bare local time is refused
rather than guessed: the log's times are instants, and the machine reading
a history is rarely in the zone of the people who wrote it.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice, repeat
from operator import attrgetter, itemgetter
from typing import Final, TypeAlias

import msgspec

from events import ConfigError

__all__ = ["Recorded", "at_of", "parse_moment", "until_moment"]

#: One entry of a journal as every backend reads it: the input's position
#: (from 1), the input as recorded, and the outputs it caused, in order.
Recorded: TypeAlias = tuple[int, bytes, Sequence[bytes]]


class _Stamp(msgspec.Struct, gc=False):
    """Only the ``at`` of an event: a decoder that skips everything else."""

    at: datetime


_stamp_decoder: Final = msgspec.json.Decoder(_Stamp)


def parse_moment(text: str) -> datetime:
    """An aware datetime from RFC 3339 text with an offset; ConfigError otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"cannot read the time {text!r}: write RFC 3339 with an offset, "
            "e.g. 2026-11-25T09:30:00Z"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ConfigError(
            f"the time {text!r} has no offset: a bare local time is not guessed; "
            "add Z or +HH:MM, e.g. 2026-11-25T09:30:00Z"
        )
    return moment


def at_of(raw: bytes) -> datetime:
    """The ``at`` of an encoded event, without decoding the rest of it."""
    return _stamp_decoder.decode(raw).at


def until_moment(entries: Iterable[Recorded], moment: datetime | None) -> Iterator[Recorded]:
    """The journal's entries up to ``moment``: it stops at the first input after it.

    A prefix of the journal, not a filter: the journal is ordered by
    processing, and the state at a moment is what the inputs before the
    first later one made it.
    """
    if moment is None:
        yield from entries
        return
    source = iter(entries)
    while chunk := list(islice(source, _CHUNK)):
        try:
            stamps = list(map(_AT, map(_stamp_decoder.decode, map(_RAW, chunk))))
        except msgspec.DecodeError:
            # Entry by entry: those before the one that does not decode are yielded.
            for entry in chunk:
                if _stamp_decoder.decode(entry[1]).at > moment:
                    return
                yield entry
            continue
        later = list(map(operator.gt, stamps, repeat(moment)))
        if True in later:
            yield from chunk[: later.index(True)]
            return
        yield from chunk


#: Entries whose ``at`` is read at once; small, as the fold's chunks, for the collector.
_CHUNK: Final = 100
_RAW: Final = itemgetter(1)
_AT: Final = attrgetter("at")
