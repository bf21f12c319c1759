"""The policy harness (triage/ops/_evaluation.py, _world.py) on a small world, in seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from triage._policy_file import load_policy
from triage.ops import (
    POLICIES,
    SEED_POLICIES,
    EvaluationSettings,
    PolicyFigures,
    evaluate,
    parse_seeds,
    policy_targets,
    run_policy,
    summarize,
)
from triage.ops._world import Truth
from triage.sim import Scenario

ROOT = Path(__file__).resolve().parents[2]
SMALL = Scenario(experts=30, days=7, seed=5)


def test_every_policy_runs_closed_loop_with_and_without_gates() -> None:
    runs = evaluate(SMALL, EvaluationSettings())
    assert [(r.policy, r.gates) for r in runs] == [
        (name, gates) for gates in (False, True) for name in POLICIES
    ]
    for run in runs:
        assert run.assignments and run.reviews and run.hours > 0
        assert 0 <= run.failed_share <= 1 and 0 < run.mean_score <= 1
        assert 0 < run.choices < 1  # some decisions are a real choice, not all
        assert run.gini_hours is not None and 0 <= run.gini_hours < 1
        assert run.wait_p50_minutes is not None and run.wait_p90_minutes is not None
    assert {t.name for t in policy_targets(runs)} == {"gain captured", "failed reviews with gates"}
    oracle = next(r for r in runs if r.policy == "oracle" and not r.gates)
    idle = next(r for r in runs if r.policy == "longest-idle" and not r.gates)
    assert oracle.true_quality > idle.true_quality  # the truth is worth knowing


def test_the_same_seed_gives_the_same_figures() -> None:
    first = run_policy(SMALL, "default", EvaluationSettings(), gates=True)
    assert run_policy(SMALL, "default", EvaluationSettings(), gates=True) == first


def test_no_expert_with_eligible_work_is_starved_by_the_default_policy() -> None:
    """Over a month, everyone on the roster is assigned work, and hours are spread."""
    run = run_policy(
        Scenario(experts=60, days=28, seed=3), "default", EvaluationSettings(), gates=False
    )
    assert run.experts == 60
    assert run.without_work == 0
    assert run.gini_hours is not None and run.gini_hours < 0.4


def test_the_world_does_not_depend_on_the_order_of_asking() -> None:
    one, other = Truth(7), Truth(7)
    assert [other.quality("ex-002", "stem", "write"), other.quality("ex-001", "stem", "rate")] == [
        one.quality("ex-002", "stem", "write"),
        one.quality("ex-001", "stem", "rate"),
    ]
    assert one.quality("ex-001", "stem", "write") != one.quality("ex-001", "stem", "rate")
    assert one.reviewer("qa-lead-1")[0] == 0.0
    assert Truth(8).base("ex-001") != one.base("ex-001") or Truth(9).base("ex-001") != one.base(
        "ex-001"
    )


def test_unknown_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown policies"):
        evaluate(SMALL, EvaluationSettings(), ["nope"])


def test_seeds_are_read_as_lists_and_ranges_in_order_once_each() -> None:
    assert parse_seeds(["3", "7", "11"]) == [3, 7, 11]
    assert parse_seeds(["1-3", "2", "9,5-6"]) == [1, 2, 3, 9, 5, 6]
    for bad in (["x"], ["5-3"], ["1-"]):
        with pytest.raises(ValueError, match="seed"):
            parse_seeds(bad)


def _run(policy: str, gates: bool, passed: float, failed: float, p90: float) -> PolicyFigures:
    return PolicyFigures(
        policy=policy,
        gates=gates,
        assignments=100,
        choices=0.25,
        reviews=50,
        passed_per_hour=passed,
        failed_share=failed,
        mean_score=0.8,
        true_quality=0.8,
        review_error=0.05,
        wait_p50_minutes=10.0,
        wait_p90_minutes=p90,
        gini_hours=0.25,
        overqualification=0.2,
        hours=100.0,
        experts=10,
        without_work=0,
    )


def _seed(default: float, idle: float, oracle: float, gated: float, wait: float) -> list:
    """One seed's runs of SEED_POLICIES: passed/h of each, the gated failed share, a p90."""
    return [
        _run("default", False, default, 0.2, wait),
        _run("longest-idle", False, idle, 0.2, 100.0),
        _run("oracle", False, oracle, 0.1, 100.0),
        _run("default", True, default, gated, 100.0),
    ]


