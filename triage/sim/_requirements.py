"""How the simulated client words a task's requirements: relaxed at once, or step by step.

The client (``_client``) draws what a task ideally asks, then has to make
it something its staff can serve. In v1 the only way is to relax the
requirements before publishing; contract v1.1 lets it publish the ideal and
widen later, gate work by the expert's quality record, name who may take a
task, and let overlap grow until the answers agree. This module holds
those choices, apart from the client's volume and mix, so they can be tuned
in one place. Nothing here draws: the same task gets the same requirements.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Final

import msgspec

from events import Cefr, Education, TaskCreated, TaskStep

__all__ = ["Count", "Rung", "ladder", "last_rung", "revision", "stepped"]

#: A rung of requirements: skill, fluency, education.
Rung = tuple[int, Cefr, Education]
#: How many of the staff meet a rung (in the task's own pool).
Count = Callable[[int, Cefr, Education], int]

#: Quality gates by kind: the record needed first, and after how many minutes
#: it lowers to the policy's default prior (so that an expert never reviewed
#: qualifies and one whose record fell below it never does).
_GATES: Final[dict[str, tuple[float, int]]] = {"red_team": (0.8, 120), "audit": (0.8, 240)}
_GATE_FLOOR: Final = 0.75
#: Adaptive overlap of ratings: judgements at first, at most, and the share that must agree.
_OVERLAP: Final = (2, 4, 0.6)
#: Minutes between two steps that widen a thinly staffed task's pool.
_WIDEN_MINUTES: Final = 60
#: Minutes a revision is offered to the pair's writer alone.
_WRITER_MINUTES: Final = 120
_RUNG_FIELDS: Final = ("skill", "fluency", "education")


def ladder(count: Count, rung: Rung, *, people: int) -> list[Rung]:
    """The requirements from ``rung`` down, relaxed until ``people`` of the staff meet them.

    Education goes to bachelor first, then fluency to C1, then the skill
    one level at a time; the last rung is what a v1 task asks.
    """
    skill, fluency, education = rung
    rungs = [rung]
    while count(skill, fluency, education) < people:
        if education != "bachelor":
            education = "bachelor"
        elif fluency != "C1":
            fluency = "C1"
        elif skill > 1:
            skill -= 1
        else:
            break
        rungs.append((skill, fluency, education))
    return rungs


def stepped(task: TaskCreated, rungs: list[Rung], count: Count, *, least: int = 1) -> TaskCreated:
    """The v1 ``task`` (at the last rung) as v1.1 words it.

    It starts at the strictest rung ``least`` of the staff meet and steps
    one rung down every hour; red-teaming and audits are gated, and ratings
    get adaptive overlap.
    """
    first = next((n for n, rung in enumerate(rungs) if count(*rung) >= least), len(rungs) - 1)
    changes: dict[int, dict[str, object]] = {}
    for n, (before, after) in enumerate(itertools.pairwise(rungs[first:]), start=1):
        changes[n * _WIDEN_MINUTES] = {
            field: new
            for field, old, new in zip(_RUNG_FIELDS, before, after, strict=True)
            if old != new
        }
    gate = _GATES.get(task.kind)
    if gate is not None:
        changes.setdefault(gate[1], {})["quality"] = _GATE_FLOOR
    overlap: dict[str, object] = {}
    if task.kind == "rate":
        judgements, most, share = _OVERLAP
        overlap = {"judgements": judgements, "max_judgements": most, "agreement": share}
    skill, fluency, education = rungs[first]
    return msgspec.structs.replace(
        task,
        skill=skill,
        fluency=fluency,
        education=education,
        quality=None if gate is None else gate[0],
        steps=tuple(
            msgspec.structs.replace(TaskStep(after_minutes=minutes), **changes[minutes])
            for minutes in sorted(changes)
        ),
        **overlap,
    )


def revision(task: TaskCreated, writer: str) -> TaskCreated:
    """The v1 revision ``task`` as v1.1 words it: for its writer alone, then for anyone."""
    return msgspec.structs.replace(
        task,
        experts=(writer,),
        steps=(TaskStep(after_minutes=_WRITER_MINUTES, experts=()),),
    )


def last_rung(task: TaskCreated) -> Rung:
    """What the task asks once every step is reached."""
    rung: Rung = (task.skill, task.fluency, task.education)
    for step in task.steps or ():
        rung = (
            rung[0] if step.skill is msgspec.UNSET else step.skill,
            rung[1] if step.fluency is msgspec.UNSET else step.fluency,
            rung[2] if step.education is msgspec.UNSET else step.education,
        )
    return rung
