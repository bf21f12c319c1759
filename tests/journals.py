"""Journals for the projections' tests: written by hand, or by the real engine.

``Log`` writes a journal as a test states it, each input followed by the
outputs the test says the engine wrote for it, so that every metric can be
checked against numbers worked out on paper. ``journal`` has the real
engine write the outputs instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from events import (
    AnyEvent,
    ClockTick,
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
from projections import Projections, WorkspaceReport
from router import Engine

__all__ = ["T0", "WS", "Log", "at", "full_log", "journal", "staffed"]

WS = "acme"

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday: ISO week 2026-W45


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Log:
    """A journal written by hand: each input, then the outputs the test says it caused."""

    def __init__(self, workspace: str = WS) -> None:
        self.workspace = workspace
        self.events: list[AnyEvent] = []
        self.cause: InputEvent | None = None
        self.outputs = 0

    def _input(self, event: InputEvent) -> InputEvent:
        self.events.append(event)
        self.cause = event
        self.outputs = 0
        return event

    def _next(self) -> tuple[str, datetime, str, str]:
        assert self.cause is not None
        self.outputs += 1
        cause = self.cause
        return f"{cause.id}/{self.outputs}", cause.at, cause.workspace, cause.id

    # --- inputs ---------------------------------------------------------------

    def profile(
        self,
        minute: float,
        expert: str,
        *,
        domains: dict[str, int] | None = None,
        languages: dict[str, Any] | None = None,
        education: Any = "bachelor",
        weekly_hours: float = 20.0,
    ) -> Log:
        self._input(
            ExpertProfile(
                f"p-{expert}-{len(self.events)}",
                at(minute),
                self.workspace,
                expert=expert,
                domains=domains or {"stem": 3},
                languages=languages or {"en": "native"},
                education=education,
                weekly_hours=weekly_hours,
            )
        )
        return self

    def status(self, minute: float, expert: str, status: Any = "available") -> Log:
        self._input(
            ExpertStatus(
                f"s-{len(self.events)}", at(minute), self.workspace, expert=expert, status=status
            )
        )
        return self

    def removed(self, minute: float, expert: str) -> Log:
        self._input(
            ExpertRemoved(f"r-{len(self.events)}", at(minute), self.workspace, expert=expert)
        )
        return self

    def created(
        self,
        minute: float,
        task: str,
        *,
        kind: str = "write",
        domain: str = "stem",
        language: str = "en",
        minutes: int = 60,
        judgements: int = 1,
    ) -> Log:
        self._input(
            TaskCreated(
                f"c-{len(self.events)}",
                at(minute),
                self.workspace,
                task=task,
                kind=kind,
                domain=domain,
                language=language,
                minutes=minutes,
                judgements=judgements,
            )
        )
        return self

    def cancelled(self, minute: float, task: str) -> Log:
        self._input(TaskCancelled(f"x-{len(self.events)}", at(minute), self.workspace, task=task))
        return self

    def declined(self, minute: float, task: str, expert: str) -> Log:
        self._input(
            TaskDeclined(
                f"d-{len(self.events)}", at(minute), self.workspace, task=task, expert=expert
            )
        )
        return self

    def submitted(
        self, minute: float, task: str, expert: str, seconds: int = 600, ref: str | None = None
    ) -> Log:
        self._input(
            TaskSubmitted(
                f"u-{len(self.events)}",
                at(minute),
                self.workspace,
                task=task,
                expert=expert,
                seconds=seconds,
                ref=ref,
            )
        )
        return self

    def reviewed(
        self,
        minute: float,
        task: str,
        expert: str,
        score: float,
        *,
        passed: bool = True,
        errors: tuple[str, ...] = (),
        reviewer: str = "qa",
    ) -> Log:
        self._input(
            TaskReviewed(
                f"v-{len(self.events)}",
                at(minute),
                self.workspace,
                task=task,
                expert=expert,
                reviewer=reviewer,
                score=score,
                passed=passed,
                errors=errors,
            )
        )
        return self

    def tick(self, minute: float) -> Log:
        self._input(ClockTick(f"k-{len(self.events)}", at(minute), self.workspace))
        return self

    # --- outputs --------------------------------------------------------------

    def assigned(self, task: str, expert: str, attempt: int = 1) -> Log:
        eid, when, ws, cause = self._next()
        self.events.append(
            TaskAssigned(
                eid,
                when,
                ws,
                cause=cause,
                task=task,
                expert=expert,
                attempt=attempt,
                lease_until=when + timedelta(hours=3),
                score=0.5,
                reasons=("test",),
            )
        )
        return self

    def requeued(self, task: str, expert: str, reason: Any) -> Log:
        eid, when, ws, cause = self._next()
        self.events.append(
            TaskRequeued(eid, when, ws, cause=cause, task=task, expert=expert, reason=reason)
        )
        return self

    def completed(self, task: str) -> Log:
        eid, when, ws, cause = self._next()
        self.events.append(TaskCompleted(eid, when, ws, cause=cause, task=task))
        return self

    def unroutable(self, task: str) -> Log:
        eid, when, ws, cause = self._next()
        self.events.append(
            TaskUnroutable(eid, when, ws, cause=cause, task=task, reason="no expert")
        )
        return self

    def rejected(self, reason: str) -> Log:
        eid, when, ws, cause = self._next()
        self.events.append(EventRejected(eid, when, ws, cause=cause, event=cause, reason=reason))
        return self

    # --- folding --------------------------------------------------------------

    def fold(self, **options: Any) -> Projections:
        folded = Projections(**options)
        for event in self.events:
            folded.apply(event)
        return folded

    def report(self, **options: Any) -> WorkspaceReport:
        return self.fold(**options).report().workspaces[self.workspace]


def staffed(log: Log, *experts: str, minute: float = 0) -> Log:
    for expert in experts:
        log.profile(minute, expert).status(minute, expert)
    return log


def full_log() -> Log:
    log = staffed(Log(), "ana", "bo", "chen")
    log.created(1, "t1", kind="write").assigned("t1", "ana")
    log.created(2, "t2", kind="rate", language="de").unroutable("t2")
    log.created(3, "t3", kind="audit", judgements=2).assigned("t3", "bo").assigned("t3", "chen")
    log.submitted(4, "t1", "ana", ref="r1").completed("t1")
    log.reviewed(5, "t1", "ana", 0.4, passed=False, errors=("factual",))
    log.declined(6, "t3", "bo").requeued("t3", "bo", "declined")
    log.submitted(7, "t9", "bo").rejected("unknown task 't9'")
    return log


def journal(inputs: Iterable[InputEvent], engine: Engine) -> list[AnyEvent]:
    out: list[AnyEvent] = []
    for event in inputs:
        out.append(event)
        outputs: list[OutputEvent] = engine.apply(event)
        out.extend(outputs)
    return out