def test_the_targets_over_seeds_are_ratios_of_the_mean_paired_differences() -> None:
    """Capture = mean lift / mean gain, not the mean of the per-seed captures."""
    summary = summarize(
        {
            1: _seed(0.71, 0.70, 0.72, 0.15, 100.0),  # captures 50% of a gain of 0.02
            2: _seed(0.65, 0.60, 0.66, 0.14, 110.0),  # captures 83% of a gain of 0.06
        }
    )
    assert [f.capture for f in summary.per_seed] == [0.5, 0.8333]
    assert summary.capture == pytest.approx((0.01 + 0.05) / (0.02 + 0.06), abs=1e-4)
    assert summary.capture_median == pytest.approx((0.5 + 0.8333) / 2, abs=1e-4)
    assert summary.wait_ratio == pytest.approx(1.05) and summary.wait_ratio_worst == 1.1
    assert summary.fall == pytest.approx(1 - 0.145 / 0.2)
    interval = summary.capture_interval
    assert interval is not None and interval.low <= 0.75 <= interval.high
    assert interval.low >= 0.5 - 1e-9 and interval.high <= 0.8334  # within the seeds' own
    gain, fall = summary.targets
    assert gain.met is False and gain.measured.startswith("75%")  # 75% < 80%
    assert fall.met is True  # 27.5% >= 25% at a p90 ratio of 1.0
    assert summarize({2: _seed(0.65, 0.60, 0.66, 0.14, 110.0)}).capture_interval is None
    assert summarize({1: _seed(0.7, 0.7, 0.7, 0.1, 1.0)}).capture is None  # no gain to capture
    with pytest.raises(ValueError, match="no run of oracle"):
        summarize({1: [r for r in _seed(0.7, 0.7, 0.7, 0.1, 1.0) if r.policy != "oracle"]})


def test_the_multi_seed_mode_runs_every_seed_paired_and_reports_the_targets() -> None:
    """bench/policy_eval.py --seeds on a tiny world: two seeds, two defaults, in seconds."""
    policy = ROOT / "examples" / "policy-balanced.toml"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "policy_eval.py"),
            *("--experts", "30", "--days", "7", "--seeds", "4-5", "--jobs", "2", "--json"),
            *("--policy-file", str(policy)),
        ],
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    found = json.loads(done.stdout)
    assert found["scenario"] == {"experts": 30, "days": 7, "seeds": [4, 5]}
    assert list(found["summaries"]) == ["DEFAULT_POLICY", str(policy)]  # the default, then files
    summary = found["summaries"][str(policy)]
    assert summary["seeds"] == [4, 5] and [s["seed"] for s in summary["per_seed"]] == [4, 5]
    assert {t["name"] for t in summary["targets"]} == {
        "gain captured",
        "failed reviews with gates",
    }
    # The same seed in-process gives the same figures: the runs are paired on it.
    idle = run_policy(
        Scenario(experts=30, days=7, seed=5), "longest-idle", EvaluationSettings(), gates=False
    )
    balanced = run_policy(
        Scenario(experts=30, days=7, seed=5),
        "default",
        EvaluationSettings(),
        gates=False,
        default=load_policy(policy),
    )
    assert summary["per_seed"][1]["lift"] == round(
        balanced.passed_per_hour - idle.passed_per_hour, 4
    )
    assert [run for run in SEED_POLICIES if run[0] != "default"] == [
        ("longest-idle", False),
        ("oracle", False),
    ]
