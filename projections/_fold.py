"""The fold: the journal, inputs and outputs in order, into the metrics ops need.

``Projections.apply`` takes every event of the journal in its order: each
accepted input event, then the output events the engine wrote for it. The
outputs say what routing did (assignments, requeues, completions, flags),
so the fold never re-derives routing; the inputs add what only they carry
(profiles, presence, handling times, reviews).

An input the engine refused is followed by an ``event.rejected`` naming it,
possibly after outputs of the same step (a lease that ran out at the
instant of a late submission is requeued first). So the inputs whose effect
depends on being accepted (presence, removal, cancellation, submission,
review) are held as *pending* and folded when the next input arrives, or
when a report is asked for, unless their rejection came first. The others
take effect at once: a profile is never refused, a second ``task.created``
for a known id is the only refusal of a creation and is ignored as such, a
decline or a tick changes nothing by itself. Call ``report`` between
journal entries, not between an input and its outputs.

Time comes only from the events: each workspace's clock is the latest
``at`` it has seen, as in the engine. ``apply`` dispatches on the event's
type through a dict and touches a few fields; the report derives
everything else, so it costs one pass over the tasks.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import msgspec

from events import (
    AnyEvent,
    ClockTick,
    EventRejected,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    InvalidEvent,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskDeclined,
    TaskEscalated,
    TaskExtended,
    TaskRequeued,
    TaskReviewed,
    TaskSubmitted,
    TaskUnroutable,
    decode_event,
    from_micros,
    normalize,
    to_micros,
    week_index,
)

from ._metrics import build_report
from ._model import LowQuality, Report
from ._state import (
    CANCELLED,
    COMPLETED,
    OPEN,
    Expert,
    Task,
    WeekTally,
    Workspace,
    samples_of,
    tally_of,
)

__all__ = [
    "DEFAULT_LOW_SCORE",
    "DEFAULT_QUALITY_PRIOR",
    "DEFAULT_QUALITY_PRIOR_REVIEWS",
    "Projections",
    "fold",
    "reason_key",
]

#: Reviews scoring below this (or failed) are listed as low quality.
DEFAULT_LOW_SCORE: Final = 0.6
#: The quality record's prior and its weight in reviews, as in the router's
#: default policy (a test keeps them equal); the report states the ones it used.
DEFAULT_QUALITY_PRIOR: Final = 0.75
DEFAULT_QUALITY_PRIOR_REVIEWS: Final = 3.0

_QUOTED: Final = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_MAX_REASON: Final = 80


def reason_key(reason: str) -> str:
    """A rejection reason with its quoted ids masked, so that reasons aggregate.

    ``expert 'ana' holds no open assignment on task 't-1': its assignment
    has ended`` becomes ``expert '…' holds no open assignment on task '…':
    its assignment has ended``; the engine quotes every id it names.
    """
    return _QUOTED.sub("'…'", reason)[:_MAX_REASON]


_Handler = Callable[["Projections", Workspace, Any, int], None]


class _Pending(msgspec.Struct, gc=False):
    """An input held until the next input shows that no rejection of it came."""

    handler: _Handler
    ws: Workspace
    event: AnyEvent
    at: int


class Projections:
    """Folds the journal into per-workspace metrics; see :meth:`report`."""

    def __init__(
        self,
        *,
        low_score: float = DEFAULT_LOW_SCORE,
        quality_prior: float = DEFAULT_QUALITY_PRIOR,
        quality_prior_reviews: float = DEFAULT_QUALITY_PRIOR_REVIEWS,
    ) -> None:
        self.low_score = low_score
        self.quality_prior = quality_prior
        self.quality_prior_reviews = quality_prior_reviews
        self._workspaces: dict[str, Workspace] = {}
        self._dead_letters: dict[str, int] = {}
        self._pending: _Pending | None = None

    def apply(self, event: AnyEvent) -> None:
        """Fold one event of the journal, input or output, in journal order."""
        ws = self._workspaces.get(event.workspace)
        if ws is None:
            ws = self._workspaces[event.workspace] = Workspace()
        at = to_micros(event.at)
        if at > ws.clock:
            ws.clock = at
            ws.week = week_index(at)
        handler, role = _HANDLERS[type(event)]
        if role != _OUTPUT:
            if self._pending is not None:
                self._settle()
            if role == _PENDING:
                self._pending = _Pending(handler, ws, event, at)
                return
        handler(self, ws, event, at)

    def dead_letter(self, source: str, workspace: str | None = None) -> None:
        """Count one record that never became an event, by its source.

        ``source`` is where it came from (``ingest``, a topic name). Pass
        ``workspace`` when the record named one the caller trusts; it is
        then also counted in that workspace's ``events.dead_letters``.
        """
        self._dead_letters[source] = self._dead_letters.get(source, 0) + 1
        if workspace is not None:
            ws = self._workspaces.get(workspace)
            if ws is None:
                ws = self._workspaces[workspace] = Workspace()
            ws.dead_letters += 1

    def report(self) -> Report:
        """The metrics of every workspace as they stand after the events so far."""
        self._settle()
        return build_report(
            self._workspaces,
            self._dead_letters,
            self.low_score,
            (self.quality_prior, self.quality_prior_reviews),
        )

    def _settle(self) -> None:
        """Fold the pending input: no rejection of it has come."""
        pending = self._pending
        if pending is not None:
            self._pending = None
            pending.handler(self, pending.ws, pending.event, pending.at)


def fold(entries: Iterable[tuple[bytes, Sequence[bytes]]], dead_letters: Iterable[str]) -> Report:
    """The report of a whole journal: each entry's input, then its outputs, in order.

    ``entries`` are ``(input_json, outputs_json)`` pairs in journal order, as
    a runtime stored them; ``dead_letters`` the source of each dead letter.
    Every runtime reports through this one loop, so that the embedded log
    and Kafka cannot fold the same journal differently.
    """
    folded = Projections()
    apply = folded.apply
    for input_json, outputs_json in entries:
        # An input accepted by an older version and refused on reading now is
        # skipped: its rejection follows among the outputs.
        with contextlib.suppress(InvalidEvent):
            apply(decode_event(input_json))
        for output_json in outputs_json:
            apply(decode_event(output_json))
    for source in dead_letters:
        folded.dead_letter(source)
    return folded.report()


# --- inputs ------------------------------------------------------------------


def _language(ws: Workspace, tag: str) -> str:
    language = ws.languages.get(tag)
    if language is None:
        language = ws.languages[tag] = ws.intern(normalize(tag))
    return language


def _on_profile(p: Projections, ws: Workspace, event: ExpertProfile, at: int) -> None:
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


def _on_status(p: Projections, ws: Workspace, event: ExpertStatus, at: int) -> None:
    expert = ws.experts.get(event.expert)
    if expert is not None and not expert.removed:
        expert.status = event.status


def _on_removed(p: Projections, ws: Workspace, event: ExpertRemoved, at: int) -> None:
    expert = ws.experts.get(event.expert)
    if expert is not None:
        expert.removed = True
        expert.status = "offline"


def _on_created(p: Projections, ws: Workspace, event: TaskCreated, at: int) -> None:
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


def _on_cancelled(p: Projections, ws: Workspace, event: TaskCancelled, at: int) -> None:
    task = ws.tasks.get(event.task)
    if task is not None and task.state == OPEN:
        task.state = CANCELLED


def _on_submitted(p: Projections, ws: Workspace, event: TaskSubmitted, at: int) -> None:
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


def _on_reviewed(p: Projections, ws: Workspace, event: TaskReviewed, at: int) -> None:
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


def _on_nothing(p: Projections, ws: Workspace, event: AnyEvent, at: int) -> None:
    """A decline acts through its ``task.requeued``; a tick only moves the clock."""


# --- outputs -----------------------------------------------------------------


def _on_assigned(p: Projections, ws: Workspace, event: TaskAssigned, at: int) -> None:
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


def _on_requeued(p: Projections, ws: Workspace, event: TaskRequeued, at: int) -> None:
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


def _on_completed(p: Projections, ws: Workspace, event: TaskCompleted, at: int) -> None:
    task = ws.tasks.get(event.task)
    if task is not None:
        task.state = COMPLETED
        if task.answers is not None:
            _settle_submission(p, ws, event.task)
            task.share = _share(task.answers)


def _on_escalated(p: Projections, ws: Workspace, event: TaskEscalated, at: int) -> None:
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


def _on_extended(p: Projections, ws: Workspace, event: TaskExtended, at: int) -> None:
    task = ws.tasks.get(event.task)
    if task is not None:
        _settle_submission(p, ws, event.task)
        task.judgements = event.judgements
        task.extensions += 1


def _settle_submission(p: Projections, ws: Workspace, task: str) -> None:
    """Fold now the submission that caused this output: only an accepted one causes it."""
    pending = p._pending
    if (
        pending is not None
        and pending.ws is ws
        and isinstance(pending.event, TaskSubmitted)
        and pending.event.task == task
    ):
        p._settle()


def _share(answers: list[str | None]) -> float | None:
    """The size of the largest group of equal answers over the submissions, as the engine's."""
    if not answers:
        return None
    groups: dict[str, int] = {}
    for answer in answers:
        if answer is not None:
            groups[answer] = groups.get(answer, 0) + 1
    return max(groups.values(), default=0) / len(answers)


