"""The fold of the inputs: what only they carry (profiles, presence, handling times, reviews).

Each handler takes the fold, the event's workspace, the event and its
instant in microseconds, and is called by :meth:`Projections.apply` through
its dispatch table (in ``_fold``), held pending first when the input's effect
depends on being accepted. They live apart from the fold's machinery so that
each side of the journal, inputs here and outputs in ``_fold_outputs``,
reads as one list of small updates of the state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from events import (
    AnyEvent,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    TaskCancelled,
    TaskCreated,
    TaskReviewed,
    TaskSubmitted,
    from_micros,
    normalize,
    week_index,
)

from ._model import LowQuality
from ._state import (
    CANCELLED,
    OPEN,
    Expert,
    Task,
    WeekTally,
    Workspace,
    samples_of,
    tally_of,
)

if TYPE_CHECKING:
    from projections import Projections

__all__ = [
    "on_cancelled",
    "on_created",
    "on_nothing",
    "on_profile",
    "on_removed",
    "on_reviewed",
    "on_status",
    "on_submitted",
]


def _language(ws: Workspace, tag: str) -> str:
    language = ws.languages.get(tag)
    if language is None:
        language = ws.languages[tag] = ws.intern(normalize(tag))
    return language


def on_profile(p: Projections, ws: Workspace, event: ExpertProfile, at: int) -> None:
    domains = tuple(sorted(ws.intern(name) for name in event.domains))
    languages = tuple(sorted({_language(ws, tag) for tag in event.languages}))
    expert = ws.experts.get(event.expert)
    if expert is None:
        ws.experts[event.expert] = Expert(domains, languages, event.education, event.weekly_hours)
        return
    expert.domains = domains
    expert.languages = languages
    expert.education = event.education
    expert.weekly_hours = event.weekly_hours
    if expert.removed:  # a new profile brings a removed expert back, offline
        expert.removed = False
        expert.status = "offline"


def on_status(p: Projections, ws: Workspace, event: ExpertStatus, at: int) -> None:
    expert = ws.experts.get(event.expert)
    if expert is not None and not expert.removed:
        expert.status = event.status


def on_removed(p: Projections, ws: Workspace, event: ExpertRemoved, at: int) -> None:
    expert = ws.experts.get(event.expert)
    if expert is not None:
        expert.removed = True
        expert.status = "offline"


def on_created(p: Projections, ws: Workspace, event: TaskCreated, at: int) -> None:
    if event.task in ws.tasks:
        return  # the engine refuses a second creation
    task = ws.tasks[event.task] = Task(
        ws.intern(event.kind),
        ws.intern(event.domain),
        _language(ws, event.language),
        event.minutes,
        event.judgements,
        at,
    )
    if event.steps:
        task.steps = len(event.steps)
    if event.quality is not None:
        task.gate = event.quality
    if event.experts:
        task.allowed = frozenset(event.experts)
    if event.agreement is not None:
        task.agreement = event.agreement
        task.max_judgements = event.max_judgements or event.judgements
        task.answers = []


def on_cancelled(p: Projections, ws: Workspace, event: TaskCancelled, at: int) -> None:
    task = ws.tasks.get(event.task)
    if task is not None and task.state == OPEN:
        task.state = CANCELLED


def on_submitted(p: Projections, ws: Workspace, event: TaskSubmitted, at: int) -> None:
    seconds = event.seconds
    ws.handling.append(seconds)
    samples_of(ws.handling_by_expert, event.expert).append(seconds)
    task = ws.tasks.get(event.task)
    if task is None:
        return
    samples_of(ws.handling_by_kind, task.kind).append(seconds)
    samples_of(ws.handling_by_domain, task.domain).append(seconds)
    samples_of(ws.handling_by_language, task.language).append(seconds)
    task.submitted += 1
    if task.open and task.open.pop(event.expert, None) is not None:
        if not task.open:
            task.open = None  # most tasks end here: keep a million of them small
        expert = ws.experts.get(event.expert)
        if expert is not None:
            expert.open -= 1
    if event.ref is not None:
        if task.refs is None:
            task.refs = {}
        task.refs[event.expert] = event.ref
    if task.answers is not None:
        task.answers.append(event.answer)


def on_reviewed(p: Projections, ws: Workspace, event: TaskReviewed, at: int) -> None:
    task = ws.tasks.get(event.task)
    if task is None:
        return  # the engine refuses a review of an unknown task
    score = event.score
    passed = event.passed
    for tally in (
        ws.quality,
        tally_of(ws.records, (event.expert, task.domain)),
        tally_of(ws.quality_by_expert, event.expert),
        tally_of(ws.quality_by_domain, task.domain),
        tally_of(ws.quality_by_language, task.language),
        tally_of(ws.quality_by_kind, task.kind),
    ):
        tally.reviews += 1
        tally.total += score
        tally.passed += passed
    week = week_index(at)
    weekly = ws.weeks.get(week)
    if weekly is None:
        weekly = ws.weeks[week] = WeekTally(instant=at)
    weekly.reviews += 1
    if not passed:
        weekly.failed += 1
    for error in event.errors:
        weekly.errors[error] = weekly.errors.get(error, 0) + 1
    if not passed or score < p.low_score:
        ws.low_quality.append(
            LowQuality(
                task=event.task,
                kind=task.kind,
                domain=task.domain,
                language=task.language,
                expert=event.expert,
                reviewer=event.reviewer,
                score=score,
                passed=passed,
                errors=event.errors,
                at=from_micros(at),  # in UTC, whatever offset the producer wrote
                ref=task.refs.get(event.expert) if task.refs else None,
            )
        )


def on_nothing(p: Projections, ws: Workspace, event: AnyEvent, at: int) -> None:
    """A decline acts through its ``task.requeued``; a tick only moves the clock."""
