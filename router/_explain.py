"""Why a task went to an expert, or to nobody: the routing decision taken apart.

``explain`` looks at one task in the state of one moment and says what the
engine saw there: every expert of the workspace goes through the contract's
requirements in a fixed order, and each stage of the *funnel* counts (and
names) the experts it removed; the experts left are the eligible ones, with
their score parts and weights; the winner is the best total, the smallest
id among equal totals, as ``choose`` decides.

It scans the whole workspace on purpose rather than the pool's idle set:
an explanation must also name those who were never candidates (another
domain, away, full). Eligibility itself is the engine's: the stages test
the same fields of ``Expert`` and ``Task`` as ``choose``, and the personal
bars and the v1.1 checks are ``personal`` and ``admitted`` themselves,
split into their parts only to say which part removed an expert. A test
replays the demo and holds every explanation's winner and eligible count to
the recorded ``task.assigned``.

``standing`` answers the other question: why did this expert not get it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Final

import msgspec

from events import from_micros

from ._policy import Policy, Score
from ._scoring import (
    CEFR_NAMES,
    EDUCATION_NAMES,
    admitted,
    agreed,
    personal,
    record_of,
    score,
)
from ._state import Expert, Task, Workspace

__all__ = [
    "RULES",
    "Candidate",
    "Explanation",
    "Stage",
    "Standing",
    "TaskRequirements",
    "Tie",
    "explain",
]

#: The funnel's stages, in the order they are applied.
RULES: Final = (
    "domain",
    "language",
    "education",
    "status",
    "concurrency",
    "weekly_hours",
    "exclusions",
    "parent",
    "tried",
    "allow_list",
    "quality_gate",
)


class TaskRequirements(msgspec.Struct, frozen=True, kw_only=True):
    """The task's requirements in force at the moment (steps reached included)."""

    domain: str
    language: str
    skill: int
    fluency: str
    education: str
    minutes: int
    exclude: tuple[str, ...]
    parent: str | None
    tried: tuple[str, ...]
    experts: tuple[str, ...] | None  # the allow-list, None: anyone
    quality: float | None  # the gate, None: no gate
    step: int  # the latest step reached, 0: none


class Stage(msgspec.Struct, frozen=True, kw_only=True):
    """One stage of the funnel: the rule, what it asks, and whom it removed."""

    rule: str
    requirement: str
    removed: int
    left: int
    experts: tuple[str, ...]


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """An eligible expert's score: the total and its parts, each in [0, 1].

    ``agreement`` is there when the policy scores it on the task's kind (a
    review kind of a learned policy); it then takes ``agreement_share`` of
    the quality weight.
    """

    expert: str
    total: float
    quality: float
    load: float
    idle: float
    fit: float
    agreement: float | None = None


class Tie(msgspec.Struct, frozen=True, kw_only=True):
    """Several candidates had the best total; the smallest id won."""

    total: float
    tied: tuple[str, ...]
    winner: str


class Standing(msgspec.Struct, frozen=True, kw_only=True):
    """Where one expert stood: the first rule that removed them, or their place.

    ``rule`` is one of :data:`RULES`, ``unknown`` for an expert the
    workspace does not know at that moment, or None if they were eligible;
    then ``place`` counts from 1 (the winner) among the eligible.
    """

    expert: str
    rule: str | None
    detail: str
    #: The later stages that would have removed them too.
    also: tuple[str, ...] = ()
    candidate: Candidate | None = None
    place: int | None = None


class Explanation(msgspec.Struct, frozen=True, kw_only=True):
    """A routing decision taken apart, at one moment, for one task."""

    workspace: str
    task: str
    at: datetime
    requirements: TaskRequirements
    considered: int
    funnel: tuple[Stage, ...]
    eligible: int
    top: tuple[Candidate, ...]
    winner: str | None
    tie: Tie | None
    policy: Policy
    standing: Standing | None = None


