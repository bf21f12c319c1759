"""Staffing gaps: queued tasks that nobody in the workspace could ever take.

Such a task is not an error: it stays queued, and ``task.unroutable`` says
once why, so that someone can hire or re-profile an expert. "Ever" ignores
status and this week's load: an expert away or busy could still take it
later. The flag is written again only after an assignment has cleared it.

Each class queue remembers a *witness*, an expert known to meet its
requirement, so that the common check (is somebody still there?) looks at
one expert rather than the whole pool.

A v1.1 task is unroutable only when nobody could take it under its current
requirements (gate and allow-list included, with the records as they are)
nor under those of any later step: a task that a later step will open to
someone is waiting for that step, not for staff.
"""

from __future__ import annotations

from events import TaskUnroutable

from ._policy import Policy
from ._scoring import CEFR_NAMES, EDUCATION_NAMES, admitted, personal, record_of
from ._state import Expert, Rung, Task, Workspace
from ._step import Step

__all__ = ["check_routable", "recheck"]


def check_routable(step: Step, task: Task) -> None:
    """Write ``task.unroutable`` once if nobody in the workspace could ever take it."""
    if task.unroutable or _could_anyone(step.ws, task, step.policy):
        return
    extras = task.v1_1
    if extras is not None and any(
        _could_anyone_under(step.ws, task, rung, step.policy)
        for rung in extras.ladder[extras.reached :]
    ):
        return
    task.unroutable = True
    step.emit(
        TaskUnroutable,
        task=task.task,
        reason=_gap(step.ws, task),
    )


def recheck(step: Step, pools: tuple[tuple[str, str], ...]) -> None:
    """After an expert left or changed, find queued tasks nobody can take now."""
    ws = step.ws
    for key in pools:
        pool = ws.pools.get(key)
        if pool is None or not pool.queued:
            continue
        for queue in pool.classes.values():
            head = queue.head
            if head is None:
                continue
            witness = ws.experts.get(queue.witness) if queue.witness else None
            if (
                witness is not None
                and queue.witness in pool.experts
                and _could(ws, witness, head, step.policy)
            ):
                continue
            queue.witness = ""
            for task in list(queue.tasks):
                check_routable(step, task)


def _gap(ws: Workspace, task: Task) -> str:
    """Why nobody can take the task: the requirement, and who is excluded."""
    extra = ""
    extras = task.v1_1
    if extras is not None and extras.gate is not None:
        extra += f", a quality record >= {extras.gate:.2f} in {task.domain}"
    if extras is not None and extras.allowed is not None:
        extra += ", a place on the task's list"
    reason = (
        f"no expert in the workspace has {task.domain}>={task.skill}, "
        f"{task.language}>={CEFR_NAMES[task.fluency]}, "
        f"education>={EDUCATION_NAMES[task.education]}{extra} and "
        f"{task.minutes} minutes of weekly hours"
    )
    if extras is not None and extras.reached < len(extras.ladder):
        reason += ", at this step or a later one"
    pool = ws.pools.get(task.pool)
    barred = sum(
        1
        for expert_id in (pool.experts if pool else ())
        if not personal(ws, ws.experts[expert_id], task)
    )
    if barred:
        reason += f"; {barred} in its pool are excluded, already had it or wrote its parent"
    return reason


def _could_anyone(ws: Workspace, task: Task, policy: Policy) -> bool:
    pool = ws.pools.get(task.pool)
    if pool is None:
        return False
    queue = pool.classes.get(task.requirement)
    if queue is not None and queue.witness:
        witness = ws.experts[queue.witness]
        if _could(ws, witness, task, policy):
            return True
    for expert_id in pool.experts:
        if _could(ws, ws.experts[expert_id], task, policy):
            if queue is not None:
                queue.witness = expert_id
            return True
    return False


def _could(ws: Workspace, expert: Expert, task: Task, policy: Policy) -> bool:
    """Could the expert ever take the task, whatever its status and load?"""
    return (
        not expert.removed
        and expert.domains.get(task.domain, 0) >= task.skill
        and expert.languages.get(task.language, -1) >= task.fluency
        and expert.education >= task.education
        and expert.capacity >= task.minutes
        and personal(ws, expert, task)
        and (not task.extra or admitted(expert, task, policy))
    )


def _could_anyone_under(ws: Workspace, task: Task, rung: Rung, policy: Policy) -> bool:
    """Could anyone take the task once the requirements of ``rung`` are in force?"""
    pool = ws.pools.get(task.pool)
    if pool is None:
        return False
    names = pool.experts if rung.allowed is None else pool.experts & rung.allowed
    for expert_id in names:
        expert = ws.experts[expert_id]
        if (
            not expert.removed
            and expert.domains.get(task.domain, 0) >= rung.skill
            and expert.languages.get(task.language, -1) >= rung.fluency
            and expert.education >= rung.education
            and expert.capacity >= task.minutes
            and personal(ws, expert, task)
            and (rung.gate is None or record_of(expert, task.domain, policy) >= rung.gate)
        ):
            return True
    return False
