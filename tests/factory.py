"""Terse builders of contract events for tests, with ids and times that count up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from events import (
    ClockTick,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    InputEvent,
    OutputEvent,
    TaskCancelled,
    TaskCreated,
    TaskDeclined,
    TaskReviewed,
    TaskSubmitted,
    type_name,
)
from router import Engine, Policy

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class World:
    """An engine, a clock that only moves when told, and builders for one workspace."""

    def __init__(self, policy: Policy | None = None, workspace: str = "w") -> None:
        self.engine = Engine(policy) if policy else Engine()
        self.workspace = workspace
        self.at = MONDAY
        self._ids = count(1)
        self.outputs: list[OutputEvent] = []

    def later(self, **delta: float) -> World:
        self.at += timedelta(**delta)
        return self

    def send(self, event: InputEvent) -> list[OutputEvent]:
        out = self.engine.apply(event)
        self.outputs.extend(out)
        return out

    def _base(self) -> tuple[str, datetime, str]:
        return f"ev-{next(self._ids)}", self.at, self.workspace

    def expert(
        self,
        name: str,
        *,
        domains: dict[str, int] | None = None,
        languages: dict[str, str] | None = None,
        education: str = "master",
        hours: float = 20,
        concurrency: int = 1,
        available: bool = True,
    ) -> list[OutputEvent]:
        out = self.send(
            ExpertProfile(
                *self._base(),
                expert=name,
                domains=domains or {"stem": 3},
                languages=languages or {"en": "native"},
                education=education,  # type: ignore[arg-type]
                weekly_hours=hours,
                concurrency=concurrency,
            )
        )
        if available:
            out += self.status(name, "available")
        return out

    def status(self, name: str, status: str) -> list[OutputEvent]:
        return self.send(ExpertStatus(*self._base(), expert=name, status=status))  # type: ignore[arg-type]

    def remove(self, name: str) -> list[OutputEvent]:
        return self.send(ExpertRemoved(*self._base(), expert=name))

    def task(self, task: str, **fields: Any) -> list[OutputEvent]:
        spec: dict[str, Any] = {"kind": "write", "domain": "stem", "language": "en", "minutes": 30}
        spec.update(fields)
        return self.send(TaskCreated(*self._base(), task=task, **spec))

    def cancel(self, task: str) -> list[OutputEvent]:
        return self.send(TaskCancelled(*self._base(), task=task))

    def decline(self, task: str, name: str) -> list[OutputEvent]:
        return self.send(TaskDeclined(*self._base(), task=task, expert=name))

    def submit(self, task: str, name: str, seconds: int = 600) -> list[OutputEvent]:
        return self.send(TaskSubmitted(*self._base(), task=task, expert=name, seconds=seconds))

    def review(self, task: str, name: str, reviewer: str, score: float) -> list[OutputEvent]:
        return self.send(
            TaskReviewed(
                *self._base(),
                task=task,
                expert=name,
                reviewer=reviewer,
                score=score,
                passed=score >= 0.7,
            )
        )

    def tick(self) -> list[OutputEvent]:
        return self.send(ClockTick(*self._base()))


def kinds(outputs: list[OutputEvent]) -> list[str]:
    """The types of outputs, in order."""
    return [type_name(o) for o in outputs]


def assigned(outputs: list[OutputEvent]) -> list[tuple[str, str]]:
    """(task, expert) of every task.assigned, in order."""
    return [(o.task, o.expert) for o in outputs if type_name(o) == "task.assigned"]  # type: ignore[union-attr]
