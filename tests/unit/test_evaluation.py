"""The policy harness (triage/ops/_evaluation.py, _world.py) on a small world, in seconds."""

from __future__ import annotations

import pytest

from triage.ops import POLICIES, EvaluationSettings, evaluate, policy_targets, run_policy
from triage.ops._world import Truth
from triage.sim import Scenario

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
