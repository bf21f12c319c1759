"""The router's state of one workspace, and the indexes that make matching fast.

A *pool* is a (domain, language) pair. Each pool keeps the experts who cover
it, the subset of them who could take work right now (``idle``), and its
queued tasks split into *classes* by requirement (skill, fluency,
education), each class ordered by rank: priority first, then age, then id.
An expert who frees up looks only at the heads of the classes it meets in
its own pools; a new task looks only at the idle experts of its pool, and
in a large pool only at a few of them, through the pool's idle index
(``_index``): the workspace tells the index of every change to the idle set
and of every change to an idle expert's quality, load or last assignment.
"""

from __future__ import annotations

import heapq
from typing import Final, Protocol, TypeVar

import msgspec
from sortedcontainers import SortedList

from events import Status

__all__ = [
    "CANCELLED",
    "COMPLETED",
    "QUEUED",
    "ClassQueue",
    "Expert",
    "Extras",
    "IdleIndex",
    "Pool",
    "Record",
    "Rung",
    "Task",
    "Workspace",
]

#: Task lifecycle: QUEUED until all its judgements are submitted, or it is cancelled.
QUEUED: Final = 0
COMPLETED: Final = 1
CANCELLED: Final = 2

_T = TypeVar("_T")
PoolKey = tuple[str, str]
Requirement = tuple[int, int, int]  # skill, fluency rank, education rank


class Record(msgspec.Struct, gc=False):
    """An expert's review record in one domain (and, in ``kinds``, per kind in it).

    Also a reviewer's agreement: ``reviews`` comparisons with other reviews
    of the same work, ``total`` the sum of their closeness.
    """

    reviews: int = 0
    total: float = 0.0
    passed: int = 0
    kinds: dict[str, Record] | None = None  # task kind -> the record of that kind

    def count(self, score: float, passed: bool = False) -> None:
        """One more review (or comparison) of ``score``, passed or not."""
        self.reviews += 1
        self.total += score
        self.passed += passed


class Expert(msgspec.Struct, gc=False):
    """An expert's profile and the router's running account of them."""

    expert: str
    domains: dict[str, int]
    languages: dict[str, int]  # normalized tag and its prefixes -> CEFR rank
    education: int
    capacity: int  # contracted minutes per ISO week
    concurrency: int
    pools: tuple[tuple[PoolKey, int, int], ...]  # (pool, domain level, language level)
    status: Status = "offline"
    removed: bool = False
    idle: bool = False  # listed in the idle sets of its pools
    week: int = 0
    used: int = 0  # minutes assigned in ``week``
    last_assigned: int = -1
    assignments: dict[str, None] | None = None  # open ones, in assignment order
    records: dict[str, Record] | None = None
    #: As a reviewer: how close their scores came to other reviews of the same work.
    agreement: Record | None = None

    def used_in(self, week: int) -> int:
        """Minutes assigned to the expert in the given week."""
        return self.used if self.week == week else 0

    def open_count(self) -> int:
        """How many open assignments the expert holds."""
        return len(self.assignments) if self.assignments else 0


class Rung(msgspec.Struct, frozen=True, gc=False):
    """The requirements of a task from one of its steps on (v1.1), all fields resolved.

    ``allowed`` is the allow-list as a set (None: no list) and ``names`` the
    same list as the producer wrote it, for ``task.escalated``.
    """

    after: int  # minutes after the task's own ``at``
    due: int  # instant (µs) the step is reached
    skill: int
    fluency: int
    education: int
    gate: float | None
    allowed: frozenset[str] | None
    names: tuple[str, ...]
    requirement: Requirement
    changes: str  # what the step changes, in words


class Extras(msgspec.Struct, gc=False):
    """What only a v1.1 task has, kept apart so that a v1 task pays one empty slot."""

    gate: float | None = None  # minimum quality record in the domain
    allowed: frozenset[str] | None = None  # only these experts, if set
    names: tuple[str, ...] = ()  # the allow-list as written
    ladder: tuple[Rung, ...] = ()  # the steps, resolved
    reached: int = 0  # steps reached so far
    max_judgements: int = 0
    agreement: float | None = None
    answers: list[str | None] | None = None  # one per submission, with ``agreement``


