"""Requirement steps (v1.1): a waiting task's requirements, relaxed on a timetable.

A task's steps are resolved once, when it is created, into *rungs*: the
whole requirements in force from each step on (a field a step does not name
keeps its value from before). Each workspace keeps one heap of the next
step of every task that has one, ordered by the instant it falls due, so
that finding the steps reached at a moment costs O(log n) per step reached,
never a scan of the tasks.

A step is reached when the workspace clock minus the task's own ``at`` is
at least ``after_minutes``. The engine escalates after the event's own
effect and before dispatch (the contract's "order within a moment"), so a
task the event completes or cancels is not escalated, and the assignments
of the moment are made under the new requirements.
"""

from __future__ import annotations

import heapq
from typing import Final

from msgspec import UNSET

from events import (
    CEFR_LEVELS,
    EDUCATION_LEVELS,
    MINUTE,
    Requirements,
    TaskCreated,
    TaskEscalated,
)

from ._scoring import CEFR_NAMES, EDUCATION_NAMES
from ._state import QUEUED, Extras, Rung, Task, Workspace
from ._step import Step

__all__ = ["allow_list", "escalate", "ladder_of", "schedule"]

_LISTED: Final = 3  # names an escalation reason spells out before counting the rest


def allow_list(names: tuple[str, ...]) -> tuple[frozenset[str] | None, tuple[str, ...]]:
    """The allow-list as a set (None when empty: no list) and as written, duplicates dropped."""
    if not names:
        return None, ()
    unique = tuple(dict.fromkeys(names))
    return frozenset(unique), unique


def ladder_of(
    ws: Workspace, event: TaskCreated, created: int, task: Task, extras: Extras
) -> tuple[Rung, ...]:
    """Every step of the task resolved into the whole requirements it puts in force."""
    skill, fluency, education = task.skill, task.fluency, task.education
    gate, allowed, names = extras.gate, extras.allowed, extras.names
    rungs = []
    for step in event.steps or ():
        changes = []
        if step.skill is not UNSET and step.skill != skill:
            changes.append(f"skill {skill}->{step.skill}")
            skill = step.skill
        if step.fluency is not UNSET:
            rank = CEFR_LEVELS[step.fluency]
            if rank != fluency:
                changes.append(f"fluency {CEFR_NAMES[fluency]}->{step.fluency}")
                fluency = rank
        if step.education is not UNSET:
            rank = EDUCATION_LEVELS[step.education]
            if rank != education:
                changes.append(f"education {EDUCATION_NAMES[education]}->{step.education}")
                education = rank
        if step.quality is not UNSET and step.quality != gate:
            if step.quality is None:
                changes.append("the quality gate is lifted")
            elif gate is None:
                changes.append(f"a quality gate of {step.quality:g}")
            else:
                changes.append(f"quality gate {gate:g}->{step.quality:g}")
            gate = step.quality
        if step.experts is not UNSET:
            new_allowed, new_names = allow_list(step.experts)
            if new_allowed != allowed:
                changes.append(
                    "the list of experts is lifted"
                    if new_allowed is None
                    else f"only {_names(new_names)}"
                )
            allowed, names = new_allowed, new_names
        rungs.append(
            Rung(
                after=step.after_minutes,
                due=created + step.after_minutes * MINUTE,
                skill=skill,
                fluency=fluency,
                education=education,
                gate=gate,
                allowed=allowed,
                names=names,
                requirement=ws.intern((skill, fluency, education)),
                changes=", ".join(changes) or "the requirements stay as they were",
            )
        )
    return tuple(rungs)


def schedule(ws: Workspace, task: Task) -> None:
    """Put the task's next step, if it has one left, on the workspace's heap."""
    extras = task.v1_1
    if extras is not None and extras.reached < len(extras.ladder):
        reached = extras.reached
        heapq.heappush(ws.escalations, (extras.ladder[reached].due, task.task, reached))


def escalate(step: Step) -> None:
    """Reach every step that falls due at this moment: ``task.escalated``, then re-queue.

    Steps come out in the order of the instants they fall due, ties by task
    id; several steps of one task passed at once come out in step order. A
    queued task moves to the class queue of its new requirement and is
    offered again by this step's dispatch.
    """
    ws = step.ws
    heap = ws.escalations
    now = ws.clock
    while heap and heap[0][0] <= now:
        _, task_id, index = heapq.heappop(heap)
        task = ws.tasks[task_id]
        if task.state != QUEUED:
            continue  # completed or cancelled: its steps no longer matter
        extras = task.v1_1
        assert extras is not None
        rung = extras.ladder[index]
        queued = task.queued
        if queued:
            ws.dequeue(task)
        if (extras.gate is None) != (rung.gate is None):
            ws.gated += 1 if rung.gate is not None else -1
        task.skill, task.fluency, task.education = rung.skill, rung.fluency, rung.education
        task.requirement = rung.requirement
        extras.gate, extras.allowed, extras.names = rung.gate, rung.allowed, rung.names
        task.extra = rung.gate is not None or rung.allowed is not None
        extras.reached = index + 1
        if queued:
            ws.enqueue(task)
            step.tasks.append(task)
        step.emit(
            TaskEscalated,
            task=task.task,
            step=index + 1,
            requirements=Requirements(
                skill=rung.skill,
                fluency=CEFR_NAMES[rung.fluency],  # type: ignore[arg-type]
                education=EDUCATION_NAMES[rung.education],  # type: ignore[arg-type]
                quality=rung.gate,
                experts=rung.names,
            ),
            reason=f"step {index + 1} reached after {rung.after} minutes: {rung.changes}",
        )
        schedule(ws, task)


def _names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:_LISTED])
    if len(names) > _LISTED:
        shown += f" and {len(names) - _LISTED} more"
    return shown
