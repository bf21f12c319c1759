"""Objectives: the three rules, their margins, trends, the file's checks, the shipped example."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from events import ConfigError
from projections import (
    ObjectiveResult,
    Projections,
    Series,
    WorkspaceObjectives,
    evaluate_objectives,
    load_objectives,
)
from tests.unit.test_views import Journal

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "objectives.toml"


def evaluate(w: Journal, targets: dict[str, Any], **options: Any) -> WorkspaceObjectives:
    projections, series = Projections(), Series()
    for event in w.journal:
        projections.apply(event)
        series.apply(event)
    objectives = load_objectives({"workspaces": {"w": targets}})
    return evaluate_objectives(objectives, projections.report(), series, **options).workspaces["w"]


def one(result: WorkspaceObjectives, name: str, **labels: str) -> ObjectiveResult:
    found = [
        r
        for r in result.objectives
        if r.objective == name and all(getattr(r, k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, result.objectives
    return found[0]


def two_weeks(this_week_seconds: int, last_week_seconds: int) -> Journal:
    """One write task a day for 14 days; each week's AHT as given."""
    w = Journal()
    w.expert("ana", hours=40)
    for day in range(14):
        seconds = last_week_seconds if day < 7 else this_week_seconds
        w.task(f"t{day}", kind="write")
        w.later(minutes=30).submit(f"t{day}", "ana", seconds=seconds)
        w.review(f"t{day}", "ana", "rev", 0.8)
        w.later(days=1, minutes=-30)
    return w


@pytest.mark.parametrize(
    ("seconds", "status"),
    [(3000, "met"), (3600, "met"), (3900, "at_risk"), (3960, "at_risk"), (4000, "missed")],
)
def test_a_maximum_is_met_at_risk_within_the_margin_then_missed(seconds: int, status: str) -> None:
    result = one(
        evaluate(two_weeks(seconds, 3000), {"aht_max_seconds": {"write": 3600}}),
        "aht_seconds",
        kind="write",
    )
    assert (result.status, result.actual, result.target_max) == (status, seconds, 3600)
    assert result.rule == "met if <= 3,600s; at risk if <= 3,960s; missed above"


@pytest.mark.parametrize(
    ("target", "status"), [(0.75, "met"), (0.8, "met"), (0.85, "at_risk"), (0.95, "missed")]
)
def test_a_minimum_is_met_at_risk_within_the_margin_then_missed(target: float, status: str) -> None:
    result = one(evaluate(two_weeks(1000, 1000), {"mean_score_min": target}), "mean_score")
    assert (result.actual, result.status) == (0.8, status)  # at risk down to target * 0.9


def test_a_range_and_its_monthly_pace() -> None:
    w = two_weeks(3600, 1800)  # this week 7 h, i.e. 30.44 h a month; last week half
    result = one(evaluate(w, {"hours_per_month": [25, 35]}), "hours_per_month")
    assert (result.status, result.actual, result.previous) == ("met", 30.4, 15.2)
    assert result.trend == "better"  # nearer the middle of the range
    low = one(evaluate(w, {"hours_per_month": [32, 40]}), "hours_per_month")
    assert low.status == "at_risk"  # 30.4 >= 32 * 0.9
    far = one(evaluate(w, {"hours_per_month": [100, 120]}), "hours_per_month")
    assert far.status == "missed"
    assert far.rule == "met if 100-120h; at risk if 90-132h; missed outside"


def test_the_trend_says_better_or_worse_against_the_target() -> None:
    slower = one(
        evaluate(two_weeks(3000, 2000), {"aht_max_seconds": {"write": 3600}}), "aht_seconds"
    )
    assert (slower.previous, slower.trend) == (2000, "worse")
    faster = one(
        evaluate(two_weeks(2000, 3000), {"aht_max_seconds": {"write": 3600}}), "aht_seconds"
    )
    assert faster.trend == "better"
    same = one(evaluate(two_weeks(2000, 2000), {"completed_per_week_min": 5}), "completed_per_week")
    assert (same.actual, same.trend, same.status) == (7, "steady", "met")


def test_no_events_or_no_samples_is_no_data() -> None:
    w = Journal()
    w.expert("ana")
    result = evaluate(w, {"pass_rate_min": 0.9, "wait_p90_max_seconds": 60})
    assert {r.status for r in result.objectives} == {"no_data"}
    assert result.no_data == 2 and result.met == 0


def test_pools_take_the_default_and_their_own_minimum() -> None:
    w = Journal()
    w.expert("ana", domains={"stem": 3}, languages={"en": "native"})
    w.expert("bo", domains={"stem": 3}, languages={"en": "C1", "de": "C1"})
    result = evaluate(w, {"experts_per_pool_min": {"default": 2, "stem/de": 3, "law/fr": 1}})
    assert one(result, "experts_per_pool", domain="stem", language="en").status == "met"
    assert one(result, "experts_per_pool", domain="stem", language="de").actual == 1
    assert one(result, "experts_per_pool", domain="law", language="fr").status == "missed"


