"""An independent referee of the contract's rules of routing (rules 1 to 4), v1.1 included.

It shares no code with ``router``: it keeps its own plain model of experts,
tasks and assignments, fed with each input event followed by the outputs the
engine wrote for it, and raises AssertionError at the first broken rule.
Slow and simple on purpose: it is the specification, executable.

Version 1.1 as amended: rule 1 with the *current* requirements (after every
step reached, gate and allow-list included, records computed here from the
reviews), rule 3 against the current judgements (each ``task.extended``
raises them by one, never above ``max_judgements``; completion exactly when
the answers agree or the maximum is reached), rule 4 under the current
requirements, steps reached exactly on the first input at or after their due
moment, and the order within a moment (own outputs, escalations, assignments).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec

from events import (
    EventRejected,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    InputEvent,
    OutputEvent,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskDeclined,
    TaskEscalated,
    TaskExtended,
    TaskRequeued,
    TaskReviewed,
    TaskSubmitted,
    TaskUnroutable,
)

EDU = ["none", "secondary", "bachelor", "master", "doctorate"]
CEFR = ["A1", "A2", "B1", "B2", "C1", "C2", "native"]


def week_of(at: datetime) -> tuple[int, int]:
    year, week, _ = at.astimezone(UTC).isocalendar()
    return year, week


@dataclass
class Person:
    domains: dict[str, int]
    languages: dict[str, int]  # lower-case tag -> CEFR rank
    education: int
    minutes: int
    concurrency: int
    status: str = "offline"
    removed: bool = False


@dataclass(frozen=True)
class Needs:
    """A task's requirements at one step: the v1 three, the gate and the allow-list."""

    skill: int
    fluency: int
    education: int
    gate: float | None
    allowed: frozenset[str] | None


@dataclass
class Work:
    spec: TaskCreated
    state: str = "queued"  # queued, completed, cancelled
    open: dict[str, datetime] = field(default_factory=dict)  # expert -> assigned at
    submitters: list[str] = field(default_factory=list)
    tried: set[str] = field(default_factory=set)
    judgements: int = 0  # current: the spec's, plus one per task.extended
    reached: int = 0  # steps reached
    answers: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.judgements = self.spec.judgements

    @property
    def rank(self) -> tuple[int, datetime, str]:
        return (-self.spec.priority, self.spec.at, self.spec.task)

    @property
    def most(self) -> int:
        return self.spec.max_judgements or self.spec.judgements

    def needs_more(self) -> bool:
        return self.state == "queued" and len(self.open) + len(self.submitters) < self.judgements

    def needs(self, reached: int | None = None) -> Needs:
        """The requirements after the first ``reached`` steps (default: those reached)."""
        spec = self.spec
        skill, fluency, education = spec.skill, spec.fluency, spec.education
        gate = spec.quality
        experts = tuple(spec.experts or ())
        for step in (spec.steps or ())[: self.reached if reached is None else reached]:
            if step.skill is not msgspec.UNSET:
                skill = step.skill
            if step.fluency is not msgspec.UNSET:
                fluency = step.fluency
            if step.education is not msgspec.UNSET:
                education = step.education
            if step.quality is not msgspec.UNSET:
                gate = step.quality
            if step.experts is not msgspec.UNSET:
                experts = tuple(step.experts)
        return Needs(
            skill,
            CEFR.index(fluency),
            EDU.index(education),
            gate,
            frozenset(experts) if experts else None,
        )

    def due_steps(self, clock: datetime) -> int:
        """How many steps the clock has reached: clock - at >= after_minutes."""
        waited = clock - self.spec.at
        return sum(
            1 for step in self.spec.steps or () if waited >= timedelta(minutes=step.after_minutes)
        )

    def share(self) -> tuple[int, float]:
        groups = Counter(answer for answer in self.answers if answer is not None)
        largest = max(groups.values(), default=0)
        return largest, largest / len(self.answers)


