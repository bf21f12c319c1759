"""Views of single things: a task's history, an expert's profile and record, the queue.

The report (:class:`Projections`) aggregates; an API also needs to look one
thing up. :class:`Views` folds the same journal, in the same order, into
per-task and per-expert records: the events of each task, the latest
profile and presence of each expert with their counts, and the queued tasks
in the router's queue order (priority, then age, then id). Like the
report, it folds an input only once no ``event.rejected`` of it followed,
and time comes only from the events' ``at``.

Nothing here carries task content: events carry at most a ``ref`` into the
client's store, and that is what the views hand out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final

import msgspec

from events import (
    AnyEvent,
    EventRejected,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskDeclined,
    TaskExtended,
    TaskRequeued,
    TaskReviewed,
    TaskSubmitted,
    TaskUnroutable,
    from_micros,
    normalize,
    to_micros,
)

__all__ = ["ExpertView", "QueuedTask", "TaskRow", "Views"]

_OPEN: Final = "open"


class QueuedTask(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One task waiting for an assignment; ``position`` is 1 for the head of the queue."""

    position: int
    task: str
    kind: str
    domain: str
    language: str
    priority: int
    minutes: int
    judgements: int
    submitted: int
    open: int
    unroutable: bool
    created: datetime
    waiting_seconds: float
    due: datetime | None


class TaskRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A task as one row: its requirements, state and first assignment."""

    task: str
    kind: str
    domain: str
    language: str
    minutes: int
    priority: int
    judgements: int
    state: str
    submitted: int
    assignments: int
    created: datetime
    first_assigned: datetime | None
    wait_seconds: float | None
    ended: datetime | None
    ref: str | None


class ExpertView(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An expert's latest profile, presence, open work and record over the journal."""

    expert: str
    domains: dict[str, int]
    languages: dict[str, str]
    education: str
    weekly_hours: float
    concurrency: int
    status: str
    removed: bool
    open_tasks: list[str]
    assigned: int
    submitted: int
    declined: int
    requeued_by_reason: dict[str, int]
    handled_seconds: int
    reviews: int
    passed: int
    mean_score: float | None
    last_seen: datetime | None


class _Task(msgspec.Struct, gc=False):
    created: TaskCreated
    judgements: int  # the current number: adaptive overlap raises it
    state: str = _OPEN
    submitted: int = 0
    assignments: int = 0
    unroutable: bool = False
    first_assigned: int | None = None
    ended: int | None = None
    open: list[str] = msgspec.field(default_factory=list)
    events: list[AnyEvent] = msgspec.field(default_factory=list)

    def waiting(self) -> bool:
        return self.state == _OPEN and self.submitted + len(self.open) < self.judgements


class _Expert(msgspec.Struct, gc=False):
    profile: ExpertProfile
    status: str = "offline"
    removed: bool = False
    open: list[str] = msgspec.field(default_factory=list)
    assigned: int = 0
    submitted: int = 0
    declined: int = 0
    requeued: dict[str, int] = msgspec.field(default_factory=dict)
    seconds: int = 0
    reviews: int = 0
    passed: int = 0
    score: float = 0.0
    last_seen: int | None = None


class _Workspace(msgspec.Struct, gc=False):
    clock: int = 0
    tasks: dict[str, _Task] = msgspec.field(default_factory=dict)
    experts: dict[str, _Expert] = msgspec.field(default_factory=dict)


