"""The policy harness: the demo's world run closed loop under several policies, same seed.

Unlike what-if, nothing is replayed: each policy gets the whole simulation
(``triage.sim``) afresh, so who gets a task changes what happens next, as
it would. The world is the harness's own (``_world``): hidden quality by
domain and kind, reviewers who err, QA audits. The policies:

- ``default``: the default policy (``router.DEFAULT_POLICY``, the learned one);
- ``balanced``: the policy before it (``router.BALANCED``), for comparison;
- ``longest-idle``, ``round-robin``, ``random``: the what-if baselines;
- ``oracle``: chooses by the hidden truth, the ceiling of choosing well.

Each run is measured alike (:class:`Figures`); :func:`targets` compares
them with the issue's targets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import msgspec

from events import (
    ExpertProfile,
    InputEvent,
    OutputEvent,
    TaskAssigned,
    TaskCreated,
    TaskRequeued,
    TaskReviewed,
    TaskSubmitted,
)
from router import BALANCED, DEFAULT_POLICY, Engine, Policy
from triage.sim import Scenario, simulate

from ._baselines import baseline_engine
from ._outcome import gini
from ._records import accepted
from ._world import PASS, Oracle, Truth, World, gated

__all__ = ["POLICIES", "Figures", "Settings", "Target", "evaluate", "run_policy", "targets"]

#: The issue's targets: the share of the oracle's gain in passed reviews per
#: expert-hour at a p90 wait ratio; the fall of the failed share with gates at one.
CAPTURE: Final = 0.8
CAPTURE_WAIT: Final = 1.05
FALL: Final = 0.25
FALL_WAIT: Final = 1.1

#: The policies the harness knows, in the order of its table.
POLICIES: Final = ("default", "balanced", "longest-idle", "round-robin", "random", "oracle")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The harness's knobs beyond the scenario: the world and the gates."""

    spread: float = 0.08  # sd of the hidden quality per (domain, kind) around an expert's own
    noise: float = 0.06  # reviewers' typical error
    qa_rate: float = 0.3  # share of expert reviews QA audits
    gated_kinds: tuple[str, ...] = ("write",)  # the work where quality matters most
    gate: float = 0.82  # the quality record asked of it at first
    lowered: float = 0.78  # the gate after ``lower_after`` minutes
    lower_after: int = 30
    lift_after: int = 180  # minutes after which the gate is lifted


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """One closed-loop run measured. Hours are submitted (handling) hours."""

    policy: str
    gates: bool
    assignments: int
    choices: float  # share of assignments made among two or more eligible experts
    reviews: int
    passed_per_hour: float  # passed reviews per expert-hour of submitted work
    failed_share: float
    mean_score: float
    true_quality: float  # mean hidden quality of the submitted work (reviews excluded)
    review_error: float | None  # mean |review score - true score| of the experts' reviews
    wait_p50_minutes: float | None
    wait_p90_minutes: float | None
    gini_hours: float | None  # of the hours assigned (and not given back) per expert
    overqualification: float | None  # the policy's fit scale, 0: an exact fit
    hours: float
    experts: int
    without_work: int  # experts on the roster never assigned anything


class _Tally:
    """What the harness counts, input by input (the engine's state gives the levels)."""

    def __init__(self, truth: Truth, engine: Engine) -> None:
        self.truth = truth
        self.engine = engine
        self.tasks: dict[str, TaskCreated] = {}
        self.assigned: dict[str, float] = {}  # expert -> hours assigned, net of requeues
        self.waits: list[float] = []  # minutes from creation to the first assignment
        self.assignments = self.choices = 0
        self.excess = 0.0
        self.reviews = self.passed = 0
        self.scores = self.hours = 0.0
        self.quality = 0.0
        self.submissions = 0
        self.errors = 0.0
        self.reviewed_by_experts = 0

    def apply(self, event: InputEvent, outputs: Sequence[OutputEvent]) -> None:
        if isinstance(event, ExpertProfile):
            self.assigned.setdefault(event.expert, 0.0)
        elif isinstance(event, TaskCreated):
            self.tasks.setdefault(event.task, event)
        elif isinstance(event, TaskSubmitted) and accepted(event, outputs):
            self.hours += event.seconds / 3600
            task = self.tasks[event.task]
            if task.kind != "review":
                self.quality += self.truth.quality(event.expert, task.domain, task.kind)
                self.submissions += 1
        elif isinstance(event, TaskReviewed) and accepted(event, outputs):
            self.reviews += 1
            self.passed += event.score >= PASS
            self.scores += event.score
            if not event.reviewer.startswith("qa-"):
                task = self.tasks[event.task]
                true = self.truth.submission(event.task, event.expert, task.domain, task.kind)
                self.errors += abs(event.score - min(1.0, max(0.0, true)))
                self.reviewed_by_experts += 1
        for output in outputs:
            if isinstance(output, TaskAssigned):
                self._assigned(output)
            elif isinstance(output, TaskRequeued):
                self.assigned[output.expert] -= self.tasks[output.task].minutes / 60

    def _assigned(self, output: TaskAssigned) -> None:
        self.assignments += 1
        self.choices += output.reasons[-1].startswith("best of")
        created = self.tasks[output.task]
        self.assigned[output.expert] += created.minutes / 60
        if output.attempt == 1:
            self.waits.append((output.at - created.at).total_seconds() / 60)
        ws = self.engine.workspaces[output.workspace]
        expert, task = ws.experts[output.expert], ws.tasks[output.task]
        self.excess += (
            (expert.domains[task.domain] - task.skill) / 4
            + (expert.languages[task.language] - task.fluency) / 6
            + (expert.education - task.education) / 4
        ) / 3


