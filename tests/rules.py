"""An independent referee of the contract's rules of routing (rules 1 to 4).

It shares no code with ``router``: it keeps its own plain model of experts,
tasks and assignments, fed with each input event followed by the outputs the
engine wrote for it, and raises AssertionError at the first broken rule.
Slow and simple on purpose: it is the specification, executable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

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


@dataclass
class Work:
    spec: TaskCreated
    state: str = "queued"  # queued, completed, cancelled
    open: dict[str, datetime] = field(default_factory=dict)  # expert -> assigned at
    submitters: list[str] = field(default_factory=list)
    tried: set[str] = field(default_factory=set)

    @property
    def rank(self) -> tuple[int, datetime, str]:
        return (-self.spec.priority, self.spec.at, self.spec.task)

    def needs_more(self) -> bool:
        return (
            self.state == "queued" and len(self.open) + len(self.submitters) < self.spec.judgements
        )


class Referee:
    """Checks one workspace's stream of (input, outputs) against rules 1 to 4."""

    def __init__(self) -> None:
        self.people: dict[str, Person] = {}
        self.work: dict[str, Work] = {}
        self.clock = datetime.min.replace(tzinfo=UTC)
        self.used: dict[tuple[str, tuple[int, int]], int] = {}
        self.leases: dict[tuple[str, str], datetime] = {}
        self.assigned = 0
        self.completed = 0

    # --- the rules ----------------------------------------------------------

    def language_level(self, person: Person, tag: str) -> int:
        tag = tag.lower()
        levels = [
            rank
            for own, rank in person.languages.items()
            if own == tag or own.startswith(tag + "-")
        ]
        return max(levels, default=-1)

    def qualified(self, name: str, work: Work) -> bool:
        """Rule 1 without availability: requirements and personal exclusions."""
        person = self.people[name]
        spec = work.spec
        if person.removed:
            return False
        if person.domains.get(spec.domain, 0) < spec.skill:
            return False
        if self.language_level(person, spec.language) < CEFR.index(spec.fluency):
            return False
        if person.education < EDU.index(spec.education):
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
            assert len(work.submitters) == work.spec.judgements
            assert not work.open
            work.state = "completed"
            self.completed += 1
        elif isinstance(out, TaskUnroutable):
            work = self.work[out.task]
            assert work.needs_more()
            assert not any(
                self.qualified(name, work) and self.people[name].minutes >= work.spec.minutes
                for name in self.people
            ), f"{out.task} is routable"

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
                assert len(work.submitters) < work.spec.judgements, (
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