class Views:
    """Folds the journal into look-ups of tasks, experts and the queue."""

    def __init__(self) -> None:
        self._workspaces: dict[str, _Workspace] = {}
        self._pending: AnyEvent | None = None

    def apply(self, event: AnyEvent) -> None:
        """Fold one event of the journal, input or output, in journal order."""
        ws = self._workspaces.get(event.workspace)
        if ws is None:
            ws = self._workspaces[event.workspace] = _Workspace()
        ws.clock = max(ws.clock, to_micros(event.at))
        if isinstance(event, EventRejected):
            pending = self._pending
            if pending is not None and pending.id == event.event:
                self._pending = None
                _history(ws, pending, event)
            return
        if not isinstance(event, TaskCreated):
            _history(ws, event, event)
        if isinstance(event, _OUTPUTS):
            _apply(ws, event)
            return
        self._settle()
        if isinstance(event, ExpertProfile | TaskCreated):
            _apply(ws, event)
        else:
            self._pending = event

    def _settle(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            _apply(self._workspaces[pending.workspace], pending)

    def workspaces(self) -> list[str]:
        """The workspaces seen so far, sorted."""
        return sorted(self._workspaces)

    def history(self, workspace: str, task: str) -> list[AnyEvent] | None:
        """The events of one task in journal order (a refused input with its rejection)."""
        self._settle()
        record = self._workspace(workspace).tasks.get(task)
        return None if record is None else list(record.events)

    def queue(self, workspace: str, limit: int | None = None) -> list[QueuedTask]:
        """The waiting tasks of a workspace in queue order: priority, then age, then id."""
        self._settle()
        ws = self._workspace(workspace)
        waiting = sorted(
            (t for t in ws.tasks.values() if t.waiting()),
            key=lambda t: (-t.created.priority, to_micros(t.created.at), t.created.task),
        )
        return [
            _queued(position, task, ws.clock)
            for position, task in enumerate(waiting[:limit], start=1)
        ]

    def tasks(self, workspace: str) -> Iterator[TaskRow]:
        """Every task of a workspace as a row, in creation order."""
        self._settle()
        for task in self._workspace(workspace).tasks.values():
            yield _row(task)

    def expert(self, workspace: str, expert: str) -> ExpertView | None:
        """One expert's profile, presence and record; ``None`` if never profiled."""
        self._settle()
        record = self._workspace(workspace).experts.get(expert)
        return None if record is None else _expert_view(expert, record)

    def experts(self, workspace: str) -> Iterator[ExpertView]:
        """Every expert of a workspace, by id."""
        self._settle()
        for name, record in sorted(self._workspace(workspace).experts.items()):
            yield _expert_view(name, record)

    def _workspace(self, workspace: str) -> _Workspace:
        return self._workspaces.get(workspace) or _Workspace()


_OUTPUTS: Final = (TaskAssigned, TaskRequeued, TaskCompleted, TaskUnroutable, TaskExtended)


def _apply(ws: _Workspace, event: AnyEvent) -> None:
    at = to_micros(event.at)
    if isinstance(event, ExpertProfile):
        known = ws.experts.get(event.expert)
        if known is None:
            ws.experts[event.expert] = _Expert(event)
        else:
            known.profile = event
            if known.removed:
                known.removed, known.status = False, "offline"
        return
    if isinstance(event, ExpertStatus | ExpertRemoved):
        expert = ws.experts.get(event.expert)
        if expert is not None:
            if isinstance(event, ExpertRemoved):
                expert.removed, expert.status = True, "offline"
            elif not expert.removed:
                expert.status = event.status
            expert.last_seen = at
        return
    if isinstance(event, TaskCreated):
        existing = ws.tasks.get(event.task)
        if existing is None:
            ws.tasks[event.task] = _Task(event, event.judgements, events=[event])
        else:
            existing.events.append(event)  # refused: its rejection follows
        return
    task = ws.tasks.get(getattr(event, "task", ""))
    if task is not None:
        _on_task_event(ws, task, event, at)


def _history(ws: _Workspace, about: AnyEvent, event: AnyEvent) -> None:
    """Keep ``event`` in the history of the task ``about`` names, if it names one."""
    task = ws.tasks.get(getattr(about, "task", ""))
    if task is not None:
        task.events.append(event)


def _on_task_event(ws: _Workspace, task: _Task, event: Any, at: int) -> None:
    expert = ws.experts.get(getattr(event, "expert", ""))
    if isinstance(event, TaskAssigned):
        task.assignments += 1
        task.unroutable = False
        task.open.append(event.expert)
        if task.first_assigned is None:
            task.first_assigned = at
        if expert is not None:
            expert.assigned += 1
            expert.open.append(event.task)
    elif isinstance(event, TaskRequeued):
        _close(task, expert, event.expert, event.task)
        if expert is not None:
            expert.requeued[event.reason] = expert.requeued.get(event.reason, 0) + 1
    elif isinstance(event, TaskSubmitted):
        task.submitted += 1
        _close(task, expert, event.expert, event.task)
        if expert is not None:
            expert.submitted += 1
            expert.seconds += event.seconds
            expert.last_seen = at
    else:
        _on_outcome(task, expert, event, at)


def _on_outcome(task: _Task, expert: _Expert | None, event: Any, at: int) -> None:
    """Reviews, declines, completions, cancellations and flags: the events that end or judge."""
    if isinstance(event, TaskReviewed):
        if expert is not None:
            expert.reviews += 1
            expert.passed += event.passed
            expert.score += event.score
    elif isinstance(event, TaskDeclined):
        if expert is not None:
            expert.declined += 1
            expert.last_seen = at
    elif isinstance(event, TaskCompleted):
        task.state, task.ended = "completed", at
    elif isinstance(event, TaskCancelled):
        if task.state == _OPEN:
            task.state, task.ended = "cancelled", at
    elif isinstance(event, TaskUnroutable):
        task.unroutable = True
    elif isinstance(event, TaskExtended):
        task.judgements = event.judgements


def _close(task: _Task, expert: _Expert | None, name: str, task_id: str) -> None:
    if name in task.open:
        task.open.remove(name)
    if expert is not None and task_id in expert.open:
        expert.open.remove(task_id)


def _queued(position: int, task: _Task, clock: int) -> QueuedTask:
    created = task.created
    return QueuedTask(
        position=position,
        task=created.task,
        kind=created.kind,
        domain=created.domain,
        language=normalize(created.language),
        priority=created.priority,
        minutes=created.minutes,
        judgements=task.judgements,
        submitted=task.submitted,
        open=len(task.open),
        unroutable=task.unroutable,
        created=created.at,
        waiting_seconds=round((clock - to_micros(created.at)) / 1e6, 3),
        due=created.due,
    )


def _row(task: _Task) -> TaskRow:
    created = task.created
    start = to_micros(created.at)
    return TaskRow(
        task=created.task,
        kind=created.kind,
        domain=created.domain,
        language=normalize(created.language),
        minutes=created.minutes,
        priority=created.priority,
        judgements=task.judgements,
        state=task.state,
        submitted=task.submitted,
        assignments=task.assignments,
        created=created.at,
        first_assigned=None if task.first_assigned is None else from_micros(task.first_assigned),
        wait_seconds=None
        if task.first_assigned is None
        else round((task.first_assigned - start) / 1e6, 3),
        ended=None if task.ended is None else from_micros(task.ended),
        ref=created.ref,
    )


def _expert_view(name: str, record: _Expert) -> ExpertView:
    profile = record.profile
    return ExpertView(
        expert=name,
        domains=dict(sorted(profile.domains.items())),
        languages=dict(sorted(profile.languages.items())),
        education=profile.education,
        weekly_hours=profile.weekly_hours,
        concurrency=profile.concurrency,
        status=record.status,
        removed=record.removed,
        open_tasks=list(record.open),
        assigned=record.assigned,
        submitted=record.submitted,
        declined=record.declined,
        requeued_by_reason=dict(sorted(record.requeued.items())),
        handled_seconds=record.seconds,
        reviews=record.reviews,
        passed=record.passed,
        mean_score=round(record.score / record.reviews, 3) if record.reviews else None,
        last_seen=None if record.last_seen is None else from_micros(record.last_seen),
    )
