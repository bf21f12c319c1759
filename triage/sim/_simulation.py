"""A synthetic month of an LLM fine-tuning project, driven through the real engine.

``triage demo`` needs traffic that looks like the case study it is built
for, and the replay tests need a long, varied, reproducible stream: this
module is both. It plays everyone around the engine: the workforce tool
(profiles, presence, offboarding), the client's upstream system (tasks,
cancellations, a review for every written pair), the experts (they take,
decline, forget and submit work) and the annotation tool (reviews).

It is a discrete-event simulation: a heap of future happenings, popped in
time order (ties by the order they were scheduled), each turned into input
events handed to ``process``; the engine's answers (assignments, requeues,
completions) schedule what people do next. It is deterministic: seeded
``random.Random`` streams, simulated time only, ids from counters, so a
scenario always gives the same events, byte for byte. The statistics of
people and work live in ``_workforce`` and ``_client``.

Three streams of draws keep the world apart from the routing: one for the
client's arrivals (when, what, and the hidden answer of each rating), one
for the workforce's shifts and promotions, and one for everything people do
with the work they are given. So a scenario played under another policy, or
with ``Scenario(v1_1=False)``, meets the same roster, the same shifts and the
same arrivals, and only what follows from the routing differs.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from functools import partial
from typing import Final

from events import (
    ClockTick,
    EventRejected,
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
    from_micros,
    to_micros,
    type_name,
)

from ._client import Client, Rating, Stamp
from ._scenario import Scenario, SimulationSummary, validate
from ._workforce import DAY, DOMAINS, MINUTE, Persona, hire, shift, weekday_of

__all__ = ["simulate"]

_SECOND: Final = 1_000_000
_HOUR: Final = 60 * MINUTE
_QA_LEADS: Final = ("qa-lead-1", "qa-lead-2")


def simulate(
    scenario: Scenario,
    process: Callable[[InputEvent], Sequence[OutputEvent]],
    progress: Callable[[int, int], None] | None = None,
) -> SimulationSummary:
    """Play the scenario: hand every input event to ``process`` in time order, and react.

    ``process`` applies one event and returns the engine's outputs for it
    (``router.Engine().apply`` in tests; the log and the engine in the
    demo). ``progress(done, total)`` is called about every simulated hour,
    in simulated minutes. Raises ConfigError for a scenario it cannot play.
    """
    return _Run(scenario, process, progress).run()


class _Job:
    """The simulation's memory of one task."""

    __slots__ = ("authors", "created", "open", "rating", "revised", "stuck", "writer")

    def __init__(
        self, created: TaskCreated, rating: Rating | None = None, writer: str | None = None
    ) -> None:
        self.created = created
        self.open = True
        self.stuck = False  # unroutable, and not assigned since
        self.authors: list[str] = []
        self.rating = rating  # the hidden answer of a rating item
        self.writer = writer  # of the written pair a revision is of
        self.revised = False  # a revision of this written pair was published


class _Work:
    """One assignment as its expert lives it."""

    __slots__ = ("expert", "live", "seconds", "task")

    def __init__(self, task: str, expert: str) -> None:
        self.task = task
        self.expert = expert
        self.live = True  # False once submitted, declined, or dropped
        self.seconds = 0  # handling time, if they are working on it