def test_last_day_evaluates_a_past_week() -> None:
    w = two_weeks(4000, 3000)
    past = evaluate(w, {"aht_max_seconds": {"write": 3600}}, last_day=date(2026, 11, 8))
    assert (past.week_start, past.week_end) == (date(2026, 11, 2), date(2026, 11, 8))
    assert one(past, "aht_seconds").status == "met"


@pytest.mark.parametrize(
    "targets",
    [
        {"hours_per_month": [13000, 10000]},
        {"at_risk_margin": 1.5},
        {"experts_per_pool_min": {"stem": 3}},
        {"pass_rate": 0.9},  # not a key: pass_rate_min
        {"low_quality_examples_period": "quarter"},
        {"low_quality_examples_period": ["2026-12-01", "2026-11-01"]},
    ],
)
def test_a_wrong_objectives_file_is_a_config_error(targets: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="invalid objectives"):
        load_objectives({"workspaces": {"w": targets}})


def test_the_example_matches_the_case_study() -> None:
    objectives = load_objectives(tomllib.loads(EXAMPLE.read_text()))
    targets = objectives.workspaces["llm-finetune"]
    assert targets.hours_per_month == (10000, 13000)
    assert targets.low_quality_examples_min == 1200
    assert targets.low_quality_examples_period == "month"
    assert set(targets.aht_max_seconds) == {
        "write", "edit", "rate", "review", "fact_check", "audit", "red_team",
    }  # fmt: skip


def failing_daily(days: int, until: datetime) -> Journal:
    """One failed review a day from Monday 2 November, then a tick at ``until``."""
    w = Journal()
    w.expert("ana", hours=40)
    for day in range(days):
        w.task(f"t{day}", kind="write")
        w.later(minutes=30).submit(f"t{day}", "ana", seconds=600)
        w.review(f"t{day}", "ana", "rev", 0.4)  # failed: a low-quality example
        w.later(days=1, minutes=-30)
    w.at = until
    w.tick()
    return w


@pytest.mark.parametrize(
    ("target", "status"),
    [(20, "met"), (28, "met"), (30, "at_risk"), (31, "at_risk"), (40, "missed")],
)
def test_low_quality_examples_are_judged_by_the_pace_of_the_month(target: int, status: str) -> None:
    # 14 examples by the middle of November: on pace for 28 by its end.
    w = failing_daily(14, datetime(2026, 11, 16, tzinfo=UTC))
    result = one(evaluate(w, {"low_quality_examples_min": target}), "low_quality_examples")
    assert (result.actual, result.status) == (28.0, status)  # at risk down to target * 0.9
    assert result.rule.startswith("pace of 2026-11 to its end: 14 in the first 50%; met if >= ")
    # A week earlier, 7 examples in the first 8 days: a slower pace, so the trend is better.
    assert (result.previous, result.trend) == (26.2, "better")


def test_a_count_behind_the_target_but_on_pace_is_not_missed() -> None:
    # Judged against the fixed count, 14 of 28 would be missed; half the month is left.
    w = failing_daily(14, datetime(2026, 11, 16, tzinfo=UTC))
    assert (
        one(evaluate(w, {"low_quality_examples_min": 28}), "low_quality_examples").status == "met"
    )


def test_after_its_period_the_collection_is_the_count_itself() -> None:
    w = failing_daily(14, datetime(2026, 12, 3, tzinfo=UTC))
    targets = {
        "low_quality_examples_min": 15,
        "low_quality_examples_period": ["2026-11-02", "2026-11-15"],
    }
    result = one(evaluate(w, targets), "low_quality_examples")
    assert (result.actual, result.status) == (14.0, "at_risk")
    assert result.rule.startswith("collected in 2026-11-02 to 2026-11-15: 14; ")
    december = one(evaluate(w, {"low_quality_examples_min": 15}), "low_quality_examples")
    assert december.status == "no_data"  # a new month, nothing due yet and nothing in it
    assert (december.actual, december.previous) == (None, 16.8)  # November, 25 days in


def test_the_iso_week_as_the_period_and_a_past_week() -> None:
    w = failing_daily(14, datetime(2026, 11, 16, tzinfo=UTC))
    targets = {"low_quality_examples_min": 7, "low_quality_examples_period": "week"}
    assert one(evaluate(w, targets), "low_quality_examples").status == "no_data"  # Monday 00:00
    past = one(evaluate(w, targets, last_day=date(2026, 11, 11)), "low_quality_examples")
    # Monday to Wednesday of W46: 3 examples in 3 of 7 days, on pace for 7.
    assert (past.actual, past.status) == (7.0, "met")
    assert past.rule.startswith("pace of 2026-W46 to its end: 3 in the first 43%")


def test_the_period_may_be_written_as_toml_dates() -> None:
    document = tomllib.loads(
        "[workspaces.w]\nlow_quality_examples_min = 5\n"
        "low_quality_examples_period = [2026-11-01, 2026-11-30]\n"
    )
    targets = load_objectives(document).workspaces["w"]
    assert targets.low_quality_examples_period == (date(2026, 11, 1), date(2026, 11, 30))