def explain(
    ws: Workspace, task: Task, policy: Policy, *, top: int = 5, expert: str | None = None
) -> Explanation:
    """The funnel, the candidates and the winner of ``task`` in the state ``ws`` is in.

    ``top`` bounds how many candidates are listed (the best first, ties by
    id); ``expert`` adds that expert's :class:`Standing`.
    """
    names = sorted(ws.experts)
    removed: dict[str, list[str]] = {rule: [] for rule in RULES}
    first: dict[str, str] = {}
    candidates: list[Candidate] = []
    for name in names:
        candidate = ws.experts[name]
        rule = _first_rule(ws, candidate, task, policy)
        if rule is None:
            parts = score(ws, candidate, task, policy)
            candidates.append(_candidate(name, parts, agreed(task, policy)))
        else:
            removed[rule].append(name)
            first[name] = rule
    candidates.sort(key=lambda c: (-c.total, c.expert))
    funnel = []
    left = len(names)
    for rule in RULES:
        gone = removed[rule]
        left -= len(gone)
        funnel.append(
            Stage(
                rule=rule,
                requirement=_requirement(rule, task),
                removed=len(gone),
                left=left,
                experts=tuple(gone),
            )
        )
    winner = candidates[0].expert if candidates else None
    tied = [c.expert for c in candidates if candidates and c.total == candidates[0].total]
    standing = None
    if expert is not None:
        standing = _standing(ws, task, policy, expert, first.get(expert)) or _placed(
            expert, candidates
        )
    return Explanation(
        workspace=ws.name,
        task=task.task,
        at=from_micros(ws.clock),
        requirements=_requirements(task),
        considered=len(names),
        funnel=tuple(funnel),
        eligible=len(candidates),
        top=tuple(candidates[:top]),
        winner=winner,
        tie=Tie(total=candidates[0].total, tied=tuple(tied), winner=tied[0])
        if len(tied) > 1
        else None,
        policy=policy,
        standing=standing,
    )


def _first_rule(ws: Workspace, expert: Expert, task: Task, policy: Policy) -> str | None:
    """The first stage that removes the expert, None if they could take the task now."""
    return next(_failing(ws, expert, task, policy), None)


def _failing(ws: Workspace, expert: Expert, task: Task, policy: Policy) -> Iterator[str]:
    """Every stage that removes the expert, in the funnel's order."""
    # The same tests as `choose`, one at a time: the pool's idle set there is
    # status, slots and week's room here.
    if expert.domains.get(task.domain, 0) < task.skill:
        yield "domain"
    if expert.languages.get(task.language, -1) < task.fluency:
        yield "language"
    if expert.education < task.education:
        yield "education"
    if expert.removed or expert.status != "available":
        yield "status"
    if expert.open_count() >= expert.concurrency:
        yield "concurrency"
    if expert.used_in(ws.week) + task.minutes > expert.capacity:
        yield "weekly_hours"
    if not personal(ws, expert, task):
        yield from _personal_parts(ws, expert, task)
    if task.extra and not admitted(expert, task, policy):
        extras = task.v1_1
        assert extras is not None
        if extras.allowed is not None and expert.expert not in extras.allowed:
            yield "allow_list"
        if extras.gate is not None and record_of(expert, task.domain, policy) < extras.gate:
            yield "quality_gate"


def _personal_parts(ws: Workspace, expert: Expert, task: Task) -> Iterator[str]:
    """Which of the personal bars remove the expert, in the funnel's order."""
    name = expert.expert
    if task.exclude and name in task.exclude:
        yield "exclusions"
    parent = ws.tasks.get(task.parent) if task.parent else None
    if parent is not None and (
        (parent.submitters and name in parent.submitters) or (parent.open and name in parent.open)
    ):
        yield "parent"
    if task.tried and name in task.tried:
        yield "tried"


def _candidate(name: str, parts: Score, agreement: bool) -> Candidate:
    return Candidate(
        expert=name,
        total=parts.total,
        quality=parts.quality,
        load=parts.load,
        idle=parts.idle,
        fit=parts.fit,
        agreement=parts.agreement if agreement else None,
    )


def _requirements(task: Task) -> TaskRequirements:
    extras = task.v1_1
    return TaskRequirements(
        domain=task.domain,
        language=task.language,
        skill=task.skill,
        fluency=CEFR_NAMES[task.fluency],
        education=EDUCATION_NAMES[task.education],
        minutes=task.minutes,
        exclude=tuple(sorted(task.exclude or ())),
        parent=task.parent,
        tried=tuple(sorted(task.tried or ())),
        experts=tuple(sorted(extras.allowed))
        if extras is not None and extras.allowed is not None
        else None,
        quality=extras.gate if extras is not None else None,
        step=extras.reached if extras is not None else 0,
    )


