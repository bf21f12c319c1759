"""The routing core: a pure, deterministic fold from input events to decisions.

``Engine.apply`` takes one accepted input event and returns the output
events it causes, in order. It reads no clock, draws no random number and
does no I/O: the same events in the same order give the same outputs, byte
for byte, whether they come from the embedded log, from Kafka, from a replay
or from a simulation. Each step runs in three phases:

1. the workspace clock moves to the event's ``at`` (never backwards), which
   ends the leases that ran out and, at a new ISO week, renews capacity;
2. the event's own handler changes the state, or refuses the event;
3. dispatch serves the queue: every task that some available expert with
   room can take is assigned, by priority, then age, then id, to the expert
   the policy scores best (ties by expert id).
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable
from typing import Any, Final

from events import (
    CEFR_LEVELS,
    EDUCATION_LEVELS,
    HOUR,
    MINUTE,
    ClockTick,
    EventRejected,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    InputEvent,
    OutputEvent,
    RequeueReason,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskDeclined,
    TaskRequeued,
    TaskReviewed,
    TaskSubmitted,
    TaskUnroutable,
    expand,
    from_micros,
    normalize,
    to_micros,
    week_index,
)

from ._policy import DEFAULT_POLICY, Policy, Score
from ._state import CANCELLED, COMPLETED, ClassQueue, Expert, Record, Task, Workspace

__all__ = ["Engine", "output_id"]

_CEFR_NAMES: Final = {rank: name for name, rank in CEFR_LEVELS.items()}
_EDUCATION_NAMES: Final = {rank: name for name, rank in EDUCATION_LEVELS.items()}
_MAX_CAUSE: Final = 120  # 128 minus room for '/' and a seven-digit count
_PRIORITY_SHIFT: Final = 64  # rank = (100 - priority) << 64 | creation instant
_FEW: Final = 4  # above this many freed experts in one step, dispatch walks class queues


def output_id(cause: str, n: int) -> str:
    """Id of the n-th output (from 1) caused by the input event ``cause``.

    Derived from the cause so that a re-run writes the same ids. A cause
    longer than 120 characters is replaced by its digest, for every output
    of it, so that ids stay within 128 characters up to 9,999,999 outputs.
    """
    if len(cause) <= _MAX_CAUSE:
        return f"{cause}/{n}"
    digest = hashlib.blake2b(cause.encode(), digest_size=16).hexdigest()
    return f"~{digest}/{n}"


class _Step:
    """What one input event has done so far: outputs, freed experts, tasks to place."""

    __slots__ = ("cause", "experts", "outputs", "tasks", "ws")

    def __init__(self, ws: Workspace, cause: InputEvent) -> None:
        self.ws = ws
        self.cause = cause
        self.outputs: list[OutputEvent] = []
        self.tasks: list[Task] = []
        self.experts: dict[str, Expert] = {}

    def emit(self, kind: type[OutputEvent], **fields: Any) -> None:
        """Write an output of this step: its id, time and workspace come from the cause."""
        cause = self.cause
        self.outputs.append(
            kind(
                output_id(cause.id, len(self.outputs) + 1),
                cause.at,
                cause.workspace,
                cause=cause.id,
                **fields,
            )
        )


class _Cursor:
    """A walk through one class queue on behalf of the experts freed in a step."""

    __slots__ = ("experts", "queue", "week")

    def __init__(self, queue: ClassQueue, week: int) -> None:
        self.queue = queue
        self.week = week
        self.experts: list[Expert] = []

    def after(self, task: Task) -> Task | None:
        """The next task after ``task`` worth trying, or None when the walk is over."""
        self.experts = [expert for expert in self.experts if expert.idle]
        if not self.experts:
            return None
        queue = self.queue
        if queue.head is None:
            return None
        week_room = max(e.capacity - e.used_in(self.week) for e in self.experts)
        if queue.shortest > week_room:
            return None
        tasks = queue.tasks
        for following in tasks.islice(tasks.bisect_right(task)):
            if following.minutes <= week_room:
                return following
        return None


class Engine:
    """The routing core over any number of workspaces."""

    def __init__(self, policy: Policy = DEFAULT_POLICY) -> None:
        self.policy = policy
        self.workspaces: dict[str, Workspace] = {}

    def apply(self, event: InputEvent) -> list[OutputEvent]:
        """Fold one accepted input event into the state; return what it causes."""
        ws = self.workspaces.get(event.workspace)
        if ws is None:
            ws = self.workspaces[event.workspace] = Workspace(event.workspace)
        step = _Step(ws, event)
        self._advance(step, to_micros(event.at))
        handler = _HANDLERS[type(event)]
        handler(self, step, event)
        if step.tasks or step.experts:
            self._dispatch(step)
        return step.outputs

    # --- phase 1: the clock ----------------------------------------------------

    def _advance(self, step: _Step, now: int) -> None:
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
            ws.week = week
            for expert in ws.experts.values():
                if ws.refresh_idle(expert):
                    step.experts[expert.expert] = expert

    # --- phase 2: the handlers ---------------------------------------------------

    def _on_profile(self, step: _Step, event: ExpertProfile) -> None:
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
            self._recheck(step, old_pools)

    def _on_status(self, step: _Step, event: ExpertStatus) -> None:
        expert = self._live_expert(step, event.expert)
        if expert is None:
            return
        expert.status = event.status
        if step.ws.refresh_idle(expert):
            step.experts[expert.expert] = expert

    def _on_removed(self, step: _Step, event: ExpertRemoved) -> None:
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
        self._recheck(step, tuple(key for key, _, _ in expert.pools))

    def _on_created(self, step: _Step, event: TaskCreated) -> None:
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
        task = ws.tasks[event.task] = Task(
            rank=((100 - event.priority) << _PRIORITY_SHIFT) + created,
            task=event.task,
            kind=ws.intern(event.kind),
            domain=domain,
            language=language,
            skill=skill,
            fluency=fluency,
            education=education,
            minutes=event.minutes,
            judgements=event.judgements,
            priority=event.priority,
            created=created,
            pool=ws.intern((domain, language)),
            requirement=ws.intern((skill, fluency, education)),
            exclude=frozenset(event.exclude) if event.exclude else None,
            parent=event.parent,
        )
        ws.enqueue(task)
        step.tasks.append(task)

    def _on_cancelled(self, step: _Step, event: TaskCancelled) -> None:
        task = self._open_task(step, event.task)
        if task is None:
            return
        for expert_id in list(task.open or ()):
            self._end(step, task, step.ws.experts[expert_id], "cancelled")
        task.state = CANCELLED
        step.ws.dequeue(task)
        task.tried = None

    def _on_declined(self, step: _Step, event: TaskDeclined) -> None:
        held = self._held(step, event.task, event.expert)
        if held is not None:
            self._end(step, *held, "declined")

    def _on_submitted(self, step: _Step, event: TaskSubmitted) -> None:
        held = self._held(step, event.task, event.expert)
        if held is None:
            return
        task, expert = held
        self._close(step, task, expert, give_back=False)
        if task.submitters is None:
            task.submitters = []
        task.submitters.append(expert.expert)
        if len(task.submitters) >= task.judgements:
            task.state = COMPLETED
            task.tried = None
            step.ws.dequeue(task)
            step.emit(TaskCompleted, task=task.task)

    def _on_reviewed(self, step: _Step, event: TaskReviewed) -> None:
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
        record.reviews += 1
        record.total += event.score
        record.passed += event.passed

    def _on_tick(self, step: _Step, event: ClockTick) -> None:
        """The clock already moved in phase 1; a tick carries nothing more."""

    # --- helpers of the handlers ---------------------------------------------------

    def _reject(self, step: _Step, reason: str) -> None:
        step.emit(EventRejected, event=step.cause.id, reason=reason)

    def _live_expert(self, step: _Step, expert_id: str) -> Expert | None:
        expert = step.ws.experts.get(expert_id)
        if expert is None:
            self._reject(step, f"unknown expert {expert_id!r}")
        elif expert.removed:
            self._reject(step, f"expert {expert_id!r} was removed")
        else:
            return expert
        return None

    def _open_task(self, step: _Step, task_id: str) -> Task | None:
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

    def _held(self, step: _Step, task_id: str, expert_id: str) -> tuple[Task, Expert] | None:
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

    def _close(self, step: _Step, task: Task, expert: Expert, give_back: bool) -> None:
        """End an open assignment; an unsubmitted one gives its minutes back."""
        assert task.open is not None and expert.assignments is not None
        assigned = task.open.pop(expert.expert)
        del expert.assignments[task.task]
        if give_back and week_index(assigned) == expert.week:
            expert.used -= task.minutes
        if not expert.removed:
            step.ws.refresh_idle(expert)
            step.experts[expert.expert] = expert

    def _end(self, step: _Step, task: Task, expert: Expert, reason: RequeueReason) -> None:
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

    # --- phase 3: dispatch -----------------------------------------------------------

    def _dispatch(self, step: _Step) -> None:
        """Serve the queue until no queued task can be taken by an expert with room.

        Before the event no queued task could be taken (the invariant), so
        only two kinds of pair can match now: a task placed in this step with
        any expert, and any queued task with an expert freed in this step.
        Candidates are taken from a heap in queue order (rank, then id); each
        goes to the best-scored expert who can take it, who may or may not
        be the one that put it on the heap.
        """
        if len(step.experts) > _FEW:
            self._dispatch_many(step)
            return
        ws = step.ws
        heap = [(task.rank, task.task, "") for task in step.tasks if task.queued]
        for expert in step.experts.values():
            self._offer(ws, expert, heap)
        heapq.heapify(heap)
        while heap:
            _, task_id, expert_id = heapq.heappop(heap)
            task = ws.tasks[task_id]
            if task.queued:
                chosen, eligible = self._choose(ws, task)
                if chosen is not None:
                    self._assign(step, task, chosen, eligible)
                    if task.queued:
                        heapq.heappush(heap, (task.rank, task.task, ""))
                elif not expert_id:
                    self._check_routable(step, task)
            if expert_id:
                # Whether or not it got this task, the expert may take another.
                self._offer(ws, ws.experts[expert_id], heap)

    def _dispatch_many(self, step: _Step) -> None:
        """The same service when many experts free up at once (a new week, a wave of leases).

        Offering each expert its own best task would send them all after the
        same few heads, over and over. Instead every class queue that some
        freed expert meets gets one cursor, and the cursors walk their queues
        in rank order, each task going to the best expert who can take it.
        A cursor stops when none of its freed experts has room left.
        """
        ws = step.ws
        cursors: dict[int, _Cursor] = {}
        for expert in step.experts.values():
            if not expert.idle:
                continue
            for key, domain_level, language_level in expert.pools:
                pool = ws.pools.get(key)
                if pool is None or not pool.queued:
                    continue
                for queue in pool.menu(domain_level, language_level, expert.education):
                    if queue.head is not None:
                        cursor = cursors.get(id(queue))
                        if cursor is None:
                            cursor = cursors[id(queue)] = _Cursor(queue, ws.week)
                        cursor.experts.append(expert)
        heap: list[tuple[int, str, int, _Cursor | None]] = []
        for task in step.tasks:
            if task.queued:
                heap.append((task.rank, task.task, len(heap), None))
        for cursor in cursors.values():
            head = cursor.queue.head
            assert head is not None
            heap.append((head.rank, head.task, len(heap), cursor))
        heapq.heapify(heap)
        serial = len(heap)
        while heap:
            _, task_id, _, cursor = heapq.heappop(heap)
            task = ws.tasks[task_id]
            chosen: Expert | None = None
            if task.queued:
                chosen, eligible = self._choose(ws, task)
                if chosen is not None:
                    self._assign(step, task, chosen, eligible)
                elif cursor is None:
                    self._check_routable(step, task)
            if cursor is None:
                if chosen is not None and task.queued:
                    heapq.heappush(heap, (task.rank, task.task, serial, None))
                    serial += 1
                continue
            follow = task if chosen is not None and task.queued else cursor.after(task)
            if follow is not None:
                heapq.heappush(heap, (follow.rank, follow.task, serial, cursor))
                serial += 1

    def _offer(self, ws: Workspace, expert: Expert, heap: list[tuple[int, str, str]]) -> None:
        """Put the first queued task this expert can take on the heap."""
        if not expert.idle:
            return
        room = expert.capacity - expert.used_in(ws.week)
        personal = self._personal
        best: Task | None = None
        for key, domain_level, language_level in expert.pools:
            pool = ws.pools.get(key)
            if pool is None or not pool.queued:
                continue
            for queue in pool.menu(domain_level, language_level, expert.education):
                head = queue.head
                if head is None or queue.shortest > room or (best is not None and head > best):
                    continue
                if head.minutes <= room and personal(ws, expert, head):
                    best = head
                    continue
                # Rare: the head is too long or barred for this expert; look further.
                for task in queue.tasks.islice(1):
                    if best is not None and task > best:
                        break
                    if task.minutes <= room and personal(ws, expert, task):
                        best = task
                        break
        if best is not None:
            heapq.heappush(heap, (best.rank, best.task, expert.expert))

    def _choose(self, ws: Workspace, task: Task) -> tuple[Expert | None, int]:
        """The best-scored expert who can take the task now, and how many can.

        The hot loop of routing: the contract's rules 1 and 2 (the pool's idle
        set already holds only available experts with an open slot), cheapest
        check first; only experts who pass them are scored.
        """
        pool = ws.pools.get(task.pool)
        if pool is None or not pool.idle:
            return None, 0
        experts = ws.experts
        week = ws.week
        domain, language = task.domain, task.language
        skill, fluency, education, minutes = task.skill, task.fluency, task.education, task.minutes
        barred = task.tried is not None or task.exclude is not None or task.parent is not None
        score = self._score
        best: Expert | None = None
        best_total = -1.0
        eligible = 0
        for expert_id in pool.idle:
            expert = experts[expert_id]
            if (
                expert.domains.get(domain, 0) < skill
                or expert.languages.get(language, -1) < fluency
                or expert.education < education
                or (expert.used if expert.week == week else 0) + minutes > expert.capacity
                or (barred and not self._personal(ws, expert, task))
            ):
                continue
            eligible += 1
            total = score(ws, expert, task).total
            if total > best_total or (
                total == best_total and best is not None and expert_id < best.expert
            ):
                best, best_total = expert, total
        return best, eligible

    @staticmethod
    def _personal(ws: Workspace, expert: Expert, task: Task) -> bool:
        """Not excluded, not assigned this task before, not an author of its parent."""
        if task.tried is None and task.exclude is None and task.parent is None:
            return True
        name = expert.expert
        if task.tried and name in task.tried:
            return False
        if task.exclude and name in task.exclude:
            return False
        if task.parent:
            parent = ws.tasks.get(task.parent)
            if parent is not None and (
                (parent.submitters and name in parent.submitters)
                or (parent.open and name in parent.open)
            ):
                return False
        return True

    def _score(self, ws: Workspace, expert: Expert, task: Task) -> Score:
        policy = self.policy
        record = expert.records.get(task.domain) if expert.records else None
        quality = (
            policy.quality_of(record.reviews, record.total) if record else policy.quality_prior
        )
        load = 1.0 - expert.used_in(ws.week) / expert.capacity
        if expert.last_assigned < 0:
            idle = 1.0
        else:
            idle = min(1.0, (ws.clock - expert.last_assigned) / (policy.idle_horizon_hours * HOUR))
        excess = (
            (expert.domains[task.domain] - task.skill) / 4
            + (expert.languages[task.language] - task.fluency) / 6
            + (expert.education - task.education) / 4
        ) / 3
        fit = 1.0 - excess
        total = (
            policy.quality * quality + policy.load * load + policy.idle * idle + policy.fit * fit
        )
        return Score(total, quality, load, idle, fit)

    def _assign(self, step: _Step, task: Task, expert: Expert, eligible: int) -> None:
        ws = step.ws
        now = ws.clock
        score = self._score(ws, expert, task)
        reasons = self._reasons(ws, expert, task, score, eligible)
        until = now + self.policy.lease_minutes(task.minutes) * MINUTE
        task.attempts += 1
        if task.open is None:
            task.open = {}
        task.open[expert.expert] = now
        if task.tried is None:
            task.tried = set()
        task.tried.add(expert.expert)
        task.unroutable = False
        if task.taken() >= task.judgements:
            ws.dequeue(task)
        if expert.assignments is None:
            expert.assignments = {}
        expert.assignments[task.task] = None
        if expert.week != ws.week:
            expert.week = ws.week
            expert.used = 0
        expert.used += task.minutes
        expert.last_assigned = now
        ws.refresh_idle(expert)
        ws.lease(until, task.task, expert.expert)
        step.emit(
            TaskAssigned,
            task=task.task,
            expert=expert.expert,
            attempt=task.attempts,
            lease_until=from_micros(until),
            score=round(score.total, 4),
            reasons=reasons,
        )

    def _reasons(
        self, ws: Workspace, expert: Expert, task: Task, score: Score, eligible: int
    ) -> tuple[str, ...]:
        record = expert.records.get(task.domain) if expert.records else None
        if record:
            quality = f"quality {score.quality:.2f} from {record.reviews} reviews in {task.domain}"
        else:
            quality = f"quality {score.quality:.2f} (prior: no reviews in {task.domain})"
        used = expert.used_in(ws.week)
        if expert.last_assigned < 0:
            idle = "idle: no assignment yet"
        else:
            idle = f"idle {(ws.clock - expert.last_assigned) / HOUR:.1f}h"
        fluency = _CEFR_NAMES[expert.languages[task.language]]
        return (
            f"meets {task.domain} {expert.domains[task.domain]}>={task.skill}, "
            f"{task.language} {fluency}>={_CEFR_NAMES[task.fluency]}, "
            f"{_EDUCATION_NAMES[expert.education]}>={_EDUCATION_NAMES[task.education]}",
            quality,
            f"load {used / 60:.1f}h of {expert.capacity / 60:g}h this week",
            idle,
            f"fit {score.fit:.2f}",
            "only eligible expert with room"
            if eligible == 1
            else f"best of {eligible} eligible with room",
        )

    # --- staffing gaps -----------------------------------------------------------------

    def _check_routable(self, step: _Step, task: Task) -> None:
        """Write ``task.unroutable`` once if nobody in the workspace could ever take it."""
        if task.unroutable or self._could_anyone(step.ws, task):
            return
        task.unroutable = True
        step.emit(
            TaskUnroutable,
            task=task.task,
            reason=self._gap(step.ws, task),
        )

    def _gap(self, ws: Workspace, task: Task) -> str:
        """Why nobody can take the task: the requirement, and who is excluded."""
        reason = (
            f"no expert in the workspace has {task.domain}>={task.skill}, "
            f"{task.language}>={_CEFR_NAMES[task.fluency]}, "
            f"education>={_EDUCATION_NAMES[task.education]} and "
            f"{task.minutes} minutes of weekly hours"
        )
        pool = ws.pools.get(task.pool)
        barred = sum(
            1
            for expert_id in (pool.experts if pool else ())
            if not self._personal(ws, ws.experts[expert_id], task)
        )
        if barred:
            reason += f"; {barred} in its pool are excluded, already had it or wrote its parent"
        return reason

    def _could_anyone(self, ws: Workspace, task: Task) -> bool:
        pool = ws.pools.get(task.pool)
        if pool is None:
            return False
        queue = pool.classes.get(task.requirement)
        if queue is not None and queue.witness:
            witness = ws.experts[queue.witness]
            if self._could(ws, witness, task):
                return True
        for expert_id in pool.experts:
            if self._could(ws, ws.experts[expert_id], task):
                if queue is not None:
                    queue.witness = expert_id
                return True
        return False

    def _could(self, ws: Workspace, expert: Expert, task: Task) -> bool:
        """Could the expert ever take the task, whatever its status and load?"""
        return (
            not expert.removed
            and expert.domains.get(task.domain, 0) >= task.skill
            and expert.languages.get(task.language, -1) >= task.fluency
            and expert.education >= task.education
            and expert.capacity >= task.minutes
            and self._personal(ws, expert, task)
        )

    def _recheck(self, step: _Step, pools: tuple[tuple[str, str], ...]) -> None:
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
                    and self._could(ws, witness, head)
                ):
                    continue
                queue.witness = ""
                for task in list(queue.tasks):
                    self._check_routable(step, task)


_Handler = Callable[[Engine, _Step, Any], None]
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
