"""A synthetic month of an LLM fine-tuning project, driven through the real engine.

``triage demo`` needs traffic that looks like the case study it is built
for, and the replay tests need a long, varied, reproducible stream: this
module is both. It plays everyone around the engine: the workforce tool
(profiles, presence, offboarding), the client's upstream system (tasks,
cancellations, a review for every written pair), the experts (they take,
decline, abandon and submit work) and the annotation tool (reviews). It is
a discrete-event simulation: a heap of future happenings, popped in time
order, each turned into input events handed to ``process``; the engine's
answers (assignments, requeues, completions) schedule what people do next.

It is deterministic: one ``random.Random(seed)``, simulated time only, ids
from counters, so a seed always gives the same events, byte for byte.
The statistics of people and work live in ``_workforce``.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Final

import msgspec
from msgspec import Meta

from events import (
    ClockTick,
    ConfigError,
    EventRejected,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    InputEvent,
    OutputEvent,
    Status,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskDeclined,
    TaskRequeued,
    TaskReviewed,
    TaskSubmitted,
    TaskUnroutable,
)
from router import from_micros, to_micros

from ._workforce import (
    DAY,
    KINDS,
    MINUTE,
    Client,
    Persona,
    hire,
    mean_minutes,
    shift,
    weekday_of,
)

__all__ = ["Scenario", "SimulationSummary", "simulate"]

_HOUR: Final = 60 * MINUTE
_WEEK: Final = 7 * DAY
_QA_LEADS: Final = ("qa-lead-1", "qa-lead-2")
_CASE_STUDY_EXPERTS: Final = 285

Share = Annotated[float, Meta(ge=0, le=1)]


class Scenario(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The knobs of a simulated project; the defaults give the case study's month."""

    seed: int = 7
    experts: Annotated[int, Meta(ge=1)] = _CASE_STUDY_EXPERTS
    days: Annotated[int, Meta(ge=1)] = 28
    workspace: str = "llm-finetune"
    #: Midnight UTC of a Monday: day 0 of the project.
    start: datetime = datetime(2026, 11, 2, tzinfo=UTC)
    #: Hours of work the client publishes per expert and month at the peak
    #: (285 x 42 = 11,970: the case study's 10,000-13,000).
    peak_hours_per_expert: Annotated[float, Meta(ge=0)] = 42.0
    #: Share of the peak volume in each week; the last figure holds after.
    ramp: tuple[float, ...] = (0.35, 0.65, 0.9, 1.0)
    #: Volume on a weekday and on a weekend day (their week averages to 1).
    weekday_factor: float = 1.15
    weekend_factor: float = 0.625
    #: Weight of each kind among the tasks the client publishes.
    mix: tuple[tuple[str, float], ...] = (
        ("write", 0.22),
        ("rate", 0.30),
        ("edit", 0.14),
        ("fact_check", 0.14),
        ("red_team", 0.08),
        ("audit", 0.12),
    )
    #: Experts are onboarded over this many days (at most half the run);
    #: the first, English-only cohort is this share of them.
    onboarding_days: Annotated[int, Meta(ge=1)] = 14
    first_cohort_share: Share = 0.35
    #: Share of written pairs that get a review task, and of other submissions a QA lead checks.
    review_rate: Share = 1.0
    spot_check_rate: Share = 0.08
    #: Mean chance that an expert declines an assignment, or lets its lease run out.
    decline_rate: Share = 0.03
    abandon_rate: Share = 0.004
    #: Chance that an expert whose lease ran out mid-work submits anyway (rejected).
    late_submit_rate: Share = 0.5
    #: Share of the client's tasks it cancels later.
    cancel_rate: Share = 0.015
    #: Tasks nobody can take, offboarded experts, profile updates.
    gap_tasks: Annotated[int, Meta(ge=0)] = 3
    removals: Annotated[int, Meta(ge=0)] = 4
    profile_updates: Annotated[int, Meta(ge=0)] = 2
    tick_minutes: Annotated[int, Meta(ge=1)] = 15


class SimulationSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What a run did, counted by the simulation itself (the log's report is separate)."""

    simulated_minutes: int
    inputs: int
    inputs_by_type: dict[str, int]
    outputs: int
    outputs_by_type: dict[str, int]
    rejected_by_type: dict[str, int]
    experts_onboarded: int
    experts_removed: int
    tasks_created: int
    review_tasks_created: int
    tasks_completed: int
    tasks_cancelled: int
    tasks_unroutable: int
    hours_assigned: float
    hours_requeued: float
    hours_submitted: float
    declines: int
    leases_abandoned: int
    late_submissions: int
    reviews: int
    reviews_failed: int


class _Job:
    """The simulation's memory of one task."""

    __slots__ = ("authors", "created", "open", "stuck")

    def __init__(self, created: TaskCreated) -> None:
        self.created = created
        self.open = True
        self.stuck = False  # unroutable, and not assigned since
        self.authors: list[str] = []


class _Work:
    """One assignment as its expert lives it."""

    __slots__ = ("expert", "live", "seconds", "task")

    def __init__(self, task: str, expert: str) -> None:
        self.task = task
        self.expert = expert
        self.live = True
        self.seconds = 0


class _Run:
    def __init__(
        self,
        scenario: Scenario,
        process: Callable[[InputEvent], Sequence[OutputEvent]],
        progress: Callable[[int, int], None] | None,
    ) -> None:
        _check(scenario)
        self.scenario = scenario
        self.process = process
        self.progress = progress
        self.rng = random.Random(scenario.seed)
        self.workspace = scenario.workspace
        self.begin = to_micros(scenario.start)
        self.end = self.begin + scenario.days * DAY
        self.heap: list[tuple[int, int, Callable[[], None]]] = []
        self.seq = 0
        self.now = self.begin
        self.roster = hire(
            self.rng,
            scenario.experts,
            start=self.begin,
            first_share=scenario.first_cohort_share,
            onboarding_days=min(scenario.onboarding_days, max(1, scenario.days // 2)),
        )
        self.people = {p.expert: p for p in self.roster}
        self.client = Client(scenario.mix, scenario.workspace)
        self.jobs: dict[str, _Job] = {}
        self.work: dict[tuple[str, str], _Work] = {}
        self.status: dict[str, Status] = {}
        self.events = 0
        self.tasks = 0
        per_task = sum(w * mean_minutes(k) for k, w in scenario.mix) / sum(
            w for _, w in scenario.mix
        )
        write = dict(scenario.mix).get("write", 0.0) / sum(w for _, w in scenario.mix)
        per_task += write * scenario.review_rate * mean_minutes("review")
        monthly = scenario.peak_hours_per_expert * scenario.experts * 60
        # Tasks per minute at the peak: a month is 365.25 / 12 days.
        self.peak_rate = monthly / (365.25 / 12 * 24 * 60) / per_task
        self.counts: dict[str, int] = {}
        self.tally: dict[str, int] = {}
        self.rejected: dict[str, int] = {}
        self.minutes = {"assigned": 0, "requeued": 0}
        self.seconds = 0
        self.unroutable: dict[str, None] = {}
        self.onboarded = 0
        self.abandoned = 0
        self.failed = 0

    # --- the loop --------------------------------------------------------------------

    def at(self, when: int, action: Callable[[], None]) -> None:
        if when < self.end:
            self.seq += 1
            heapq.heappush(self.heap, (max(when, self.now), self.seq, action))

    def run(self) -> SimulationSummary:
        self.setup()
        total = (self.end - self.begin) // MINUTE
        reported = self.begin
        while self.heap:
            when, _, action = heapq.heappop(self.heap)
            if self.progress is not None and when - reported >= _HOUR:
                reported = when - (when - self.begin) % _HOUR
                self.progress((reported - self.begin) // MINUTE, total)
            self.now = when
            action()
        if self.progress is not None:
            self.progress(total, total)
        return self.summary(total)

    def setup(self) -> None:
        rng, scenario = self.rng, self.scenario
        for persona in self.roster:
            self.at(persona.onboarded, partial(self.onboard, persona))
        self.at(self.begin + scenario.tick_minutes * MINUTE, self.tick)
        # The client starts publishing work once the first expert is on board.
        kickoff = min(p.onboarded for p in self.roster)
        self.at(self.next_arrival(kickoff), self.arrive)
        for _ in range(scenario.gap_tasks):
            self.at(self.begin + round(rng.uniform(1, max(1, scenario.days - 1)) * DAY), self.gap)
        late = self.begin + max(scenario.days * 3 // 4, scenario.days - 7) * DAY
        leaving = [p for p in self.roster if p.onboarded < late]
        for persona in rng.sample(leaving, min(scenario.removals, len(leaving) // 10)):
            self.at(rng.randrange(late, self.end), partial(self.offboard, persona))
        middle = self.begin + scenario.days * DAY // 3
        for persona in rng.sample(self.roster, min(scenario.profile_updates, len(self.roster))):
            earliest = max(middle, persona.onboarded + DAY)
            self.at(rng.randrange(earliest, earliest + DAY), partial(self.promote, persona))

    def send(self, event: InputEvent) -> Sequence[OutputEvent]:
        outputs = self.process(event)
        tag = _tag(event)
        self.counts[tag] = self.counts.get(tag, 0) + 1
        for out in outputs:
            self.react(out, event)
        return outputs

    def next_id(self) -> str:
        self.events += 1
        return f"sim-{self.events:06d}"

    def stamp(self) -> tuple[str, datetime, str]:
        return self.next_id(), from_micros(self.now), self.workspace

    # --- the engine's answers ----------------------------------------------------------

    def react(self, out: OutputEvent, cause: InputEvent) -> None:
        tag = _tag(out)
        self.tally[tag] = self.tally.get(tag, 0) + 1
        if isinstance(out, TaskAssigned):
            self.assigned(out)
        elif isinstance(out, TaskRequeued):
            self.minutes["requeued"] += self.jobs[out.task].created.minutes
            work = self.work.pop((out.task, out.expert), None)
            if work is not None and not (
                out.reason == "expired" and work.seconds and self.rng.random() < self.scenario.late_submit_rate
            ):
                work.live = False
        elif isinstance(out, TaskCompleted):
            job = self.jobs[out.task]
            job.open = False
            if job.created.kind == "write" and self.rng.random() < self.scenario.review_rate:
                self.at(self.now + self.rng.randrange(5, 120) * 1_000_000, partial(self.review_task, job))
        elif isinstance(out, TaskUnroutable):
            self.unroutable[out.task] = None
            self.jobs[out.task].stuck = True
            # Ops see the staffing gap; unless someone who can take it is hired, the
            # client moves the item elsewhere.
            self.at(self.now + self.rng.randrange(24, 72) * _HOUR,
                    partial(self.cancel, out.task, "no qualified expert: moved elsewhere", True))
        elif isinstance(out, EventRejected):
            tag = _tag(cause)
            self.rejected[tag] = self.rejected.get(tag, 0) + 1

    def assigned(self, out: TaskAssigned) -> None:
        rng = self.rng
        job = self.jobs[out.task]
        persona = self.people[out.expert]
        task = job.created
        job.stuck = False
        self.minutes["assigned"] += task.minutes
        work = self.work[(out.task, out.expert)] = _Work(out.task, out.expert)
        chance = rng.random()
        decline = self.scenario.decline_rate * persona.decline
        if task.domain not in persona.domains or persona.domains[task.domain] == task.skill:
            decline *= 2  # work at the edge of what they know
        if chance < decline:
            self.at(self.now + rng.randrange(1, 16) * MINUTE, partial(self.decline, work))
        elif chance < decline + self.scenario.abandon_rate * persona.abandon:
            self.abandoned += 1  # they forget it: the lease runs out
        else:
            days_in = (self.now - persona.onboarded) / DAY
            learning = 1 + 0.3 * max(0.0, 1 - days_in / 7)  # new people are slower
            factor = persona.speed * learning * rng.lognormvariate(0.0, 0.25)
            work.seconds = max(60, round(task.minutes * 60 * factor))
            self.at(self.now + work.seconds * 1_000_000, partial(self.submit, work))

    # --- the workforce -------------------------------------------------------------------

    def onboard(self, persona: Persona) -> None:
        self.send(ExpertProfile(*self.stamp(), **persona.profile()))  # type: ignore[arg-type]
        self.onboarded += 1
        self.status[persona.expert] = "offline"
        self.client.staffed(persona)
        local = self.now + persona.utc_offset * MINUTE
        self.at(local - local % DAY + DAY - persona.utc_offset * MINUTE, partial(self.plan, persona))

    def plan(self, persona: Persona) -> None:
        """At local midnight: schedule the day's shift, and the next midnight."""
        if persona.removed:
            return
        midnight = self.now
        weekday = weekday_of(midnight + persona.utc_offset * MINUTE)
        for minute, status in shift(persona, self.rng, weekday):
            self.at(midnight + minute * MINUTE, partial(self.presence, persona, status))
        self.at(midnight + DAY, partial(self.plan, persona))

    def presence(self, persona: Persona, status: Status) -> None:
        if persona.removed or self.status.get(persona.expert) == status:
            return
        self.status[persona.expert] = status
        self.send(ExpertStatus(*self.stamp(), expert=persona.expert, status=status))

    def offboard(self, persona: Persona) -> None:
        persona.removed = True
        self.client.staffed(persona)
        self.send(ExpertRemoved(*self.stamp(), expert=persona.expert))

    def promote(self, persona: Persona) -> None:
        """A profile update: more contracted hours, or a domain newly certified."""
        if persona.removed:
            return
        missing = [d for d in ("general", "business", "humanities", "stem") if d not in persona.domains]
        if persona.weekly_hours < 30 and (not missing or self.rng.random() < 0.5):
            persona.weekly_hours = 30.0
        elif missing:
            persona.domains[self.rng.choice(missing)] = 3
        self.client.staffed(persona)
        self.send(ExpertProfile(*self.stamp(), **persona.profile()))  # type: ignore[arg-type]

    def decline(self, work: _Work) -> None:
        if work.live:
            work.live = False
            self.work.pop((work.task, work.expert), None)
            reason = self.people[work.expert].decline_reason(self.rng, self.jobs[work.task].created.domain)
            self.send(TaskDeclined(*self.stamp(), task=work.task, expert=work.expert, reason=reason))

    def submit(self, work: _Work) -> None:
        if not work.live:
            return
        work.live = False
        self.work.pop((work.task, work.expert), None)
        event = TaskSubmitted(
            *self.stamp(), task=work.task, expert=work.expert, seconds=work.seconds,
            ref=f"s3://client-bucket/submissions/{work.task}/{work.expert}.json",
        )
        outputs = self.send(event)
        if any(isinstance(o, EventRejected) for o in outputs):
            return
        self.seconds += work.seconds
        job = self.jobs[work.task]
        job.authors.append(work.expert)
        rng = self.rng
        if job.created.kind == "review" and job.created.parent is not None:
            parent = self.jobs[job.created.parent]
            self.at(self.now + rng.randrange(10, 300) * 1_000_000,
                    partial(self.reviewed, parent, parent.authors[0], work.expert))
        elif rng.random() < self.scenario.spot_check_rate:
            self.at(self.now + rng.randrange(60, 36 * 60) * MINUTE,
                    partial(self.reviewed, job, work.expert, rng.choice(_QA_LEADS)))

    def reviewed(self, job: _Job, author: str, reviewer: str) -> None:
        score, passed, errors = self.people[author].review(self.rng, job.created.kind)
        self.failed += not passed
        self.send(TaskReviewed(
            *self.stamp(), task=job.created.task, expert=author, reviewer=reviewer,
            score=score, passed=passed, errors=errors,
        ))

    # --- the client ---------------------------------------------------------------------

    def create(self, task: TaskCreated) -> None:
        self.jobs[task.task] = _Job(task)
        self.send(task)

    def next_task_id(self) -> str:
        self.tasks += 1
        return f"task-{self.tasks:06d}"

    def arrive(self) -> None:
        rng = self.rng
        task = self.client.draw(rng, *self.stamp()[:2], self.next_task_id())
        self.create(task)
        if rng.random() < self.scenario.cancel_rate:
            delay = rng.randrange(10, 24 * 60) * MINUTE
            self.at(self.now + delay, partial(self.cancel, task.task, "client withdrew the item"))
        self.at(self.next_arrival(self.now), self.arrive)

    def next_arrival(self, now: int) -> int:
        """Poisson arrivals at a rate that is constant within each hour."""
        scenario = self.scenario
        while now < self.end:
            hour_end = now - now % _HOUR + _HOUR
            elapsed = now - self.begin
            ramp = scenario.ramp[min(elapsed // _WEEK, len(scenario.ramp) - 1)] if scenario.ramp else 1.0
            weekend = weekday_of(now) >= 5
            rate = self.peak_rate * ramp * (scenario.weekend_factor if weekend else scenario.weekday_factor)
            if rate > 0:
                gap = round(self.rng.expovariate(rate) * MINUTE)
                if now + gap < hour_end:
                    return now + max(1, gap)
            now = hour_end
        return self.end

    def gap(self) -> None:
        task = self.client.gap(self.roster, *self.stamp()[:2], self.next_task_id())
        self.create(task)

    def review_task(self, parent: _Job) -> None:
        self.create(self.client.review_of(self.rng, *self.stamp()[:2], parent.created))

    def cancel(self, task: str, reason: str, stuck: bool = False) -> None:
        job = self.jobs[task]
        if job.open and (job.stuck or not stuck):  # the client knows what is done
            job.open = False
            self.send(TaskCancelled(*self.stamp(), task=task, reason=reason))

    def tick(self) -> None:
        self.send(ClockTick(*self.stamp()))
        self.at(self.now + self.scenario.tick_minutes * MINUTE, self.tick)

    # --- the result ------------------------------------------------------------------------

    def summary(self, total: int) -> SimulationSummary:
        tally = self.tally
        created = self.counts.get("task.created", 0)
        reviews = sum(1 for job in self.jobs.values() if job.created.kind == "review")
        return SimulationSummary(
            simulated_minutes=total,
            inputs=sum(self.counts.values()),
            inputs_by_type=dict(sorted(self.counts.items())),
            outputs=sum(tally.values()),
            outputs_by_type=dict(sorted(tally.items())),
            rejected_by_type=dict(sorted(self.rejected.items())),
            experts_onboarded=self.onboarded,
            experts_removed=self.counts.get("expert.removed", 0),
            tasks_created=created,
            review_tasks_created=reviews,
            tasks_completed=tally.get("task.completed", 0),
            tasks_cancelled=self.counts.get("task.cancelled", 0),
            tasks_unroutable=len(self.unroutable),
            hours_assigned=round(self.minutes["assigned"] / 60, 1),
            hours_requeued=round(self.minutes["requeued"] / 60, 1),
            hours_submitted=round(self.seconds / 3600, 1),
            declines=self.counts.get("task.declined", 0),
            leases_abandoned=self.abandoned,
            late_submissions=self.rejected.get("task.submitted", 0),
            reviews=self.counts.get("task.reviewed", 0),
            reviews_failed=self.failed,
        )


def _tag(event: InputEvent | OutputEvent) -> str:
    return str(type(event).__struct_config__.tag)


def _check(scenario: Scenario) -> None:
    try:
        msgspec.convert(msgspec.to_builtins(scenario), Scenario)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid scenario: {exc}") from None
    unknown = [kind for kind, _ in scenario.mix if kind not in KINDS]
    if unknown or not scenario.mix or sum(w for _, w in scenario.mix) <= 0:
        raise ConfigError(f"invalid scenario mix: unknown kinds {unknown} or no weight")
    if scenario.start.utcoffset() is None:
        raise ConfigError("the scenario's start needs a UTC offset")


def simulate(
    scenario: Scenario,
    process: Callable[[InputEvent], Sequence[OutputEvent]],
    progress: Callable[[int, int], None] | None = None,
) -> SimulationSummary:
    """Play the scenario: hand every input event to ``process``, in time order, and react.

    ``process`` applies one event and returns the engine's outputs for it
    (``router.Engine().apply`` in tests; the log and the engine in the
    demo). ``progress(done, total)`` is called about every simulated hour
    with simulated minutes. Same scenario, same events, byte for byte.
    """
    return _Run(scenario, process, progress).run()
