"""The guard against a clock that jumps: an event dated too far ahead of the wall clock.

Pure: the caller reads the wall clock (the shell does, never the core) and
passes both instants, in microseconds since the epoch, as ``events`` keeps
time.
"""

from __future__ import annotations

from typing import Final

from events import from_micros

__all__ = ["describe_ahead"]

_UNITS: Final = (("y", 365 * 86_400), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


def describe_ahead(at_micros: int, now_micros: int, limit_seconds: float) -> str | None:
    """Why an event at ``at_micros`` is too far ahead of ``now_micros``; None within the limit."""
    ahead = at_micros - now_micros
    if ahead <= limit_seconds * 1_000_000:
        return None
    at = from_micros(at_micros).isoformat().replace("+00:00", "Z")
    return (
        f"at {at} is {_duration(ahead / 1_000_000)} ahead of the wall clock "
        f"(more than {_duration(limit_seconds)}); raise --max-ahead-seconds to allow it"
    )


def _duration(seconds: float) -> str:
    """At most two units, largest first, in whole seconds: ``36y 2d``, ``3h 5m``, ``45s``."""
    total = max(int(seconds), 0)
    index = next((i for i, (_, size) in enumerate(_UNITS) if total >= size), len(_UNITS) - 1)
    unit, size = _UNITS[index]
    text = f"{total // size}{unit}"
    if index + 1 < len(_UNITS):
        next_unit, next_size = _UNITS[index + 1]
        if total % size // next_size:
            text += f" {total % size // next_size}{next_unit}"
    return text