def _requirement(rule: str, task: Task) -> str:
    """What the stage asks, in words."""
    extras = task.v1_1
    allowed = extras.allowed if extras is not None else None
    gate = extras.gate if extras is not None else None
    if rule == "domain":
        text = f"{task.domain} >= {task.skill}"
    elif rule == "language":
        text = f"{task.language} >= {CEFR_NAMES[task.fluency]}"
    elif rule == "education":
        text = f">= {EDUCATION_NAMES[task.education]}"
    elif rule == "status":
        text = "available"
    elif rule == "concurrency":
        text = "an open slot"
    elif rule == "weekly_hours":
        text = f"{task.minutes} min left this week"
    elif rule == "exclusions":
        text = f"not one of {len(task.exclude)} excluded" if task.exclude else "none"
    elif rule == "parent":
        text = f"not an author of {task.parent}" if task.parent else "none"
    elif rule == "tried":
        text = "never assigned it before"
    elif rule == "allow_list":
        text = "none" if allowed is None else f"one of {len(allowed)} named"
    else:
        text = "none" if gate is None else f"record >= {gate:.3f} in {task.domain}"
    return text


def _standing(
    ws: Workspace, task: Task, policy: Policy, name: str, rule: str | None
) -> Standing | None:
    """The standing of an expert the funnel removed (or never saw); None if eligible."""
    expert = ws.experts.get(name)
    if expert is None:
        return Standing(expert=name, rule="unknown", detail="no such expert in the workspace yet")
    if rule is None:
        return None
    also = tuple(other for other in _failing(ws, expert, task, policy) if other != rule)
    return Standing(
        expert=name, rule=rule, detail=_detail(rule, ws, expert, task, policy), also=also
    )


def _placed(name: str, candidates: list[Candidate]) -> Standing:
    """The standing of an eligible expert: their place, and the winner's total."""
    place = next(n for n, c in enumerate(candidates, 1) if c.expert == name)
    mine, best = candidates[place - 1], candidates[0]
    if place == 1:
        detail = f"eligible and best of {len(candidates)}: got it"
    else:
        detail = (
            f"eligible, placed {place} of {len(candidates)}: total {mine.total:.4f} "
            f"against the winner's {best.total:.4f}"
        )
        if mine.total == best.total:
            detail += f" (tied; the smallest id, {best.expert}, won)"
    return Standing(expert=name, rule=None, detail=detail, candidate=mine, place=place)


def _detail(rule: str, ws: Workspace, expert: Expert, task: Task, policy: Policy) -> str:
    """Why the rule removed this expert, with their own figures."""
    level = expert.domains.get(task.domain)
    fluency = expert.languages.get(task.language)
    if rule == "domain":
        text = (
            f"no {task.domain} in their profile"
            if level is None
            else f"{task.domain} level {level} < {task.skill}"
        )
    elif rule == "language":
        text = (
            f"no {task.language} in their profile"
            if fluency is None
            else f"{task.language} {CEFR_NAMES[fluency]} < {CEFR_NAMES[task.fluency]}"
        )
    elif rule == "education":
        text = f"education {EDUCATION_NAMES[expert.education]} < {EDUCATION_NAMES[task.education]}"
    elif rule == "status":
        text = "removed" if expert.removed else f"status {expert.status}"
    elif rule == "concurrency":
        text = f"{expert.open_count()} of {expert.concurrency} slots taken"
    elif rule == "weekly_hours":
        text = (
            f"{expert.used_in(ws.week) / 60:.1f}h of {expert.capacity / 60:g}h used this week, "
            f"{task.minutes} min needed"
        )
    elif rule == "exclusions":
        text = "on the task's exclude list"
    elif rule == "parent":
        text = f"worked on the parent task {task.parent}"
    elif rule == "tried":
        holds = task.open is not None and expert.expert in task.open
        text = "holds this task now" if holds else "was assigned this task before"
    elif rule == "allow_list":
        text = "not on the task's list"
    else:
        gate = task.v1_1.gate if task.v1_1 is not None else None
        assert gate is not None
        text = f"record {record_of(expert, task.domain, policy):.3f} < {gate:.3f} in {task.domain}"
    return text