class Task(msgspec.Struct, order=True, gc=False):
    """A task and its assignments. Ordered by (rank, task): the queue order."""

    rank: int
    task: str
    kind: str
    domain: str
    language: str
    skill: int
    fluency: int
    education: int
    minutes: int
    judgements: int
    priority: int
    created: int
    pool: PoolKey
    requirement: Requirement
    exclude: frozenset[str] | None
    parent: str | None
    state: int = QUEUED
    queued: bool = False  # in its class queue: it needs more judgements
    unroutable: bool = False  # task.unroutable was written and still holds
    attempts: int = 0
    open: dict[str, int] | None = None  # expert -> instant assigned (µs), in assignment order
    submitters: list[str] | None = None
    tried: set[str] | None = None  # everyone ever assigned: never again
    # --- v1.1 ---------------------------------------------------------------
    #: A gate or an allow-list is in force: the one flag the hot path reads.
    extra: bool = False
    v1_1: Extras | None = None
    #: Reviews of each submission: author -> [(reviewer, score)], in log order.
    reviews: dict[str, list[tuple[str, float]]] | None = None

    def taken(self) -> int:
        """Open assignments plus submissions."""
        return (len(self.open) if self.open else 0) + (
            len(self.submitters) if self.submitters else 0
        )


class ClassQueue:
    """Queued tasks of one pool with the same requirement, in queue order."""

    __slots__ = ("head", "minutes", "shortest", "tasks", "witness")

    def __init__(self) -> None:
        self.tasks: SortedList[Task] = SortedList()
        self.head: Task | None = None  # tasks[0], kept at hand: it is read on every offer
        self.minutes: dict[int, int] = {}  # estimated minutes -> how many tasks
        self.shortest = 0
        self.witness = ""  # an expert known to meet this class, checked first

    def add(self, task: Task) -> None:
        self.tasks.add(task)
        if self.head is None or task < self.head:
            self.head = task
        count = self.minutes.get(task.minutes, 0)
        self.minutes[task.minutes] = count + 1
        if count == 0 and (len(self.minutes) == 1 or task.minutes < self.shortest):
            self.shortest = task.minutes

    def fill(self, tasks: list[Task]) -> None:
        """Add many tasks at once, as ``add`` one by one would (a restore's bulk load)."""
        if not tasks:
            return
        self.tasks.update(tasks)
        self.head = self.tasks[0]
        minutes = self.minutes
        for task in tasks:
            minutes[task.minutes] = minutes.get(task.minutes, 0) + 1
        self.shortest = min(minutes)

    def remove(self, task: Task) -> None:
        if task is self.head:
            # Most removals are of the head, which an assignment takes: no bisection.
            self.tasks.pop(0)
            self.head = self.tasks[0] if self.tasks else None
        else:
            self.tasks.remove(task)
        count = self.minutes[task.minutes] - 1
        if count:
            self.minutes[task.minutes] = count
        else:
            del self.minutes[task.minutes]
            if task.minutes == self.shortest and self.minutes:
                self.shortest = min(self.minutes)


class IdleIndex(Protocol):
    """What a pool tells its idle indexes (``_index.PoolIndexes``) of the idle experts."""

    def enter(self, expert: Expert) -> None:
        """The expert is idle in the pool, newly or with a changed score."""
        ...

    def leave(self, expert: str) -> None:
        """The expert is no longer idle in the pool."""
        ...


class Pool:
    """One (domain, language) pair: its experts, idle experts and queued tasks."""

    __slots__ = ("classes", "experts", "idle", "index", "menus", "queued")

    def __init__(self) -> None:
        self.experts: set[str] = set()
        self.idle: set[str] = set()
        #: Derived from ``idle``, kept only for a large idle set (see ``_index``).
        self.index: IdleIndex | None = None
        self.classes: dict[Requirement, ClassQueue] = {}
        self.menus: dict[int, list[ClassQueue]] = {}
        self.queued = 0

    def menu(self, domain_level: int, language_level: int, education: int) -> list[ClassQueue]:
        """The classes an expert of these levels meets; cached, as few levels recur."""
        # One int for the three levels (each below 16): no tuple to build and hash per offer.
        key = (domain_level << 8) | (language_level << 4) | education
        menu = self.menus.get(key)
        if menu is None:
            menu = self.menus[key] = [
                queue
                for (skill, fluency, schooling), queue in self.classes.items()
                if skill <= domain_level and fluency <= language_level and schooling <= education
            ]
        return menu

    def queue(self, requirement: Requirement) -> ClassQueue:
        queue = self.classes.get(requirement)
        if queue is None:
            queue = self.classes[requirement] = ClassQueue()
            self.menus.clear()
        return queue


