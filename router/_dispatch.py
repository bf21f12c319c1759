"""Dispatch: the third phase of a step, serving the queue after the event's change.

Before the event no queued task could be taken (the invariant), so only two
kinds of pair can match now: a task placed in this step with any expert,
and any queued task with an expert freed in this step. Dispatch walks
those candidates in queue order (rank, then id) and gives each task to the
expert ``choose`` scores best, until nothing more can be taken; a task that
nobody could ever take is flagged by the staffing check instead.
"""

from __future__ import annotations

import heapq
from itertools import islice
from typing import Final

from events import MINUTE, TaskAssigned, from_micros

from ._gaps import check_routable
from ._index import choose
from ._policy import Policy, Score
from ._scoring import Ranking, admitted, personal, reasons, record_of, score
from ._state import ClassQueue, Expert, Task, Workspace
from ._step import Step

__all__ = ["dispatch"]

_FEW: Final = 4  # above this many freed experts in one step, dispatch walks class queues


def dispatch(step: Step, policy: Policy, ranking: Ranking | None = None) -> None:
    """Serve the queue until no queued task can be taken by an expert with room.

    Candidates are taken from a heap in queue order; each goes to the
    best-scored expert who can take it, who may or may not be the one that
    put it on the heap.
    """
    if len(step.experts) > _FEW:
        _dispatch_many(step, policy, ranking)
        return
    ws = step.ws
    heap = [(task.rank, task.task, "") for task in step.tasks if task.queued] if step.tasks else []
    for expert in step.experts.values():
        _offer(ws, expert, heap, policy)
    heapq.heapify(heap)
    while heap:
        _, task_id, expert_id = heapq.heappop(heap)
        task = ws.tasks[task_id]
        if task.queued:
            chosen, eligible, scored = choose(ws, task, policy, ranking)
            if chosen is not None:
                _assign(step, task, chosen, eligible, policy, scored=scored, ranking=ranking)
                if task.queued:
                    heapq.heappush(heap, (task.rank, task.task, ""))
            elif not expert_id:
                check_routable(step, task)
        if expert_id:
            # Whether or not it got this task, the expert may take another.
            _offer(ws, ws.experts[expert_id], heap, policy)


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


def _dispatch_many(step: Step, policy: Policy, ranking: Ranking | None) -> None:
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
            chosen, eligible, scored = choose(ws, task, policy, ranking)
            if chosen is not None:
                _assign(step, task, chosen, eligible, policy, scored=scored, ranking=ranking)
            elif cursor is None:
                check_routable(step, task)
        if cursor is None:
            if chosen is not None and task.queued:
                heapq.heappush(heap, (task.rank, task.task, serial, None))
                serial += 1
            continue
        follow = task if chosen is not None and task.queued else cursor.after(task)
        if follow is not None:
            heapq.heappush(heap, (follow.rank, follow.task, serial, cursor))
            serial += 1


def _offer(ws: Workspace, expert: Expert, heap: list[tuple[int, str, str]], policy: Policy) -> None:
    """Put the first queued task this expert can take on the heap."""
    if not expert.idle:
        return
    room = expert.capacity - (expert.used if expert.week == ws.week else 0)
    best: Task | None = None
    pools = ws.pools
    education = expert.education
    for key, domain_level, language_level in expert.pools:
        pool = pools.get(key)
        if pool is None or not pool.queued:
            continue
        for queue in pool.menu(domain_level, language_level, education):
            head = queue.head
            if head is None or queue.shortest > room or (best is not None and head > best):
                continue
            if (
                head.minutes <= room
                and (
                    (head.tried is None and head.exclude is None and head.parent is None)
                    or personal(ws, expert, head)
                )
                and (not head.extra or admitted(expert, head, policy))
            ):
                best = head
                continue
            # Rare: the head is too long or barred for this expert; look further.
            # (Iterating the list skips the index lookups of ``SortedList.islice``.)
            for task in islice(queue.tasks, 1, None):
                if best is not None and task > best:
                    break
                if (
                    task.minutes <= room
                    and personal(ws, expert, task)
                    and (not task.extra or admitted(expert, task, policy))
                ):
                    best = task
                    break
    if best is not None:
        heapq.heappush(heap, (best.rank, best.task, expert.expert))


def _assign(
    step: Step,
    task: Task,
    expert: Expert,
    eligible: int,
    policy: Policy,
    *,
    scored: Score | None,
    ranking: Ranking | None,
) -> None:
    """Give the task to the expert: ``task.assigned``, with a lease and the reasons.

    ``scored`` is the expert's score when the choice computed it (a scan),
    None when it did not (the index); then it is computed here.
    """
    ws = step.ws
    now = ws.clock
    chosen = scored
    if chosen is None:
        chosen = (
            score(ws, expert, task, policy)
            if ranking is None
            else ranking.score(ws, expert, task, policy)
        )
    why = reasons(ws, expert, task, chosen, eligible, policy=policy)
    extras = task.v1_1
    until = now + policy.lease_minutes(task.minutes) * MINUTE
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
    if ws.refresh_idle(expert):
        ws.rekey(expert)
    ws.lease(until, task.task, expert.expert)
    if ranking is not None:
        ranking.assigned(ws, task, expert)
    # ``record`` is present exactly when a gate is in force; None is its default, which
    # ``omit_defaults`` leaves out of the bytes, as if it were never given. Built here
    # rather than through ``step.emit``: this is the one output of most steps.
    cause = step.cause
    step.outputs.append(
        TaskAssigned(
            step.next_id(),
            cause.at,
            cause.workspace,
            cause=cause.id,
            task=task.task,
            expert=expert.expert,
            attempt=task.attempts,
            lease_until=from_micros(until),
            score=round(chosen.total, 4),
            reasons=why,
            record=None
            if extras is None or extras.gate is None
            else record_of(expert, task.domain, policy),
        )
    )
