"""Series: the backlog per hour and the flow per UTC day, from the events' `at` only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from projections import Series, percentile
from tests.unit.test_views import Journal


def fold(w: Journal) -> Series:
    series = Series()
    for event in w.journal:
        series.apply(event)
    return series


def test_the_backlog_is_read_at_the_end_of_every_hour() -> None:
    w = Journal()  # Monday 09:00
    w.task("t1")
    w.later(minutes=10).task("t2")
    w.later(hours=2).expert("ana")  # 11:10: takes t1
    w.later(minutes=30).submit("t1", "ana")  # 11:40: takes t2
    timeline = fold(w).timeline("w")
    points = [(p.at.hour, p.queued, p.in_progress) for p in timeline.backlog]
    assert points == [(10, 2, 0), (11, 2, 0), (12, 0, 1)]  # the last hour is still open
    assert timeline.clock == datetime(2026, 11, 2, 11, 40, tzinfo=UTC)


def test_days_tally_what_came_in_and_what_got_done() -> None:
    w = Journal()
    w.expert("ana")
    w.task("t1", kind="rate")
    w.later(minutes=20).submit("t1", "ana", seconds=1200)
    w.later(days=1).task("t2", kind="write")
    w.later(hours=1).submit("t2", "ana", seconds=3600)
    w.review("t2", "ana", "rev", 0.5)
    w.submit("t2", "ana")  # refused: counted nowhere
    days = fold(w).timeline("w").days
    assert [d.day for d in days] == [date(2026, 11, 2), date(2026, 11, 3)]
    first, second = days
    assert (first.created, first.completed, first.submissions, first.handled_seconds) == (
        1,
        1,
        1,
        1200,
    )
    assert first.by_kind["rate"].seconds == 1200 and "write" not in first.by_kind
    assert (second.reviews, second.passed, second.submissions) == (1, 0, 1)
    assert second.first_assigned == 1 and second.wait_p90_seconds == 0.0


def test_a_window_sums_whole_days() -> None:
    w = Journal()
    w.expert("ana")
    for day in range(3):
        w.task(f"t{day}", kind="write")
        w.later(minutes=30).submit(f"t{day}", "ana", seconds=1800 * (day + 1))
        w.review(f"t{day}", "ana", "rev", 0.9 if day else 0.3)
        w.later(days=1)
    series = fold(w)
    window = series.window("w", date(2026, 11, 3), date(2026, 11, 5))
    assert (window.days, window.completed, window.submissions) == (2, 2, 2)
    assert window.hours == 2.5 and window.aht_by_kind == {"write": 4500.0}
    assert window.pass_rate == 1.0 and window.mean_score == 0.9
    everything = series.window("w", date(2026, 11, 1), date(2026, 11, 8))
    assert everything.pass_rate == 0.667 and everything.reviews == 3
    assert series.window("other", date(2026, 11, 1), date(2026, 11, 8)).submissions == 0


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 90) is None
    assert percentile([5.0], 90) == 5.0
    samples = [float(x) for x in range(1, 11)]
    assert percentile(samples, 90) == 9.0 and percentile(samples, 50) == 5.0


def test_nothing_reads_the_wall_clock() -> None:
    w = Journal()
    w.at = datetime(2031, 5, 5, 12, tzinfo=UTC)
    w.task("t1")
    timeline = fold(w).timeline("w")
    assert timeline.backlog[-1].at == datetime(2031, 5, 5, 13, tzinfo=UTC)
    assert timeline.days[0].day == (w.at - timedelta(hours=1)).date()
