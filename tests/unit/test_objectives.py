"""Objectives: the three rules, their margins, trends, the file's checks, the shipped example."""

from __future__ import annotations

import tomllib
from datetime import date
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
    assert set(targets.aht_max_seconds) == {
        "write", "edit", "rate", "review", "fact_check", "audit", "red_team",
    }  # fmt: skip
