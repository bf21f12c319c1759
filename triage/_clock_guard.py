"""The guard against a clock that jumps: an event too far ahead of the wall clock.

The engine believes the ``at`` of its inputs: leases, queues and ticks all
move by it. One record stamped decades ahead (a producer's clock that
jumped, a typo in a year) would expire every lease in its workspace at
once. So the runtimes refuse an input whose ``at`` is more than a limit
ahead of the wall clock: the Kafka worker makes it a dead letter, the
embedded ``triage ingest`` refuses it, both with the reason written here.
A limit of 0 turns the guard off (backfills, simulations of the future).
"""

from __future__ import annotations

from typing import Final

import msgspec

from events import from_micros

__all__ = ["describe_ahead", "human_duration"]

_MINUTE: Final = 60
_UNITS: Final = (("y", 365 * 86_400), ("d", 86_400), ("h", 3_600), ("m", _MINUTE), ("s", 1))


def human_duration(seconds: float) -> str:
    """A duration as people read it: its largest unit and the next, e.g. ``36y 2d``, ``3h 5m``.

    A year is 365 days. Under a second (or a fraction of one, under a minute)
    is written in seconds, e.g. ``0.5s``, ``1.5s``.
    """
    if seconds < _MINUTE and seconds != int(seconds):
        return f"{round(seconds, 3):g}s"
    left = int(seconds)
    for index, (name, size) in enumerate(_UNITS):
        if left >= size or size == 1:
            text = f"{left // size}{name}"
            if index + 1 < len(_UNITS):
                next_name, next_size = _UNITS[index + 1]
                rest = (left % size) // next_size
                if rest:
                    text += f" {rest}{next_name}"
            return text
    raise AssertionError("unreachable: the last unit is one second")


def describe_ahead(at_micros: int, now_micros: int, limit_seconds: float) -> str | None:
    """Why an event stamped ``at_micros`` is refused at ``now_micros``, or None if it is not.

    None when the event is at most ``limit_seconds`` ahead of the wall clock
    (in the past included), and always when ``limit_seconds`` is 0 or less
    (the guard is off). Otherwise the reason, e.g. ``at 2062-11-02T09:00:00Z
    is 35y 336d ahead of the wall clock (more than 1d); raise
    --max-ahead-seconds to allow it``.
    """
    if limit_seconds <= 0:
        return None
    ahead = at_micros - now_micros
    if ahead <= limit_seconds * 1_000_000:
        return None
    at = msgspec.json.encode(from_micros(at_micros)).decode().strip('"')
    return (
        f"at {at} is {human_duration(ahead / 1_000_000)} ahead of the wall clock "
        f"(more than {human_duration(limit_seconds)}); raise --max-ahead-seconds to allow it"
    )
