"""The guard against inputs stamped too far ahead of the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from events import to_micros
from triage._clock_guard import describe_ahead, human_duration

NOW = to_micros(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
SECOND = 1_000_000


def test_an_event_decades_ahead_is_refused_with_the_reason() -> None:
    at = to_micros(datetime(2062, 11, 2, 9, 0, tzinfo=UTC))
    assert describe_ahead(at, NOW, 86_400) == (
        "at 2062-11-02T09:00:00Z is 35y 345d ahead of the wall clock (more than 1d); "
        "raise --max-ahead-seconds to allow it"
    )


def test_within_the_limit_or_in_the_past_or_with_the_guard_off_is_none() -> None:
    assert describe_ahead(NOW + 86_400 * SECOND, NOW, 86_400) is None
    assert describe_ahead(NOW - 10**15, NOW, 86_400) is None
    assert describe_ahead(NOW + 10**15, NOW, 0) is None


def test_hours_ahead_of_an_hour() -> None:
    at = NOW + (3 * 3600 + 5 * 60 + 7) * SECOND
    reason = describe_ahead(at, NOW, 3600)
    assert reason is not None
    assert reason.startswith("at 2026-12-01T12:05:07Z is 3h 5m ahead of the wall clock")
    assert "(more than 1h)" in reason


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.5, "0.5s"),
        (59, "59s"),
        (90, "1m 30s"),
        (3600, "1h"),
        (86_400, "1d"),
        (90_061, "1d 1h"),
        (2 * 365 * 86_400 + 2 * 86_400, "2y 2d"),
    ],
)
def test_human_durations(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text
