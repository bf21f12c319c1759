"""The routing core: a pure, deterministic fold from input events to decisions.

``Engine.apply`` takes one accepted input event and returns the output
events it causes, in order. It reads no clock, draws no random number and
does no I/O: the same events in the same order give the same outputs, byte
for byte, whether they come from the embedded log, from Kafka, from a replay
or from a simulation. Each step runs in three phases:

1. the workspace clock moves to the event's ``at`` (never backwards), which
   ends the leases that ran out and, at a new ISO week, renews capacity;
2. the event's own handler changes the state, or refuses the event; then
   every requirement step (v1.1) that falls due at this moment is reached
   (``_ladder``), for every task the event left neither completed nor
   cancelled;
3. dispatch serves the queue: every task that some available expert with
   room can take is assigned, by priority, then age, then id, to the expert
   the policy scores best (ties by expert id).

This module holds the first two phases; dispatch (``_dispatch``), the
policy's choice (``_scoring``) and the staffing checks (``_gaps``) have
modules of their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from events import (
    CEFR_LEVELS,
    EDUCATION_LEVELS,
    ClockTick,
    EventRejected,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    InputEvent,
    OutputEvent,
    RequeueReason,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskDeclined,
    TaskExtended,
    TaskRequeued,
    TaskReviewed,
    TaskSubmitted,
    expand,
    normalize,
    to_micros,
    week_index,
)

from ._dispatch import dispatch
from ._gaps import recheck
from ._ladder import allow_list, escalate, ladder_of, schedule
from ._policy import DEFAULT_POLICY, Policy
from ._scoring import Ranking
from ._state import CANCELLED, COMPLETED, Expert, Extras, Record, Task, Workspace
from ._step import Step, output_id

__all__ = ["Engine", "output_id"]

_PRIORITY_SHIFT: Final = 64  # rank = ((100 - priority) << 64) + creation instant
_MAX_REASON: Final = 200
_AT_ADDRESS: Final = re.compile(r" at 0x[0-9a-fA-F]+")  # "<Pool object at 0x7f...>"
_ADDRESS: Final = re.compile(r"0x[0-9a-fA-F]{8,}")
_SPACE: Final = re.compile(r"\s+")


def _internal_error(error: Exception) -> str:
    """The reason of the rejection of an event whose handling raised ``error``.

    It names the exception's type and message, and nothing that differs
    from one run to the next: memory addresses in a message (a default
    ``repr``) are dropped, so that replay and recovery write the same bytes.
    """
    message = _ADDRESS.sub("0x…", _AT_ADDRESS.sub("", str(error)))
    message = _SPACE.sub(" ", message).strip()
    reason = f"internal error: {type(error).__name__}"
    if message:
        reason += f": {message}"
    if len(reason) > _MAX_REASON:
        reason = reason[: _MAX_REASON - 1] + "…"
    return reason


class Engine:
    """The routing core over any number of workspaces."""

    def __init__(self, policy: Policy = DEFAULT_POLICY, *, ranking: Ranking | None = None) -> None:
        self.policy = policy
        #: Evaluation only: another order among eligible experts (see ``Ranking``).
        self.ranking = ranking
        self.workspaces: dict[str, Workspace] = {}
        #: How many events ended in an ``internal error`` rejection (see ``apply``).
        self.internal_errors = 0

    def apply(self, event: InputEvent) -> list[OutputEvent]:
        """Fold one accepted input event into the state; return what it causes.

        A bug must not stop the stream: an exception raised while handling
        the event is caught here, counted in ``internal_errors``, and the
        event is refused with ``event.rejected`` (reason ``internal error:
        <type>: <message>``) after the outputs the step had already written.
        The state keeps what the step changed before the exception, so a
        replay of the same log fails in the same place and agrees.
        """
        ws = self.workspaces.get(event.workspace)
        if ws is None:
            ws = self.workspaces[event.workspace] = Workspace(event.workspace)
        step = Step(ws, event, self.policy)
        try:
            self._advance(step, to_micros(event.at))
            handler = _HANDLERS[type(event)]
            handler(self, step, event)
            if ws.escalations and ws.escalations[0][0] <= ws.clock:
                escalate(step)
            if step.tasks or step.experts:
                dispatch(step, self.policy, self.ranking)
        except Exception as error:  # the second line of defence: see the docstring
            self.internal_errors += 1
            step.emit(EventRejected, event=event.id, reason=_internal_error(error))
        return step.outputs

    # --- phase 1: the clock ----------------------------------------------------

    def _advance(self, step: Step, now: int) -> None:
        ws = step.ws
        if now <= ws.clock:
            return
        ws.clock = now
        for _, task_id, expert_id in ws.expired(now):
            task = ws.tasks[task_id]
            if task.open and expert_id in task.open:
                self._end(step, task, ws.experts[expert_id], "expired")
        week = week_index(now)
        if week != ws.week:
            ws.new_week(week)
            for expert in ws.experts.values():
                if ws.refresh_idle(expert):
                    step.experts[expert.expert] = expert

    # --- phase 2: the handlers ---------------------------------------------------

    def _on_profile(self, step: Step, event: ExpertProfile) -> None:
        ws = step.ws
        domains = {ws.intern(name): level for name, level in event.domains.items()}
        languages: dict[str, int] = {}
        for tag, level in event.languages.items():
            for key in expand(normalize(tag)):
                rank = CEFR_LEVELS[level]
                if languages.get(key, -1) < rank:
                    languages[ws.intern(key)] = rank
        pools = tuple(
            (ws.intern((domain, language)), domain_level, language_level)
            for domain, domain_level in domains.items()
            for language, language_level in languages.items()
        )
        expert = ws.experts.get(event.expert)
        old_pools: tuple[tuple[str, str], ...] = ()
        if expert is None:
            expert = ws.experts[event.expert] = Expert(
                expert=event.expert,
                domains=domains,
                languages=languages,
                education=EDUCATION_LEVELS[event.education],
                capacity=round(event.weekly_hours * 60),
                concurrency=event.concurrency,
                pools=pools,
            )
        else:
            old_pools = tuple(key for key, _, _ in expert.pools)
            ws.unindex(expert)
            if expert.removed:
                expert.removed = False
                expert.status = "offline"
            expert.domains = domains
            expert.languages = languages
            expert.education = EDUCATION_LEVELS[event.education]
            expert.capacity = round(event.weekly_hours * 60)
            expert.concurrency = event.concurrency
            expert.pools = pools
        ws.index(expert)
        if expert.idle:
            step.experts[expert.expert] = expert
        if old_pools:
            recheck(step, old_pools)

    def _on_status(self, step: Step, event: ExpertStatus) -> None:
        expert = self._live_expert(step, event.expert)
        if expert is None:
            return
        expert.status = event.status
        if step.ws.refresh_idle(expert):
            step.experts[expert.expert] = expert

    def _on_removed(self, step: Step, event: ExpertRemoved) -> None:
        ws = step.ws
        expert = self._live_expert(step, event.expert)
        if expert is None:
            return
        for task_id in list(expert.assignments or ()):
            self._end(step, ws.tasks[task_id], expert, "expert_removed")
        expert.removed = True
        expert.status = "offline"
        ws.unindex(expert)
        step.experts.pop(expert.expert, None)
        recheck(step, tuple(key for key, _, _ in expert.pools))

    def _on_created(self, step: Step, event: TaskCreated) -> None:
        ws = step.ws
        if event.task in ws.tasks:
            self._reject(step, f"task {event.task!r} already exists")
            return
        language = ws.intern(normalize(event.language))
        domain = ws.intern(event.domain)
        created = to_micros(event.at)
        skill = event.skill
        fluency = CEFR_LEVELS[event.fluency]
        education = EDUCATION_LEVELS[event.education]
        # Positional, in the order of Task's fields (rank ... parent): faster than by name.
        task = ws.tasks[event.task] = Task(
            ((100 - event.priority) << _PRIORITY_SHIFT) + created,  # rank
            event.task,
            ws.intern(event.kind),
            domain,
            language,
            skill,
            fluency,
            education,
            event.minutes,
            event.judgements,
            event.priority,
            created,
            ws.intern((domain, language)),  # pool
            ws.intern((skill, fluency, education)),  # requirement
            frozenset(event.exclude) if event.exclude else None,
            event.parent,
        )
        if event.quality is not None or event.experts or event.steps or event.agreement is not None:
            self._v1_1(ws, event, created, task)
        ws.enqueue(task)
        step.tasks.append(task)

    def _v1_1(self, ws: Workspace, event: TaskCreated, created: int, task: Task) -> None:
        """The optional v1.1 fields: gate, allow-list, steps and adaptive overlap."""
        allowed, names = allow_list(event.experts or ())
        extras = task.v1_1 = Extras(
            gate=event.quality,
            allowed=allowed,
            names=names,
            max_judgements=event.max_judgements or event.judgements,
        )
        task.extra = extras.gate is not None or allowed is not None
        if extras.gate is not None:
            ws.gated += 1
        if event.steps:
            extras.ladder = ladder_of(ws, event, created, task, extras)
            schedule(ws, task)
        if event.agreement is not None:
            extras.agreement = event.agreement
            extras.answers = []

    def _on_cancelled(self, step: Step, event: TaskCancelled) -> None:
        task = self._open_task(step, event.task)
        if task is None:
            return
        for expert_id in list(task.open or ()):
            self._end(step, task, step.ws.experts[expert_id], "cancelled")
        task.state = CANCELLED
        step.ws.dequeue(task)
        task.tried = None
        if task.v1_1 is not None and task.v1_1.gate is not None:
            step.ws.gated -= 1

    def _on_declined(self, step: Step, event: TaskDeclined) -> None:
        held = self._held(step, event.task, event.expert)
        if held is not None:
            self._end(step, *held, "declined")

    def _on_submitted(self, step: Step, event: TaskSubmitted) -> None:
        held = self._held(step, event.task, event.expert)
        if held is None:
            return
        task, expert = held
        self._close(step, task, expert, give_back=False)
        if task.submitters is None:
            task.submitters = []
        task.submitters.append(expert.expert)
        extras = task.v1_1
        if extras is not None and extras.answers is not None:
            extras.answers.append(event.answer)
        if len(task.submitters) < task.judgements:
            return
        if (
            extras is not None
            and extras.answers is not None
            and task.judgements < extras.max_judgements
        ):
            largest, share = _agreement(extras.answers)
            assert extras.agreement is not None
            if share < extras.agreement:
                self._extend(step, task, extras, largest, share)
                return
        task.state = COMPLETED
        task.tried = None
        step.ws.dequeue(task)
        if extras is not None and extras.gate is not None:
            step.ws.gated -= 1
        step.emit(TaskCompleted, task=task.task)

    def _extend(self, step: Step, task: Task, extras: Extras, largest: int, share: float) -> None:
        """Adaptive overlap: the answers disagree, so ask one more expert."""
        assert extras.answers is not None and extras.agreement is not None
        task.judgements += 1
        step.emit(
            TaskExtended,
            task=task.task,
            judgements=task.judgements,
            agreement=share,
            reason=(
                f"{largest} of {len(extras.answers)} answers agree "
                f"({share:.3f} < {extras.agreement:g}): one more judgement, "
                f"{task.judgements} of at most {extras.max_judgements}"
            ),
        )
        step.ws.enqueue(task)
        step.tasks.append(task)

    def _on_reviewed(self, step: Step, event: TaskReviewed) -> None:
        ws = step.ws
        task = ws.tasks.get(event.task)
        if task is None:
            self._reject(step, f"unknown task {event.task!r}")
            return
        if not task.submitters or event.expert not in task.submitters:
            self._reject(step, f"expert {event.expert!r} has no submission on task {event.task!r}")
            return
        if event.reviewer == event.expert:
            self._reject(step, "a submission cannot be reviewed by its own author")
            return
        expert = ws.experts[event.expert]
        if expert.records is None:
            expert.records = {}
        record = expert.records.get(task.domain)
        if record is None:
            record = expert.records[task.domain] = Record()
        record.count(event.score, event.passed)
        if record.kinds is None:
            record.kinds = {}
        kind = record.kinds.get(task.kind)
        if kind is None:
            kind = record.kinds[task.kind] = Record()
        kind.count(event.score, event.passed)
        if expert.idle:
            # Its quality in the domain and in the (domain, kind) changed: the idle index.
            ws.rekey(expert)
        _compare(ws, task, event)
        if ws.gated and expert.idle:
            # A better record may open a gated task to this expert at this moment.
            step.experts[expert.expert] = expert

    def _on_tick(self, step: Step, event: ClockTick) -> None:
        """The clock already moved in phase 1; a tick carries nothing more."""

    # --- helpers of the handlers ---------------------------------------------------

    def _reject(self, step: Step, reason: str) -> None:
        step.emit(EventRejected, event=step.cause.id, reason=reason)

    def _live_expert(self, step: Step, expert_id: str) -> Expert | None:
        expert = step.ws.experts.get(expert_id)
        if expert is None:
            self._reject(step, f"unknown expert {expert_id!r}")
        elif expert.removed:
            self._reject(step, f"expert {expert_id!r} was removed")
        else:
            return expert
        return None

    def _open_task(self, step: Step, task_id: str) -> Task | None:
        task = step.ws.tasks.get(task_id)
        if task is None:
            self._reject(step, f"unknown task {task_id!r}")
        elif task.state == COMPLETED:
            self._reject(step, f"task {task_id!r} is already completed")
        elif task.state == CANCELLED:
            self._reject(step, f"task {task_id!r} is cancelled")
        else:
            return task
        return None

    def _held(self, step: Step, task_id: str, expert_id: str) -> tuple[Task, Expert] | None:
        """The task and its holder, if ``expert_id`` holds an open assignment on it."""
        task = self._open_task(step, task_id)
        if task is None:
            return None
        if not task.open or expert_id not in task.open:
            if task.submitters and expert_id in task.submitters:
                why = "already submitted"
            elif task.tried and expert_id in task.tried:
                why = "its assignment has ended"
            else:
                why = "was never assigned it"
            self._reject(
                step, f"expert {expert_id!r} holds no open assignment on task {task_id!r}: {why}"
            )
            return None
        return task, step.ws.experts[expert_id]

    def _close(self, step: Step, task: Task, expert: Expert, give_back: bool) -> None:
        """End an open assignment; an unsubmitted one gives its minutes back."""
        assert task.open is not None and expert.assignments is not None
        assigned = task.open.pop(expert.expert)
        del expert.assignments[task.task]
        if give_back and week_index(assigned) == expert.week:
            expert.used -= task.minutes
        if not expert.removed:
            if step.ws.refresh_idle(expert) and give_back:
                step.ws.rekey(expert)
            step.experts[expert.expert] = expert

    def _end(self, step: Step, task: Task, expert: Expert, reason: RequeueReason) -> None:
        """An assignment ends without a submission: ``task.requeued``."""
        self._close(step, task, expert, give_back=True)
        step.emit(
            TaskRequeued,
            task=task.task,
            expert=expert.expert,
            reason=reason,
        )
        if reason != "cancelled" and task.taken() < task.judgements:
            step.ws.enqueue(task)
            step.tasks.append(task)


def _compare(ws: Workspace, task: Task, event: TaskReviewed) -> None:
    """Keep the review with its submission; each earlier one by another reviewer is compared.

    A comparison counts for both reviewers (those who are experts of the
    workspace): closeness 1 - |score - other score|, in log order. An idle
    reviewer's agreement is part of its steady score on review kinds, so the
    idle index hears of the change.
    """
    if task.reviews is None:
        task.reviews = {}
    earlier = task.reviews.get(event.expert)
    if earlier is None:
        earlier = task.reviews[event.expert] = []
    for reviewer, score in earlier:
        if reviewer == event.reviewer:
            continue
        closeness = 1.0 - abs(event.score - score)
        for name in (event.reviewer, reviewer):
            expert = ws.experts.get(name)
            if expert is not None:
                if expert.agreement is None:
                    expert.agreement = Record()
                expert.agreement.count(closeness)
                if expert.idle:
                    ws.rekey(expert)
    earlier.append((event.reviewer, event.score))


def _agreement(answers: list[str | None]) -> tuple[int, float]:
    """The largest group of equal answers, and its share of all submissions.

    A submission without an answer counts among the submissions but is in
    no group; the share is an IEEE-754 double division, as the contract says.
    """
    groups: dict[str, int] = {}
    for answer in answers:
        if answer is not None:
            groups[answer] = groups.get(answer, 0) + 1
    largest = max(groups.values(), default=0)
    return largest, largest / len(answers)


_Handler = Callable[[Engine, Step, Any], None]
_HANDLERS: Final[dict[type, _Handler]] = {
    ExpertProfile: Engine._on_profile,
    ExpertStatus: Engine._on_status,
    ExpertRemoved: Engine._on_removed,
    TaskCreated: Engine._on_created,
    TaskCancelled: Engine._on_cancelled,
    TaskDeclined: Engine._on_declined,
    TaskSubmitted: Engine._on_submitted,
    TaskReviewed: Engine._on_reviewed,
    ClockTick: Engine._on_tick,
}