class _Run:
    """One run of a scenario: the heap, the people, the client and the counters."""

    def __init__(
        self,
        scenario: Scenario,
        process: Callable[[InputEvent], Sequence[OutputEvent]],
        progress: Callable[[int, int], None] | None,
    ) -> None:
        validate(scenario)
        self.scenario = scenario
        self.process = process
        self.progress = progress
        self.rng = random.Random(scenario.seed)
        self.arrivals = random.Random(f"{scenario.seed}/arrivals")
        self.shifts = random.Random(f"{scenario.seed}/shifts")
        self.begin = self.now = to_micros(scenario.start)
        self.end = self.begin + scenario.days * DAY
        self.heap: list[tuple[int, int, Callable[[], None]]] = []
        self.seq = self.events = self.tasks = 0
        self.roster = hire(
            self.rng,
            scenario.experts,
            start=self.begin,
            first_share=scenario.first_cohort_share,
            onboarding_days=min(scenario.onboarding_days, max(1, scenario.days // 2)),
        )
        self.people = {p.expert: p for p in self.roster}
        self.client = Client(
            scenario.mix,
            peak_hours_per_month=scenario.peak_hours_per_expert * scenario.experts,
            review_rate=scenario.review_rate,
            ramp=scenario.ramp,
            weekday_factor=scenario.weekday_factor,
            weekend_factor=scenario.weekend_factor,
            start=self.begin,
            v1_1=scenario.v1_1,
        )
        self.jobs: dict[str, _Job] = {}
        self.work: dict[tuple[str, str], _Work] = {}
        self.status: dict[str, Status] = {}
        self.inputs: dict[str, int] = {}
        self.outputs: dict[str, int] = {}
        self.rejected: dict[str, int] = {}
        self.unroutable: dict[str, None] = {}
        self.minutes_assigned = self.minutes_requeued = self.seconds_submitted = 0
        self.onboarded = self.abandoned = self.failed = self.revisions = 0

    # --- the loop --------------------------------------------------------------------

    def at(self, when: int, action: Callable[[], None]) -> None:
        """Schedule an action; what would happen after the run's end never does."""
        if when < self.end:
            self.seq += 1
            heapq.heappush(self.heap, (max(when, self.now), self.seq, action))

    def run(self) -> SimulationSummary:
        self.setup()
        total = (self.end - self.begin) // MINUTE
        reported = self.begin
        while self.heap:
            self.now, _, action = heapq.heappop(self.heap)
            if self.progress is not None and self.now - reported >= _HOUR:
                reported = self.now - (self.now - self.begin) % _HOUR
                self.progress((reported - self.begin) // MINUTE, total)
            action()
        if self.progress is not None:
            self.progress(total, total)
        return self.summary(total)

    def setup(self) -> None:
        rng, scenario, days = self.rng, self.scenario, self.scenario.days
        for persona in self.roster:
            self.at(persona.onboarded, partial(self.onboard, persona))
        self.at(self.begin + scenario.tick_minutes * MINUTE, self.tick)
        kickoff = min(p.onboarded for p in self.roster)  # work starts with the first expert
        self.at(self.client.next_arrival(self.arrivals, kickoff, self.end), self.arrive)
        for _ in range(scenario.gap_tasks):
            self.at(self.begin + round(rng.uniform(1, max(1, days - 1)) * DAY), self.gap)
        late = self.begin + max(days * 3 // 4, days - 7) * DAY
        leaving = [p for p in self.roster if p.onboarded < late]
        for persona in rng.sample(leaving, min(scenario.removals, len(leaving) // 10)):
            self.at(rng.randrange(late, self.end), partial(self.offboard, persona))
        middle = self.begin + days * DAY // 3
        for persona in rng.sample(self.roster, min(scenario.profile_updates, len(self.roster))):
            earliest = max(middle, persona.onboarded + DAY)
            self.at(rng.randrange(earliest, earliest + DAY), partial(self.promote, persona))

    def stamp(self) -> Stamp:
        """Id, time and workspace of the next input event."""
        self.events += 1
        return f"sim-{self.events:06d}", from_micros(self.now), self.scenario.workspace

    def send(self, event: InputEvent) -> Sequence[OutputEvent]:
        outputs = self.process(event)
        tag = type_name(event)
        self.inputs[tag] = self.inputs.get(tag, 0) + 1
        for out in outputs:
            self.react(out, tag)
        return outputs

    # --- the engine's answers ----------------------------------------------------------

    def react(self, out: OutputEvent, cause: str) -> None:
        tag = type_name(out)
        self.outputs[tag] = self.outputs.get(tag, 0) + 1
        if isinstance(out, TaskAssigned):
            self.assigned(out)
        elif isinstance(out, TaskRequeued):
            self.minutes_requeued += self.jobs[out.task].created.minutes
            work = self.work.pop((out.task, out.expert), None)
            # Mid-work when the lease ran out, some do not notice and submit anyway.
            if work is not None and not (
                out.reason == "expired"
                and work.seconds
                and self.rng.random() < self.scenario.late_submit_rate
            ):
                work.live = False
        elif isinstance(out, TaskCompleted):
            job = self.jobs[out.task]
            job.open = False
            if job.created.kind == "write" and self.rng.random() < self.scenario.review_rate:
                delay = self.rng.randrange(5, 120) * _SECOND
                self.at(self.now + delay, partial(self.review_task, job))
        elif isinstance(out, TaskUnroutable):
            self.unroutable[out.task] = None
            self.jobs[out.task].stuck = True
            # Unless someone who can take it turns up, the client moves the item elsewhere.
            self.at(
                self.now + self.rng.randrange(24, 72) * _HOUR,
                partial(self.cancel, out.task, "no qualified expert: moved elsewhere", True),
            )
        elif isinstance(out, EventRejected):
            self.rejected[cause] = self.rejected.get(cause, 0) + 1

    def assigned(self, out: TaskAssigned) -> None:
        """The expert sees new work: decline it, forget it, or do it."""
        rng, scenario = self.rng, self.scenario
        job = self.jobs[out.task]
        job.stuck = False
        task = job.created
        persona = self.people[out.expert]
        self.minutes_assigned += task.minutes
        work = self.work[(out.task, out.expert)] = _Work(out.task, out.expert)
        decline = scenario.decline_rate * persona.decline
        if persona.domains.get(task.domain, 0) <= task.skill:
            decline *= 2  # work at the edge of what they know
        chance = rng.random()
        if chance < decline:
            self.at(self.now + rng.randrange(1, 16) * MINUTE, partial(self.decline, work))
        elif chance < decline + scenario.abandon_rate * persona.abandon:
            self.abandoned += 1
        else:
            days_in = (self.now - persona.onboarded) / DAY
            learning = 1 + 0.3 * max(0.0, 1 - days_in / 7)  # new people are slower
            factor = persona.speed * learning * rng.lognormvariate(0.0, 0.25)
            if job.writer == out.expert:
                factor *= 0.6  # the writer revises their own pair: they know it
            work.seconds = max(60, round(task.minutes * 60 * factor))
            self.at(self.now + work.seconds * _SECOND, partial(self.submit, work))

    # --- the workforce -------------------------------------------------------------------

    def onboard(self, persona: Persona) -> None:
        self.send(persona.profile(*self.stamp()))
        self.onboarded += 1
        self.status[persona.expert] = "offline"
        self.client.staffed(persona)
        local = self.now + persona.utc_offset * MINUTE
        midnight = local - local % DAY + DAY - persona.utc_offset * MINUTE
        self.at(midnight, partial(self.plan, persona))

    def plan(self, persona: Persona) -> None:
        """At the expert's local midnight: schedule the day's shift, and the next midnight."""
        if persona.removed:
            return
        weekday = weekday_of(self.now + persona.utc_offset * MINUTE)
        for minute, status in shift(persona, self.shifts, weekday):
            self.at(self.now + minute * MINUTE, partial(self.presence, persona, status))
        self.at(self.now + DAY, partial(self.plan, persona))

    def presence(self, persona: Persona, status: Status) -> None:
        # Going away does not drop work in hand: it is submitted when done.
        if not persona.removed and self.status.get(persona.expert) != status:
            self.status[persona.expert] = status
            self.send(ExpertStatus(*self.stamp(), expert=persona.expert, status=status))

    def offboard(self, persona: Persona) -> None:
        persona.removed = True
        self.client.staffed(persona)
        self.send(ExpertRemoved(*self.stamp(), expert=persona.expert))

    def promote(self, persona: Persona) -> None:
        """A profile update: more contracted hours, or a newly certified domain."""
        if persona.removed:
            return
        missing = [domain for domain in DOMAINS if domain not in persona.domains]
        if persona.weekly_hours < 30 and (not missing or self.shifts.random() < 0.5):
            persona.weekly_hours = 30.0
        elif missing:
            persona.domains[self.shifts.choice(missing)] = 3
        self.client.staffed(persona)
        self.send(persona.profile(*self.stamp()))

    def decline(self, work: _Work) -> None:
        if work.live:
            work.live = False
            self.work.pop((work.task, work.expert), None)
            domain = self.jobs[work.task].created.domain
            reason = self.people[work.expert].decline_reason(self.rng, domain)
            self.send(
                TaskDeclined(*self.stamp(), task=work.task, expert=work.expert, reason=reason)
            )

    def submit(self, work: _Work) -> None:
        if not work.live:
            return
        work.live = False
        self.work.pop((work.task, work.expert), None)
        job = self.jobs[work.task]
        answer = None
        if job.rating is not None and job.created.agreement is not None:
            answer = self.people[work.expert].answer(self.rng, *job.rating)
        outputs = self.send(
            TaskSubmitted(
                *self.stamp(),
                task=work.task,
                expert=work.expert,
                seconds=work.seconds,
                ref=f"s3://client-bucket/submissions/{work.task}/{work.expert}.json",
                answer=answer,
            )
        )
        if any(isinstance(out, EventRejected) for out in outputs):
            return  # too late: the lease had run out
        self.seconds_submitted += work.seconds
        job.authors.append(work.expert)
        rng = self.rng
        if job.created.parent is not None:
            # A reviewer's verdict on the written pair, through the annotation tool.
            parent = self.jobs[job.created.parent]
            self.at(
                self.now + rng.randrange(10, 300) * _SECOND,
                partial(self.reviewed, parent, parent.authors[0], work.expert),
            )
        elif rng.random() < self.scenario.spot_check_rate:
            self.at(
                self.now + rng.randrange(60, 36 * 60) * MINUTE,
                partial(self.reviewed, job, work.expert, rng.choice(_QA_LEADS)),
            )

    def reviewed(self, job: _Job, author: str, reviewer: str) -> None:
        score, passed, errors = self.people[author].review(self.rng, job.created.kind)
        self.failed += not passed
        if job.created.kind == "write" and (errors or not passed) and not job.revised:
            # The client has the pair revised: by its writer first, with v1.1.
            job.revised = True
            delay = self.rng.randrange(5, 60) * MINUTE
            self.at(self.now + delay, partial(self.revision, job, author))
        self.send(
            TaskReviewed(
                *self.stamp(),
                task=job.created.task,
                expert=author,
                reviewer=reviewer,
                score=score,
                passed=passed,
                errors=errors,
            )
        )

    # --- the client ---------------------------------------------------------------------

    def create(self, task: TaskCreated, rating: Rating | None = None) -> None:
        self.jobs[task.task] = _Job(task, rating)
        self.send(task)

    def next_task(self) -> str:
        self.tasks += 1
        return f"task-{self.tasks:06d}"

    def arrive(self) -> None:
        rng = self.arrivals
        task = self.client.draw(rng, self.stamp(), self.next_task())
        self.create(task, self.client.rating(rng) if task.kind == "rate" else None)
        if rng.random() < self.scenario.cancel_rate:
            delay = rng.randrange(10, 24 * 60) * MINUTE
            self.at(self.now + delay, partial(self.cancel, task.task, "client withdrew the item"))
        self.at(self.client.next_arrival(rng, self.now, self.end), self.arrive)

    def gap(self) -> None:
        self.create(self.client.gap(self.roster, self.stamp(), self.next_task()))

    def review_task(self, parent: _Job) -> None:
        self.create(self.client.review_of(self.rng, self.stamp(), parent.created))

    def revision(self, parent: _Job, writer: str) -> None:
        task = self.client.revision_of(self.rng, self.stamp(), parent.created, writer)
        self.revisions += 1
        self.jobs[task.task] = _Job(task, writer=writer)
        self.send(task)

    def cancel(self, task: str, reason: str, if_stuck: bool = False) -> None:
        job = self.jobs[task]
        if job.open and (job.stuck or not if_stuck):  # the client knows what is done
            job.open = False
            self.send(TaskCancelled(*self.stamp(), task=task, reason=reason))

    def tick(self) -> None:
        self.send(ClockTick(*self.stamp()))
        self.at(self.now + self.scenario.tick_minutes * MINUTE, self.tick)

    # --- the result ------------------------------------------------------------------------

    def summary(self, total: int) -> SimulationSummary:
        inputs, outputs = self.inputs, self.outputs
        return SimulationSummary(
            simulated_minutes=total,
            inputs=sum(inputs.values()),
            inputs_by_type=dict(sorted(inputs.items())),
            outputs=sum(outputs.values()),
            outputs_by_type=dict(sorted(outputs.items())),
            rejected_by_type=dict(sorted(self.rejected.items())),
            experts_onboarded=self.onboarded,
            experts_removed=inputs.get("expert.removed", 0),
            tasks_created=inputs.get("task.created", 0),
            review_tasks_created=sum(1 for job in self.jobs.values() if job.created.parent),
            revision_tasks_created=self.revisions,
            tasks_completed=outputs.get("task.completed", 0),
            tasks_cancelled=inputs.get("task.cancelled", 0),
            tasks_unroutable=len(self.unroutable),
            hours_assigned=round(self.minutes_assigned / 60, 1),
            hours_requeued=round(self.minutes_requeued / 60, 1),
            hours_submitted=round(self.seconds_submitted / 3600, 1),
            declines=inputs.get("task.declined", 0),
            leases_abandoned=self.abandoned,
            late_submissions=self.rejected.get("task.submitted", 0),
            reviews=inputs.get("task.reviewed", 0),
            reviews_failed=self.failed,
        )