class Referee:
    """Checks one workspace's stream of (input, outputs) against rules 1 to 4."""

    def __init__(self, prior: float = 0.75, prior_reviews: float = 3.0) -> None:
        self.prior = prior
        self.prior_reviews = prior_reviews
        self.reviews: dict[tuple[str, str], list[float]] = {}  # (expert, domain) -> [n, sum]
        self.people: dict[str, Person] = {}
        self.work: dict[str, Work] = {}
        self.clock = datetime.min.replace(tzinfo=UTC)
        self.used: dict[tuple[str, tuple[int, int]], int] = {}
        self.leases: dict[tuple[str, str], datetime] = {}
        self.assigned = 0
        self.completed = 0
        self.extended = 0
        self.escalated = 0
        self.last_due = None

    # --- the rules ----------------------------------------------------------

    def language_level(self, person: Person, tag: str) -> int:
        tag = tag.lower()
        levels = [
            rank
            for own, rank in person.languages.items()
            if own == tag or own.startswith(tag + "-")
        ]
        return max(levels, default=-1)

    def record(self, name: str, domain: str) -> float:
        """The contract's quality record: (prior x n0 + sum) / (n0 + reviews)."""
        n, total = self.reviews.get((name, domain), (0, 0.0))
        if not n:
            return self.prior
        return (self.prior * self.prior_reviews + total) / (self.prior_reviews + n)

    def qualified(self, name: str, work: Work, needs: Needs | None = None) -> bool:
        """Rule 1 without availability: requirements (current by default) and exclusions."""
        person = self.people[name]
        spec = work.spec
        needs = needs or work.needs()
        if person.removed:
            return False
        if person.domains.get(spec.domain, 0) < needs.skill:
            return False
        if self.language_level(person, spec.language) < needs.fluency:
            return False
        if person.education < needs.education:
            return False
        if needs.allowed is not None and name not in needs.allowed:
            return False
        if needs.gate is not None and self.record(name, spec.domain) < needs.gate:
            return False
        if name in spec.exclude or name in work.tried:
            return False
        parent = self.work.get(spec.parent) if spec.parent else None
        return not (parent and (name in parent.submitters or name in parent.open))

    def has_room_for(self, name: str, work: Work) -> bool:
        """Availability and rule 2."""
        person = self.people[name]
        holding = sum(1 for w in self.work.values() if name in w.open)
        used = self.used.get((name, week_of(self.clock)), 0)
        return (
            person.status == "available"
            and not person.removed
            and holding < person.concurrency
            and used + work.spec.minutes <= person.minutes
        )

    def could_take_now(self, name: str, work: Work) -> bool:
        return self.qualified(name, work) and self.has_room_for(name, work)

    # --- folding ---------------------------------------------------------------

    def step(self, event: InputEvent, outputs: list[OutputEvent]) -> None:
        """Check what the engine wrote for one input event."""
        self.clock = max(self.clock, event.at)
        for out in outputs:
            assert out.cause == event.id and out.at == event.at
            assert out.workspace == event.workspace
        rejected = [o for o in outputs if isinstance(o, EventRejected)]
        assert len(rejected) <= 1
        self.check_order(outputs)
        self.last_due = None
        leading = 0
        while (
            leading < len(outputs)
            and isinstance(outputs[leading], TaskRequeued)
            and outputs[leading].reason == "expired"  # type: ignore[union-attr]
        ):
            self.output(outputs[leading])
            leading += 1
        self.expect_rejection(event, bool(rejected))
        if not rejected:
            self.input(event)
        for out in outputs[leading:]:
            self.output(out)
        self.after_step()

    def check_order(self, outputs: list[OutputEvent]) -> None:
        """Own outputs and ended leases, then escalations, then assignments."""
        phase = 0
        for out in outputs:
            if isinstance(out, TaskEscalated):
                assert phase <= 1, f"{out.task} escalated after an assignment of the moment"
                phase = 1
            elif isinstance(out, TaskAssigned):
                phase = 2
            elif not isinstance(out, TaskUnroutable):  # the staffing check runs in dispatch too
                assert phase == 0, f"{type(out).__name__} of {out.cause} comes after escalations"

    def expect_rejection(self, event: InputEvent, rejected: bool) -> None:
        """The engine refuses exactly the events the contract says it must."""
        if isinstance(event, TaskSubmitted | TaskDeclined):
            work = self.work.get(event.task)
            holds = work is not None and work.state == "queued" and event.expert in work.open
            assert rejected != holds, f"{event.type} {event.id}: holder={holds} rejected={rejected}"
        elif isinstance(event, TaskCreated):
            assert rejected == (event.task in self.work)
        elif isinstance(event, TaskCancelled):
            work = self.work.get(event.task)
            assert rejected == (work is None or work.state != "queued")
        elif isinstance(event, ExpertStatus | ExpertRemoved):
            person = self.people.get(event.expert)
            assert rejected == (person is None or person.removed)
        elif isinstance(event, TaskReviewed):
            work = self.work.get(event.task)
            valid = work is not None and event.expert in work.submitters
            valid = valid and event.reviewer != event.expert
            assert rejected == (not valid)
        else:
            assert not rejected

    def input(self, event: InputEvent) -> None:
        if isinstance(event, ExpertProfile):
            old = self.people.get(event.expert)
            self.people[event.expert] = Person(
                domains=dict(event.domains),
                languages={t.lower(): CEFR.index(level) for t, level in event.languages.items()},
                education=EDU.index(event.education),
                minutes=round(event.weekly_hours * 60),
                concurrency=event.concurrency,
                status=old.status if old and not old.removed else "offline",
            )
        elif isinstance(event, ExpertStatus):
            self.people[event.expert].status = event.status
        elif isinstance(event, ExpertRemoved):
            self.people[event.expert].removed = True
            self.people[event.expert].status = "offline"
        elif isinstance(event, TaskCreated):
            self.work[event.task] = Work(event)
        elif isinstance(event, TaskCancelled):
            self.work[event.task].state = "cancelled"
        elif isinstance(event, TaskSubmitted):
            work = self.work[event.task]
            del work.open[event.expert]
            del self.leases[(event.task, event.expert)]
            work.submitters.append(event.expert)
            work.answers.append(event.answer)
        elif isinstance(event, TaskReviewed):
            key = (event.expert, self.work[event.task].spec.domain)
            n, total = self.reviews.get(key, (0, 0.0))
            self.reviews[key] = [n + 1, total + event.score]  # in log order

    def output(self, out: OutputEvent) -> None:
        if isinstance(out, TaskAssigned):
            self.check_assignment(out)
        elif isinstance(out, TaskRequeued):
            work = self.work[out.task]
            until = self.leases.pop((out.task, out.expert))
            if out.reason == "expired":
                assert until <= self.clock, f"{out.task} expired early"
            assigned_at = work.open.pop(out.expert)
            key = (out.expert, week_of(assigned_at))
            self.used[key] -= work.spec.minutes
        elif isinstance(out, TaskCompleted):
            work = self.work[out.task]
            assert work.state == "queued", f"{out.task} completed twice or after cancel"
            assert len(work.submitters) == work.judgements
            assert not work.open
            if work.spec.agreement is not None:
                _, share = work.share()
                assert share >= work.spec.agreement or work.judgements == work.most, (
                    f"rule 3: {out.task} completed while its answers disagree"
                )
            work.state = "completed"
            self.completed += 1
        elif isinstance(out, TaskExtended):
            work = self.work[out.task]
            agreement = work.spec.agreement
            assert work.state == "queued" and not work.open
            assert len(work.submitters) == work.judgements
            _, share = work.share()
            assert agreement is not None and share < agreement, f"{out.task} extended needlessly"
            assert work.judgements < work.most, f"rule 3: {out.task} above max_judgements"
            assert out.judgements == work.judgements + 1 and out.agreement == share
            work.judgements += 1
            self.extended += 1
        elif isinstance(out, TaskEscalated):
            self.check_escalation(out)
        elif isinstance(out, TaskUnroutable):
            work = self.work[out.task]
            assert work.needs_more()
            for reached in range(work.reached, len(work.spec.steps or ()) + 1):
                needs = work.needs(reached)
                assert not any(
                    self.qualified(name, work, needs)
                    and self.people[name].minutes >= work.spec.minutes
                    for name in self.people
                ), f"{out.task} is routable at step {reached}"

    def check_escalation(self, out: TaskEscalated) -> None:
        """A step is reached once, in order, never before clock - at >= after_minutes."""
        work = self.work[out.task]
        assert work.state == "queued", f"{out.task} escalated when completed or cancelled"
        steps = work.spec.steps or ()
        assert out.step == work.reached + 1 <= len(steps), f"{out.task} step {out.step} out of turn"
        after = steps[out.step - 1].after_minutes
        due = work.spec.at + timedelta(minutes=after)
        assert self.clock >= due, f"{out.task} reached step {out.step} early"
        key = (due, out.task, out.step)
        assert self.last_due is None or self.last_due < key, "escalations out of order"
        self.last_due = key
        work.reached += 1
        needs = work.needs()
        got = out.requirements
        assert (got.skill, CEFR.index(got.fluency), EDU.index(got.education), got.quality) == (
            needs.skill,
            needs.fluency,
            needs.education,
            needs.gate,
        )
        assert (frozenset(got.experts) or None) == needs.allowed
        self.escalated += 1

    def check_assignment(self, out: TaskAssigned) -> None:
        work = self.work[out.task]
        name = out.expert
        assert work.needs_more(), f"rule 3: {out.task} needs no more assignments"
        assert self.qualified(name, work), f"rule 1: {name} may not take {out.task}"
        assert self.has_room_for(name, work), f"rule 1/2: {name} has no room for {out.task}"
        for other in self.work.values():
            if other is not work and other.needs_more() and other.rank < work.rank:
                assert not self.could_take_now(name, other), (
                    f"rule 4: {name} got {out.task} while {other.spec.task} ranks first"
                )
        assert out.lease_until > self.clock
        needs = work.needs()
        if needs.gate is None:
            assert out.record is None, f"{out.task}: a record without a gate"
        else:
            assert out.record == self.record(name, work.spec.domain), f"{out.task}: wrong record"
            assert out.record >= needs.gate
        if work.reached:
            assert any(f"step {work.reached}" in reason for reason in out.reasons)
        work.open[name] = self.clock
        self.leases[(out.task, name)] = out.lease_until
        work.tried.add(name)
        key = (name, week_of(self.clock))
        self.used[key] = self.used.get(key, 0) + work.spec.minutes
        self.assigned += 1

    def after_step(self) -> None:
        for (task, name), until in self.leases.items():
            assert until > self.clock, f"lease of {name} on {task} outlived its end"
        for work in self.work.values():
            if work.state == "queued":
                assert work.reached == work.due_steps(self.clock), (
                    f"{work.spec.task} has reached {work.reached} steps, due "
                    f"{work.due_steps(self.clock)}"
                )
                assert work.judgements <= work.most
            if work.state == "queued":
                assert len(work.submitters) < work.judgements, (
                    f"rule 3: {work.spec.task} has all judgements but is not completed"
                )
            if not work.needs_more():
                continue
            for name in self.people:
                assert not self.could_take_now(name, work), (
                    f"rule 4: {work.spec.task} held back while {name} could take it"
                )


def lease_ok(out: TaskAssigned, clock: datetime, longest: timedelta) -> bool:
    """A lease ends after the assignment and within the policy's longest lease."""
    return clock < out.lease_until <= clock + longest
