"""Time as the router keeps it: integer microseconds since the Unix epoch, UTC.

Integers compare and add faster than aware datetimes, and they cannot carry
an offset by mistake. Weeks are ISO weeks (Monday 00:00 UTC); their index
counts Mondays since 1970-01-05, which orders the same way as ISO year-week.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = ["EPOCH", "HOUR", "MINUTE", "from_micros", "iso_week", "to_micros", "week_index"]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE: Final = 60_000_000
HOUR: Final = 60 * MINUTE
_DAY: Final = 24 * HOUR
_WEEK: Final = 7 * _DAY
_FIRST_MONDAY: Final = 4 * _DAY  # 1970-01-01 was a Thursday
_ONE_US: Final = timedelta(microseconds=1)


def to_micros(at: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    return (at - EPOCH) // _ONE_US


def from_micros(micros: int) -> datetime:
    """The UTC datetime of a microsecond count."""
    return EPOCH + timedelta(microseconds=micros)


def week_index(micros: int) -> int:
    """Index of the ISO week (UTC) that contains the instant."""
    return (micros - _FIRST_MONDAY) // _WEEK


def iso_week(micros: int) -> str:
    """The ISO week of an instant as people write it, e.g. ``2026-W48``."""
    year, week, _ = from_micros(micros).isocalendar()
    return f"{year}-W{week:02d}"
