"""Time series of a workspace: the backlog per hour and the flow of work per day.

:class:`Series` folds the journal (in its order, like :class:`Projections`)
into per-day tallies (UTC days by the events' ``at``: tasks created and
completed, hours of work submitted, handling time by kind, reviews, first
assignments and their waits) and the backlog at the end of every hour.
The dashboard draws them and the objectives compare windows of them.
Nothing reads the wall clock: "now" is the workspace clock, the latest
``at`` seen.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

import msgspec

from events import (
    AnyEvent,
    EventRejected,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskRequeued,
    TaskReviewed,
    TaskSubmitted,
    TaskUnroutable,
    to_micros,
)

__all__ = ["BacklogPoint", "Day", "KindDay", "Series", "Timeline", "Window", "percentile"]

_HOUR: Final = 3_600_000_000
_DAY: Final = 24 * _HOUR
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def percentile(samples: list[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0-100) of ``samples``; ``None`` when empty."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * q // 100))
    return float(ordered[int(rank) - 1])


class KindDay(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Submissions of one kind on one day and their handling time."""

    submissions: int
    seconds: int


class Day(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One UTC day of a workspace: what came in, what got done, how well."""

    day: date
    created: int
    completed: int
    cancelled: int
    submissions: int
    handled_seconds: int
    reviews: int
    passed: int
    score_sum: float
    errors: dict[str, int]
    first_assigned: int
    wait_p50_seconds: float | None
    wait_p90_seconds: float | None
    by_kind: dict[str, KindDay]


class BacklogPoint(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The tasks waiting for an assignment, and those being worked on, at the end of an hour."""

    at: datetime
    queued: int
    in_progress: int


class Timeline(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The series of one workspace up to its clock."""

    clock: datetime | None
    days: list[Day]
    backlog: list[BacklogPoint]


class _Day:
    __slots__ = (
        "by_kind",
        "cancelled",
        "completed",
        "created",
        "errors",
        "passed",
        "reviews",
        "score",
        "seconds",
        "submissions",
        "waits",
    )

    def __init__(self) -> None:
        self.created = self.completed = self.cancelled = 0
        self.submissions = self.seconds = self.reviews = self.passed = 0
        self.score = 0.0
        self.errors: dict[str, int] = {}
        self.waits: list[float] = []
        self.by_kind: dict[str, list[int]] = {}


class _Task:
    __slots__ = ("assigned", "created", "judgements", "kind", "open", "state", "submitted")

    def __init__(self, kind: str, judgements: int, created: int) -> None:
        self.kind = kind
        self.judgements = judgements
        self.created = created
        self.open = self.submitted = 0
        self.assigned = False
        self.state = 0  # 0 open, 1 ended

    def waiting(self) -> bool:
        return self.state == 0 and self.submitted + self.open < self.judgements


class _Workspace:
    def __init__(self) -> None:
        self.clock = 0
        self.days: dict[int, _Day] = {}
        self.tasks: dict[str, _Task] = {}
        self.queued = 0
        self.in_progress = 0
        self.hour: int | None = None
        self.backlog: list[tuple[int, int, int]] = []

    def day(self, at: int) -> _Day:
        index = at // _DAY
        tally = self.days.get(index)
        if tally is None:
            tally = self.days[index] = _Day()
        return tally

    def tick(self, at: int) -> None:
        """Close the hours before ``at``: each ends with the backlog as it stands."""
        hour = at // _HOUR
        if self.hour is None:
            self.hour = hour
        while self.hour < hour:
            self.backlog.append((self.hour, self.queued, self.in_progress))
            self.hour += 1

    def change(self, task: _Task, step: _Step) -> None:
        """Apply ``step`` to ``task``, keeping the backlog counts in line."""
        before = (task.waiting(), task.state == 0 and not task.waiting())
        step(task)
        after = (task.waiting(), task.state == 0 and not task.waiting())
        self.queued += after[0] - before[0]
        self.in_progress += after[1] - before[1]


class _Step:
    def __init__(self, field: str, delta: int) -> None:
        self.field, self.delta = field, delta

    def __call__(self, task: _Task) -> None:
        setattr(task, self.field, getattr(task, self.field) + self.delta)


_ASSIGN: Final = _Step("open", 1)
_RELEASE: Final = _Step("open", -1)
_SUBMIT: Final = _Step("submitted", 1)
_END: Final = _Step("state", 1)


class Window(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The flow of work over whole UTC days ``[start, end)``: totals, rates and percentiles."""

    start: date
    end: date
    days: int
    created: int
    completed: int
    hours: float
    submissions: int
    aht_seconds: float | None
    aht_by_kind: dict[str, float]
    reviews: int
    pass_rate: float | None
    mean_score: float | None
    first_assigned: int
    wait_p90_seconds: float | None
    errors: dict[str, int]


_OUTPUTS: Final = (TaskAssigned, TaskRequeued, TaskCompleted, TaskUnroutable, EventRejected)


class Series:
    """Folds the journal into a :class:`Timeline` per workspace."""

    def __init__(self) -> None:
        self._workspaces: dict[str, _Workspace] = {}
        self._pending: AnyEvent | None = None

    def apply(self, event: AnyEvent) -> None:
        """Fold one event of the journal, input or output, in journal order."""
        ws = self._workspaces.get(event.workspace)
        if ws is None:
            ws = self._workspaces[event.workspace] = _Workspace()
        at = to_micros(event.at)
        output = isinstance(event, _OUTPUTS)
        if not output:
            self._settle()
        if at > ws.clock:
            ws.tick(at)
            ws.clock = at
        if isinstance(event, EventRejected):
            if self._pending is not None and self._pending.id == event.event:
                self._pending = None
            return
        if output:
            _output(ws, event, at)
            return
        if isinstance(event, TaskCreated):
            if event.task not in ws.tasks:
                ws.tasks[event.task] = task = _Task(event.kind, event.judgements, at)
                ws.queued += task.waiting()
                ws.day(at).created += 1
        elif isinstance(event, TaskCancelled | TaskSubmitted | TaskReviewed):
            self._pending = event

    def _settle(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            ws = self._workspaces[pending.workspace]
            _input(ws, pending, to_micros(pending.at))

    def timeline(self, workspace: str) -> Timeline:
        """The days and the hourly backlog of ``workspace`` up to its clock."""
        self._settle()
        ws = self._workspaces.get(workspace)
        if ws is None:
            return Timeline(clock=None, days=[], backlog=[])
        points = [*ws.backlog]
        if ws.hour is not None:
            points.append((ws.hour, ws.queued, ws.in_progress))
        return Timeline(
            clock=_EPOCH + timedelta(microseconds=ws.clock),
            days=[_day(index, tally) for index, tally in sorted(ws.days.items())],
            backlog=[
                BacklogPoint(
                    at=_EPOCH + timedelta(microseconds=(hour + 1) * _HOUR),
                    queued=queued,
                    in_progress=busy,
                )
                for hour, queued, busy in points
            ],
        )

    def window(self, workspace: str, start: date, end: date) -> Window:
        """Totals of the days from ``start`` (included) to ``end`` (excluded)."""
        self._settle()
        ws = self._workspaces.get(workspace) or _Workspace()
        first, last = (start - _EPOCH.date()).days, (end - _EPOCH.date()).days
        tallies = [tally for index, tally in ws.days.items() if first <= index < last]
        submissions = sum(t.submissions for t in tallies)
        seconds = sum(t.seconds for t in tallies)
        reviews = sum(t.reviews for t in tallies)
        kinds: dict[str, list[int]] = {}
        errors: dict[str, int] = {}
        waits: list[float] = []
        for tally in tallies:
            waits.extend(tally.waits)
            for kind, (count, spent) in tally.by_kind.items():
                total = kinds.setdefault(kind, [0, 0])
                total[0] += count
                total[1] += spent
            for error, count in tally.errors.items():
                errors[error] = errors.get(error, 0) + count
        return Window(
            start=start,
            end=end,
            days=last - first,
            created=sum(t.created for t in tallies),
            completed=sum(t.completed for t in tallies),
            hours=round(seconds / 3600, 3),
            submissions=submissions,
            aht_seconds=round(seconds / submissions, 3) if submissions else None,
            aht_by_kind={
                kind: round(spent / count, 3) for kind, (count, spent) in sorted(kinds.items())
            },
            reviews=reviews,
            pass_rate=round(sum(t.passed for t in tallies) / reviews, 3) if reviews else None,
            mean_score=round(sum(t.score for t in tallies) / reviews, 3) if reviews else None,
            first_assigned=len(waits),
            wait_p90_seconds=percentile(waits, 90),
            errors=dict(sorted(errors.items())),
        )


def _output(ws: _Workspace, event: AnyEvent, at: int) -> None:
    task = ws.tasks.get(getattr(event, "task", ""))
    if task is None:
        return
    if isinstance(event, TaskAssigned):
        if not task.assigned:
            task.assigned = True
            ws.day(at).waits.append((at - task.created) / 1e6)
        ws.change(task, _ASSIGN)
    elif isinstance(event, TaskRequeued):
        ws.change(task, _RELEASE)
    elif isinstance(event, TaskCompleted) and task.state == 0:
        ws.change(task, _END)
        ws.day(at).completed += 1


def _input(ws: _Workspace, event: AnyEvent, at: int) -> None:
    tally = ws.day(at)
    if isinstance(event, TaskSubmitted):
        tally.submissions += 1
        tally.seconds += event.seconds
        task = ws.tasks.get(event.task)
        if task is not None:
            kind = tally.by_kind.setdefault(task.kind, [0, 0])
            kind[0] += 1
            kind[1] += event.seconds
            if task.open > 0:
                ws.change(task, _RELEASE)
            ws.change(task, _SUBMIT)
    elif isinstance(event, TaskReviewed):
        tally.reviews += 1
        tally.passed += event.passed
        tally.score += event.score
        for error in event.errors:
            tally.errors[error] = tally.errors.get(error, 0) + 1
    elif isinstance(event, TaskCancelled):
        task = ws.tasks.get(event.task)
        if task is not None and task.state == 0:
            ws.change(task, _END)
            tally.cancelled += 1


def _day(index: int, tally: _Day) -> Day:
    return Day(
        day=(_EPOCH + timedelta(days=index)).date(),
        created=tally.created,
        completed=tally.completed,
        cancelled=tally.cancelled,
        submissions=tally.submissions,
        handled_seconds=tally.seconds,
        reviews=tally.reviews,
        passed=tally.passed,
        score_sum=round(tally.score, 3),
        errors=dict(sorted(tally.errors.items())),
        first_assigned=len(tally.waits),
        wait_p50_seconds=percentile(tally.waits, 50),
        wait_p90_seconds=percentile(tally.waits, 90),
        by_kind={
            kind: KindDay(submissions=count, seconds=seconds)
            for kind, (count, seconds) in sorted(tally.by_kind.items())
        },
    )