class Workspace:
    """Everything the router knows about one workspace."""

    __slots__ = (
        "clock",
        "escalations",
        "experts",
        "gated",
        "leases",
        "name",
        "pools",
        "strings",
        "tasks",
        "week",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.clock = -(2**62)
        self.week = 0
        self.experts: dict[str, Expert] = {}
        self.tasks: dict[str, Task] = {}
        self.pools: dict[PoolKey, Pool] = {}
        self.leases: list[tuple[int, str, str]] = []  # heap of (until, task, expert)
        self.strings: dict[object, object] = {}  # interned names and keys
        self.escalations: list[tuple[int, str, int]] = []  # heap of (due, task, step index)
        self.gated = 0  # tasks neither completed nor cancelled with a gate in force

    def intern(self, value: _T) -> _T:
        """One shared object per distinct domain, language, kind or key."""
        return self.strings.setdefault(value, value)  # type: ignore[return-value]

    def pool(self, key: PoolKey) -> Pool:
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = Pool()
        return pool

    # --- queue ---------------------------------------------------------------

    def enqueue(self, task: Task) -> None:
        if task.queued:
            return
        task.queued = True
        pool = self.pool(task.pool)
        pool.queue(task.requirement).add(task)
        pool.queued += 1

    def dequeue(self, task: Task) -> None:
        if not task.queued:
            return
        task.queued = False
        pool = self.pools[task.pool]
        pool.classes[task.requirement].remove(task)
        pool.queued -= 1

    # --- experts -------------------------------------------------------------

    def has_room(self, expert: Expert) -> bool:
        """Could the expert take some work now, ignoring what the work is?"""
        return (
            expert.status == "available"
            and not expert.removed
            and expert.open_count() < expert.concurrency
            and expert.used_in(self.week) < expert.capacity
        )

    def refresh_idle(self, expert: Expert) -> bool:
        """Bring the expert's idle listing up to date; True if it has room."""
        room = self.has_room(expert)
        if room != expert.idle:
            expert.idle = room
            for key, _, _ in expert.pools:
                pool = self.pool(key)
                if room:
                    pool.idle.add(expert.expert)
                    if pool.index is not None:
                        pool.index.enter(expert)
                else:
                    pool.idle.discard(expert.expert)
                    if pool.index is not None:
                        pool.index.leave(expert.expert)
        return room

    def rekey(self, expert: Expert) -> None:
        """An idle expert's records, agreement, load or last assignment changed."""
        for key, _, _ in expert.pools:
            index = self.pools[key].index
            if index is not None:
                index.enter(expert)

    def new_week(self, week: int) -> None:
        """Every load changes at once: drop the idle indexes, to be rebuilt when needed."""
        self.week = week
        for pool in self.pools.values():
            pool.index = None

    def index(self, expert: Expert) -> None:
        for key, _, _ in expert.pools:
            self.pool(key).experts.add(expert.expert)
        self.refresh_idle(expert)

    def unindex(self, expert: Expert) -> None:
        for key, _, _ in expert.pools:
            pool = self.pools[key]
            pool.experts.discard(expert.expert)
            pool.idle.discard(expert.expert)
            if pool.index is not None:
                pool.index.leave(expert.expert)
        expert.idle = False

    # --- leases --------------------------------------------------------------

    def lease(self, until: int, task: str, expert: str) -> None:
        heapq.heappush(self.leases, (until, task, expert))

    def expired(self, now: int) -> list[tuple[int, str, str]]:
        """Pop the leases due at ``now``, open or not, in (until, task, expert) order."""
        due = []
        while self.leases and self.leases[0][0] <= now:
            due.append(heapq.heappop(self.leases))
        return due
