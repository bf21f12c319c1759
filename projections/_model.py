"""The report: what the projections say about each workspace, as msgspec Structs.

Structs rather than dicts so that a program gets the same shape every time
(``msgspec.json.encode`` and ``msgspec.to_builtins`` give JSON directly)
and a typo in a field name is a type error, not a missing key. Every dict
in a report is built in sorted key order (education levels: in the
contract's scale order) and every float is rounded to three places, so the
same journal encodes to the same bytes. Timestamps are in UTC.

Each Struct states ``frozen=True, kw_only=True`` itself rather than
inheriting it, because mypy does not see msgspec's inherited ``frozen``.

Units are in the field names: ``_seconds``, ``_hours``; ratios are 0-1.
A metric with no samples is ``None`` (JSON ``null``), never 0.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = [
    "AgreementTally",
    "DeadLetters",
    "EventCounts",
    "ExpertLoad",
    "GateGap",
    "Gates",
    "Handling",
    "LowQuality",
    "Overlap",
    "PoolStaffing",
    "Quality",
    "QualityTally",
    "Report",
    "Staffing",
    "StepTally",
    "Steps",
    "TaskBreakdown",
    "Tasks",
    "TimeSummary",
    "Utilization",
    "Waiting",
    "WeekErrors",
    "WorkspaceReport",
]


# --- tasks -----------------------------------------------------------------


class TaskBreakdown(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Task counts of one kind, domain or language."""

    created: int
    assigned: int
    completed: int
    cancelled: int
    queued: int


