"""The guard against dates too far ahead of the wall clock: a pure function of two instants."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import to_micros
from triage._clock_guard import describe_ahead

NOW = to_micros(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
S = 1_000_000
DURATION = r"\d+[ydhms]( \d+[dhms])?"


@pytest.mark.parametrize(
    ("ahead", "limit", "says"),
    [
        ((36 * 365 + 2) * 86_400 * S, 86_400, "is 36y 2d ahead of the wall clock (more than 1d)"),
        (2 * 86_400 * S, 86_400, "is 2d ahead of the wall clock (more than 1d)"),
        ((3 * 3600 + 5 * 60 + 7) * S, 3600, "is 3h 5m ahead of the wall clock (more than 1h)"),
        (45 * S, 30, "is 45s ahead of the wall clock (more than 30s)"),
        ((86_400 + 300) * S, 90.5, "is 1d ahead of the wall clock (more than 1m 30s)"),
    ],
)
def test_it_says_how_far_ahead_in_two_units_at_most(ahead: int, limit: float, says: str) -> None:
    reason = describe_ahead(NOW + ahead, NOW, limit)
    assert reason is not None and f" {says}; " in reason
    assert reason.endswith("; raise --max-ahead-seconds to allow it")


def test_the_event_time_is_rfc_3339_in_utc() -> None:
    at = to_micros(datetime(2062, 12, 3, tzinfo=UTC))
    assert describe_ahead(at, NOW, 86_400) == (
        "at 2062-12-03T00:00:00Z is 36y 10d ahead of the wall clock (more than 1d); "
        "raise --max-ahead-seconds to allow it"
    )


@given(
    ahead=st.integers(-(10**15), 10**15),
    limit=st.floats(min_value=0, max_value=10**9, allow_nan=False),
)
def test_none_exactly_within_the_limit(ahead: int, limit: float) -> None:
    reason = describe_ahead(NOW + ahead, NOW, limit)
    if ahead <= limit * S:
        assert reason is None
    else:
        assert reason is not None
        assert re.fullmatch(
            rf"at \S+Z is {DURATION} ahead of the wall clock \(more than {DURATION}\); "
            r"raise --max-ahead-seconds to allow it",
            reason,
        ), reason