def _percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile, as the report's."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(1, math.ceil(len(ordered) * share)) - 1], 1)


def _engine(name: str, truth: Truth, seed: int, default: Policy) -> Engine:
    if name == "default":
        return Engine(default)
    if name == "balanced":
        return Engine(BALANCED)
    if name == "oracle":
        return Engine(msgspec.structs.replace(DEFAULT_POLICY, name="oracle"), ranking=Oracle(truth))
    return baseline_engine(name, DEFAULT_POLICY, seed)


def run_policy(
    scenario: Scenario,
    name: str,
    settings: Settings,
    *,
    gates: bool,
    default: Policy = DEFAULT_POLICY,
) -> Figures:
    """One policy, closed loop, in the harness's world of the scenario's seed.

    Without gates the demo's work is v1 (no steps, gates, named experts or
    overlap: ``Scenario(v1_1=False)``); with gates it is the demo's v1.1
    work, plus the harness's gate on written pairs. ``default`` is the
    policy that plays ``default`` (a candidate, when weights are searched);
    the baselines and the oracle take their leases and gate records from
    ``router.DEFAULT_POLICY`` whatever it is, so that every candidate is
    compared with the same runs.
    """
    scenario = msgspec.structs.replace(scenario, v1_1=gates)
    truth = Truth(scenario.seed, spread=settings.spread, noise=settings.noise)
    engine = _engine(name, truth, scenario.seed, default)
    tally = _Tally(truth, engine)

    rewrite = (
        gated(
            settings.gated_kinds,
            settings.gate,
            settings.lowered,
            settings.lower_after,
            settings.lift_after,
        )
        if gates
        else None
    )
    world = World(engine.apply, truth, tally.apply, qa_rate=settings.qa_rate, rewrite=rewrite)
    simulate(scenario, world.process)
    reviews = tally.reviews
    spread = gini([max(0.0, hours) for hours in tally.assigned.values()])
    return Figures(
        policy=name,
        gates=gates,
        assignments=tally.assignments,
        choices=round(tally.choices / tally.assignments, 3) if tally.assignments else 0.0,
        reviews=reviews,
        passed_per_hour=round(tally.passed / tally.hours, 4) if tally.hours else 0.0,
        failed_share=round(1 - tally.passed / reviews, 4) if reviews else 0.0,
        mean_score=round(tally.scores / reviews, 4) if reviews else 0.0,
        true_quality=round(tally.quality / tally.submissions, 4) if tally.submissions else 0.0,
        review_error=round(tally.errors / tally.reviewed_by_experts, 4)
        if tally.reviewed_by_experts
        else None,
        wait_p50_minutes=_percentile(tally.waits, 0.5),
        wait_p90_minutes=_percentile(tally.waits, 0.9),
        gini_hours=None if spread is None else round(spread, 3),
        overqualification=round(tally.excess / tally.assignments, 3) if tally.assignments else None,
        hours=round(tally.hours, 1),
        experts=len(tally.assigned),
        without_work=sum(1 for hours in tally.assigned.values() if hours <= 0),
    )


def evaluate(
    scenario: Scenario,
    settings: Settings,
    policies: Sequence[str] = POLICIES,
    gates: Sequence[bool] = (False, True),
    *,
    default: Policy = DEFAULT_POLICY,
) -> list[Figures]:
    """Every policy, without and with gates, in the same world (``default``: see run_policy)."""
    unknown = [name for name in policies if name not in POLICIES]
    if unknown:
        raise ValueError(f"unknown policies {unknown}; expected some of {', '.join(POLICIES)}")
    return [
        run_policy(scenario, name, settings, gates=g, default=default)
        for g in gates
        for name in policies
    ]


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """One of the issue's targets, measured: met or not, and the figures behind it."""

    name: str
    wanted: str
    measured: str
    met: bool | None  # None: a run it needs is missing


def _find(runs: Sequence[Figures], policy: str, gates: bool) -> Figures | None:
    return next((r for r in runs if r.policy == policy and r.gates == gates), None)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def targets(runs: Sequence[Figures]) -> list[Target]:
    """The issue's two targets against these runs."""
    found = []
    default, idle, oracle = (
        _find(runs, name, False) for name in ("default", "longest-idle", "oracle")
    )
    if default and idle and oracle:
        gain = oracle.passed_per_hour - idle.passed_per_hour
        captured = (default.passed_per_hour - idle.passed_per_hour) / gain if gain else None
        wait = _ratio(default.wait_p90_minutes, idle.wait_p90_minutes)
        found.append(
            Target(
                name="gain captured",
                wanted="default >= 80% of the oracle's gain over longest idle in passed "
                "reviews per expert-hour, p90 wait <= 1.05x longest idle's",
                measured=f"{_pct(captured)} of a gain of {gain:+.4f}; p90 wait {_x(wait)}",
                met=captured is not None
                and captured >= CAPTURE
                and wait is not None
                and wait <= CAPTURE_WAIT,
            )
        )
    gated_default = _find(runs, "default", True)
    if gated_default and idle:
        fall = (
            (idle.failed_share - gated_default.failed_share) / idle.failed_share
            if idle.failed_share
            else None
        )
        wait = _ratio(gated_default.wait_p90_minutes, idle.wait_p90_minutes)
        found.append(
            Target(
                name="failed reviews with gates",
                wanted="default with steps and gates: failed share >= 25% below longest "
                "idle's, p90 wait <= 1.1x",
                measured=f"{_pct(fall)} below ({gated_default.failed_share:.2%} against "
                f"{idle.failed_share:.2%}); p90 wait {_x(wait)}",
                met=fall is not None and fall >= FALL and wait is not None and wait <= FALL_WAIT,
            )
        )
    return found


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"
