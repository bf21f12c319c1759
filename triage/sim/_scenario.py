"""The knobs of a simulated project and the summary of a run.

Apart from the loop (``_simulation``) because they are the simulation's
public data: the demo records the scenario in the log it writes and
prints the summary, and both are plain msgspec Structs that encode as JSON.
The defaults are the case study: 285 experts in ten languages and four
domains, a 4-week ramp-up to 10,000-13,000 hours of work a month.

The switch ``Scenario(v1_1=False)`` plays the same world with plain v1
tasks. By default (``v1_1=True``) the client uses contract v1.1 where a
real project would: red-teaming and audits gated by the expert's quality
record in the task's domain (0.8, lowered to 0.75 after two and four hours);
ratings with adaptive overlap (2 judgements, up to 4, until 60% of the
answers agree; each expert answers right by their hidden quality); the
revision of a written pair its review found wanting offered to its writer
alone for two hours; and thinly staffed work that starts with the few who
meet the drawn requirements and widens its pool an hour at a time. With
``v1_1=False`` the same draws give v1 tasks: requirements relaxed up front,
3 fixed ratings, no gates, revisions open to anyone at once. Roster, shifts
and arrivals are the same either way (see ``_simulation``), so comparing the
two runs compares the routing, not the luck.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from events import ConfigError

from ._client import KINDS

__all__ = ["Scenario", "SimulationSummary", "validate"]

Share = Annotated[float, Meta(ge=0, le=1)]
Count = Annotated[int, Meta(ge=0)]


class Scenario(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The knobs of a simulated project; the defaults give the case study's month."""

    seed: int = 7
    experts: Annotated[int, Meta(ge=1)] = 285
    days: Annotated[int, Meta(ge=1)] = 28
    workspace: Annotated[str, Meta(min_length=1, max_length=128)] = "llm-finetune"
    #: Day 0 of the project (a Monday, midnight UTC).
    start: datetime = datetime(2026, 11, 2, tzinfo=UTC)
    #: Hours of work the client publishes per expert and month at the peak
    #: (285 x 42 = 11,970: the case study's 10,000-13,000).
    peak_hours_per_expert: Annotated[float, Meta(ge=0)] = 42.0
    #: Share of the peak volume in each week (a 4-week ramp-up); the last holds after.
    ramp: tuple[Annotated[float, Meta(ge=0)], ...] = (0.25, 0.6, 0.85, 1.0)
    #: Volume on a weekday and on a weekend day, relative to the week's mean.
    weekday_factor: Annotated[float, Meta(ge=0)] = 1.15
    weekend_factor: Annotated[float, Meta(ge=0)] = 0.625
    #: Weight of each kind among the tasks the client publishes (reviews come on top).
    mix: tuple[tuple[str, Annotated[float, Meta(ge=0)]], ...] = (
        ("write", 0.2),
        ("rate", 0.36),
        ("edit", 0.12),
        ("fact_check", 0.12),
        ("red_team", 0.08),
        ("audit", 0.12),
    )
    #: Experts are onboarded over this many days (at most half the run); the
    #: first, English-only cohort is this share of them.
    onboarding_days: Annotated[int, Meta(ge=1)] = 14
    first_cohort_share: Share = 0.35
    #: Share of written pairs that get a review task, and of other submissions a QA lead checks.
    review_rate: Share = 1.0
    spot_check_rate: Share = 0.1
    #: Mean chance that an expert declines an assignment, or forgets it (the lease runs out).
    decline_rate: Share = 0.03
    abandon_rate: Share = 0.004
    #: Chance that an expert whose lease ran out mid-work submits anyway (and is rejected).
    late_submit_rate: Share = 0.5
    #: Share of the client's tasks it withdraws later, if still open.
    cancel_rate: Share = 0.015
    #: Tasks nobody can take; experts offboarded in the last week; profile updates.
    gap_tasks: Count = 3
    removals: Count = 4
    profile_updates: Count = 2
    tick_minutes: Annotated[int, Meta(ge=1)] = 15
    #: Tasks use contract v1.1 (steps, gates, named experts, adaptive overlap); False: v1 only.
    v1_1: bool = True


class SimulationSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What a run did, as the simulation counted it (the log's report is separate)."""

    simulated_minutes: int
    inputs: int
    inputs_by_type: dict[str, int]
    outputs: int
    outputs_by_type: dict[str, int]
    #: Rejected input events, by the type of the input.
    rejected_by_type: dict[str, int]
    experts_onboarded: int
    experts_removed: int
    tasks_created: int
    review_tasks_created: int
    #: Edits of written pairs that a review found wanting.
    revision_tasks_created: int
    tasks_completed: int
    tasks_cancelled: int
    #: Distinct tasks that were unroutable at some point.
    tasks_unroutable: int
    #: Hours of work: estimated, of every assignment and of those requeued; measured, of
    #: accepted submissions.
    hours_assigned: float
    hours_requeued: float
    hours_submitted: float
    declines: int
    leases_abandoned: int
    late_submissions: int
    reviews: int
    reviews_failed: int


def validate(scenario: Scenario) -> None:
    """Raise ConfigError unless the scenario can be played.

    msgspec checks constraints on decoding only, so the Struct is checked
    as if it had been decoded.
    """
    try:
        msgspec.convert(msgspec.to_builtins(scenario), Scenario)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid scenario: {exc}") from None
    unknown = [kind for kind, _ in scenario.mix if kind not in KINDS or kind == "review"]
    if unknown or sum(weight for _, weight in scenario.mix) <= 0:
        raise ConfigError(f"invalid scenario mix: unknown kinds {unknown}, or no weight at all")
    if scenario.start.utcoffset() is None:
        raise ConfigError("the scenario's start needs a UTC offset")
