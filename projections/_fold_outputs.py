"""The fold of the engine's outputs: what routing did, never re-derived.

Assignments, requeues, completions and flags, and the v1.1 ones:
escalations to a task's next requirement step and extensions of adaptive
overlap. Each handler takes the fold, the event's workspace, the event and
its instant in microseconds, and is called by :meth:`Projections.apply`
through its dispatch table (in ``_fold``), which also keeps the one output
tied to the pending input, ``event.rejected``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from events import (
    TaskAssigned,
    TaskCompleted,
    TaskEscalated,
    TaskExtended,
    TaskRequeued,
    TaskUnroutable,
)

from ._state import COMPLETED, Workspace, samples_of

if TYPE_CHECKING:
    from projections import Projections

__all__ = [
    "on_assigned",
    "on_completed",
    "on_escalated",
    "on_extended",
    "on_requeued",
    "on_unroutable",
]


def on_assigned(p: Projections, ws: Workspace, event: TaskAssigned, at: int) -> None:
    ws.assigned += 1
    task = ws.tasks.get(event.task)
    if task is None:
        return
    if not task.assignments:
        # The engine assigns at its clock, which an out-of-order ``at`` does
        # not move back; measuring to the clock keeps waits non-negative.
        ws.waits.append(ws.clock - task.created)
    task.assignments += 1
    task.unroutable = False
    if task.steps:
        if task.served_at < 0:
            task.served_at = task.step
        ws.step_assignments[task.step] = ws.step_assignments.get(task.step, 0) + 1
    week = ws.week
    if task.open is None:
        task.open = {}
    task.open[event.expert] = week
    expert = ws.experts.get(event.expert)
    if expert is not None:
        if expert.week != week:
            expert.week = week
            expert.used = 0
        expert.used += task.minutes
        expert.open += 1


def on_requeued(p: Projections, ws: Workspace, event: TaskRequeued, at: int) -> None:
    reason = event.reason
    ws.requeued[reason] += 1
    task = ws.tasks.get(event.task)
    if task is None or not task.open:
        return
    week = task.open.pop(event.expert, None)
    if not task.open:
        task.open = None
    expert = ws.experts.get(event.expert)
    if week is None or expert is None:
        return
    expert.open -= 1
    # Rule 2, as the engine keeps it: minutes go back to the week they were
    # taken from, if that is still the week the expert's account is in.
    if week == expert.week:
        expert.used -= task.minutes
        ws.given_back[reason] += task.minutes


def on_completed(p: Projections, ws: Workspace, event: TaskCompleted, at: int) -> None:
    task = ws.tasks.get(event.task)
    if task is not None:
        task.state = COMPLETED
        if task.answers is not None:
            p._settle_submission(ws, event.task)
            task.share = _share(task.answers)


def on_escalated(p: Projections, ws: Workspace, event: TaskEscalated, at: int) -> None:
    ws.escalations += 1
    task = ws.tasks.get(event.task)
    if task is None:
        return
    task.step = event.step
    # Measured to the clock, as waits are: the engine escalates at its clock.
    samples_of(ws.step_times, event.step).append(ws.clock - task.created)
    needs = event.requirements
    task.gate = needs.quality
    task.allowed = frozenset(needs.experts) if needs.experts else None


def on_extended(p: Projections, ws: Workspace, event: TaskExtended, at: int) -> None:
    task = ws.tasks.get(event.task)
    if task is not None:
        p._settle_submission(ws, event.task)
        task.judgements = event.judgements
        task.extensions += 1


def _share(answers: list[str | None]) -> float | None:
    """The size of the largest group of equal answers over the submissions, as the engine's."""
    if not answers:
        return None
    groups: dict[str, int] = {}
    for answer in answers:
        if answer is not None:
            groups[answer] = groups.get(answer, 0) + 1
    return max(groups.values(), default=0) / len(answers)


def on_unroutable(p: Projections, ws: Workspace, event: TaskUnroutable, at: int) -> None:
    ws.unroutable_events += 1
    task = ws.tasks.get(event.task)
    if task is not None:
        task.unroutable = True