class Tasks(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Task flow: totals, what is waiting now, requeues, and breakdowns.

    ``queued`` counts tasks waiting for a first or a further assignment
    (open assignments plus submissions below ``judgements``); ``in_progress``
    the other unfinished tasks, all of whose judgements are being worked on.
    ``unroutable`` counts unfinished tasks flagged by ``task.unroutable`` and
    not assigned since; ``unroutable_events`` every flag ever written.
    """

    created: int
    assigned: int
    completed: int
    cancelled: int
    queued: int
    in_progress: int
    unroutable: int
    unroutable_events: int
    requeued: int
    requeued_by_reason: dict[str, int]
    by_kind: dict[str, TaskBreakdown]
    by_domain: dict[str, TaskBreakdown]
    by_language: dict[str, TaskBreakdown]


# --- time ------------------------------------------------------------------


class TimeSummary(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Count, mean and nearest-rank percentiles of durations, in seconds."""

    count: int
    mean_seconds: float | None
    p50_seconds: float | None
    p90_seconds: float | None


class Handling(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Handling time from ``task.submitted`` ``seconds``; AHT is the mean."""

    submissions: int
    aht_seconds: float | None
    p50_seconds: float | None
    p90_seconds: float | None
    by_kind: dict[str, TimeSummary]
    by_domain: dict[str, TimeSummary]
    by_language: dict[str, TimeSummary]
    by_expert: dict[str, TimeSummary]


class Waiting(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Time from creation to first assignment, and the age of the oldest queued task."""

    first_assigned: int
    mean_seconds: float | None
    p50_seconds: float | None
    p90_seconds: float | None
    oldest_queued_seconds: float | None
    oldest_queued_task: str | None


# --- quality ---------------------------------------------------------------


class QualityTally(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Reviews of one expert, domain, language or kind."""

    reviews: int
    mean_score: float | None
    pass_rate: float | None


class WeekErrors(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Reviews of one ISO week (UTC, by the review's ``at``) and their error categories."""

    week: str
    reviews: int
    failed: int
    errors: dict[str, int]


class LowQuality(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One failed or low-scored review, with the submission's ``ref`` if it had one."""

    task: str
    kind: str
    domain: str
    language: str
    expert: str
    reviewer: str
    score: float
    passed: bool
    errors: tuple[str, ...]
    at: datetime
    ref: str | None


class Quality(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Review outcomes: overall, broken down, the error trend and the low-quality list.

    ``low_quality`` holds every review that failed or scored below
    ``low_score``, in journal order.
    """

    reviews: int
    mean_score: float | None
    pass_rate: float | None
    low_score: float
    by_expert: dict[str, QualityTally]
    by_domain: dict[str, QualityTally]
    by_language: dict[str, QualityTally]
    by_kind: dict[str, QualityTally]
    errors: dict[str, int]
    error_trend: list[WeekErrors]
    low_quality: list[LowQuality]


# --- people ----------------------------------------------------------------


class PoolStaffing(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Supply against queued demand in one (domain, language) pool.

    ``capacity_hours`` sums the weekly hours of every non-removed expert
    covering the pool (any level; a ``pt-BR`` speaker also covers ``pt``),
    ``available_hours`` those of the available ones. An expert covering
    several pools counts fully in each. ``demand_hours`` is the remaining
    work of the pool's queued tasks: judgements not yet submitted nor being
    worked on, times ``minutes``. ``gap_hours`` = demand - capacity: positive
    means a week of everyone's contracted hours would not clear the backlog.
    """

    domain: str
    language: str
    experts: int
    available: int
    capacity_hours: float
    available_hours: float
    demand_hours: float
    gap_hours: float
    queued: int
    unroutable: int


class Staffing(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The workforce now: non-removed experts by status and by profile, and pools.

    ``by_domain_language_education`` nests domain -> language -> education ->
    experts; an expert counts once in every (domain, language) they declared.
    """

    experts: int
    available: int
    away: int
    offline: int
    removed: int
    capacity_hours: float
    available_hours: float
    by_education: dict[str, int]
    by_domain_language_education: dict[str, dict[str, dict[str, int]]]
    pools: list[PoolStaffing]


class ExpertLoad(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One expert's assigned hours this ISO week against their weekly hours."""

    status: str
    weekly_hours: float
    assigned_hours: float
    utilization: float
    open: int


class Utilization(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Hours assigned in the workspace clock's ISO week against contracted hours.

    Assigned hours follow the contract's rule 2: the ``minutes`` of tasks
    assigned in the week, less those of assignments that ended in
    ``task.requeued``. ``given_back_hours`` totals those returns over the
    whole journal. Removed experts count in neither hours nor capacity.
    """

    week: str | None
    capacity_hours: float
    assigned_hours: float
    utilization: float | None
    given_back_hours: float
    given_back_by_reason: dict[str, float]
    by_expert: dict[str, ExpertLoad]


# --- v1.1: steps, overlap, gates ---------------------------------------------


class StepTally(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One step of the tasks that have steps; step 0 is the requirements as created.

    ``reached`` counts tasks that reached the step, ``time_to_reach`` the time
    from creation to it (by the workspace clock at the escalation; none for
    step 0). ``served`` counts tasks whose first assignment was made while
    this step was the latest reached, ``assignments`` every assignment then.
    """

    step: int
    reached: int
    time_to_reach: TimeSummary
    served: int
    assignments: int


class Steps(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Requirement steps: how long tasks waited for each, and who was served at each."""

    tasks: int = 0
    escalations: int = 0
    by_step: list[StepTally] = msgspec.field(default_factory=list)


class AgreementTally(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Adaptive overlap of one kind or domain.

    ``completed`` counts completed tasks with ``agreement``; ``mean_share`` is
    the mean share of agreeing answers at completion; ``without_agreement``
    the completed ones whose share stayed below ``agreement`` (completed at
    ``max_judgements``); ``extensions`` every ``task.extended``.
    """

    completed: int
    mean_share: float | None
    extensions: int
    without_agreement: int


class Overlap(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Adaptive overlap over the tasks created with ``agreement``."""

    tasks: int = 0
    completed: int = 0
    mean_share: float | None = None
    extensions: int = 0
    without_agreement: int = 0
    by_kind: dict[str, AgreementTally] = msgspec.field(default_factory=dict)
    by_domain: dict[str, AgreementTally] = msgspec.field(default_factory=dict)


class GateGap(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Queued tasks with a quality gate in force, and those no qualified expert can take.

    ``no_available`` counts those for which no available expert covering the
    pool (and on the task's list, if it has one) has a quality record at
    least the gate; ``no_qualified`` those for which no expert at all has,
    whatever their status: the staffing gap by quality.
    """

    gated: int
    no_available: int
    no_qualified: int


class Gates(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The staffing gap by quality, with the record's prior and weight the report used."""

    gated: int = 0
    no_available: int = 0
    no_qualified: int = 0
    quality_prior: float = 0.75
    quality_prior_reviews: float = 3.0
    by_domain: dict[str, GateGap] = msgspec.field(default_factory=dict)


# --- the whole -------------------------------------------------------------


class EventCounts(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Refused events of the workspace; ``rejected_by_reason`` keys mask the ids."""

    rejected: int
    rejected_by_reason: dict[str, int]
    dead_letters: int


class WorkspaceReport(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Every metric of one workspace; ``clock`` is the latest ``at`` it has seen."""

    clock: datetime | None
    week: str | None
    tasks: Tasks
    handling: Handling
    waiting: Waiting
    quality: Quality
    staffing: Staffing
    utilization: Utilization
    events: EventCounts
    steps: Steps = msgspec.field(default_factory=Steps)
    overlap: Overlap = msgspec.field(default_factory=Overlap)
    gates: Gates = msgspec.field(default_factory=Gates)


class DeadLetters(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Records that never became events, over all workspaces, by source.

    ``retried`` of them have had a corrected event submitted; the rest are open.
    """

    total: int
    by_source: dict[str, int]
    retried: int = 0


class Report(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The projections at one point of the journal: per workspace, and dead letters."""

    workspaces: dict[str, WorkspaceReport]
    dead_letters: DeadLetters