def _on_unroutable(p: Projections, ws: Workspace, event: TaskUnroutable, at: int) -> None:
    ws.unroutable_events += 1
    task = ws.tasks.get(event.task)
    if task is not None:
        task.unroutable = True


def _on_rejected(p: Projections, ws: Workspace, event: EventRejected, at: int) -> None:
    ws.rejected += 1
    key = reason_key(event.reason)
    ws.rejected_by_reason[key] = ws.rejected_by_reason.get(key, 0) + 1
    # The refused input is the one held pending: it must not be folded.
    pending = p._pending
    if pending is not None and pending.event.id == event.event and pending.ws is ws:
        p._pending = None


# Roles: an input that takes effect at once, one held until it is known to be
# accepted, and an output of the engine.
_NOW: Final = 0
_PENDING: Final = 1
_OUTPUT: Final = 2

_HANDLERS: Final[dict[type, tuple[_Handler, int]]] = {
    ExpertProfile: (_on_profile, _NOW),
    ExpertStatus: (_on_status, _PENDING),
    ExpertRemoved: (_on_removed, _PENDING),
    TaskCreated: (_on_created, _NOW),
    TaskCancelled: (_on_cancelled, _PENDING),
    TaskDeclined: (_on_nothing, _NOW),
    TaskSubmitted: (_on_submitted, _PENDING),
    TaskReviewed: (_on_reviewed, _PENDING),
    ClockTick: (_on_nothing, _NOW),
    TaskAssigned: (_on_assigned, _OUTPUT),
    TaskRequeued: (_on_requeued, _OUTPUT),
    TaskCompleted: (_on_completed, _OUTPUT),
    TaskUnroutable: (_on_unroutable, _OUTPUT),
    EventRejected: (_on_rejected, _OUTPUT),
    TaskEscalated: (_on_escalated, _OUTPUT),
    TaskExtended: (_on_extended, _OUTPUT),
}
