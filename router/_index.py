"""The idle index of a large pool: the policy's choice without scoring every idle expert.

A task arriving into a pool of many idle experts would have ``scan`` score
them all. From :data:`INDEX_FROM` idle experts on, the pool keeps a
:class:`PoolIndex` instead, which gives the same answer, the same expert and
the same count of eligible experts, from a few of them:

- the idle experts are grouped by *class*, their (domain level, language
  level, education) in the pool. A task's requirement admits whole classes,
  and the fit part of the score is the same for everyone in a class;
- in each class, the minutes each expert has left this week are kept
  sorted, so the weekly-hours check *counts* by bisection; the few experts
  the task bars personally (tried, excluded, authors of its parent) are
  subtracted one by one;
- in each class the experts are kept twice in order: by the score's
  time-invariant part (``steady``: quality and load, falling) and by their
  last assignment (rising, so idle falling). The total is monotone in both,
  so walking the two orders side by side bounds every expert not yet seen
  by the total of the two positions (the threshold algorithm); the walk
  stops when that bound is below the best total found, or equal to it with
  only larger ids left at both positions. Ties go to the smallest id, as in
  a scan, and a property test holds the two to the same decisions.

The order by ``steady`` is for tasks of one *facet* (``_scoring.facet``):
what of a task beyond its pool the steady part depends on. Under the
balanced policy that is nothing, so a pool has one index; under the learned
one it is the task's kind (its (domain, kind) record, and the agreement on
a review kind), and the pool keeps one index per facet asked
(:class:`PoolIndexes`). A kind that no idle expert of the pool has a record
of scores everyone by the domain record alone: its tasks share the index of
the facet "" (or, on a review kind, of :data:`AGREED`, the domain record
with the agreement), the same keys to the last bit, until one of them has.

The index is derived state: the workspace tells it of every change to the
idle set and of every change to an idle expert's score (``Workspace.rekey``),
a new week drops it, and it is rebuilt from the idle set when needed, never
saved in a snapshot. Tasks with a gate or an allow-list, and rankings other
than the policy's, are chosen by a scan.
"""

from __future__ import annotations

import math
from typing import cast

from sortedcontainers import SortedList

from events import HOUR

from ._policy import Policy
from ._scoring import AGREED, Ranking, agreed, facet, fit_of, idle_of, scan, steady
from ._state import Expert, Pool, PoolKey, Requirement, Task, Workspace

__all__ = ["INDEX_FROM", "PoolIndex", "PoolIndexes", "choose"]

#: Idle experts in a pool from which it keeps an index; it drops it below a
#: quarter of that. A module setting (not policy): both paths choose alike,
#: and the benchmark sets it out of reach to measure the scan.
INDEX_FROM = 64

Levels = tuple[int, int, int]  # domain level, language level, education
_INFINITY = math.inf


def choose(
    ws: Workspace, task: Task, policy: Policy, ranking: Ranking | None = None
) -> tuple[Expert | None, int]:
    """The best-scored expert who can take the task now, and how many can.

    Exactly what ``scan`` answers; through the pool's index when the pool
    has many idle experts and the task neither a gate nor an allow-list.
    """
    pool = ws.pools.get(task.pool)
    if pool is None or not pool.idle:
        return None, 0
    indexes = cast("PoolIndexes | None", pool.index)  # the only kind of index there is
    if indexes is None:
        if len(pool.idle) < INDEX_FROM or task.extra or ranking is not None:
            return scan(ws, task, policy, ranking)
        indexes = pool.index = PoolIndexes(ws, task.domain, pool)
    elif len(pool.idle) < INDEX_FROM // 4:
        pool.index = None
        return scan(ws, task, policy, ranking)
    if task.extra or ranking is not None:
        return scan(ws, task, policy, ranking)
    key = facet(task, policy)
    if key and policy.by_kind and not indexes.recorded.get(key):
        # Nobody idle here has a record of this kind: the kind's quality is the domain's.
        key = AGREED if agreed(task, policy) else ""
    index = indexes.by_facet.get(key)
    if index is None or index.policy is not policy or index.week != ws.week:
        index = indexes.by_facet[key] = PoolIndex(ws, task.pool, pool, policy, key)
    return index.best(ws, task)


class PoolIndexes:
    """A pool's idle indexes, one per facet of the tasks asked (see ``_scoring.facet``).

    It also keeps, per task kind, who of the idle experts has a record of
    that kind in the pool's domain (``recorded``), which tells ``choose``
    when a kind's tasks can share the index of the domain record alone.
    """

    __slots__ = ("by_facet", "domain", "kinds_of", "recorded")

    def __init__(self, ws: Workspace, domain: str, pool: Pool) -> None:
        self.domain = domain
        self.by_facet: dict[str, PoolIndex] = {}
        self.recorded: dict[str, set[str]] = {}
        self.kinds_of: dict[str, tuple[str, ...]] = {}
        for name in pool.idle:
            self._record(ws.experts[name])

    def _record(self, expert: Expert) -> None:
        records = expert.records
        record = records.get(self.domain) if records else None
        kinds = tuple(record.kinds) if record is not None and record.kinds else ()
        name = expert.expert
        old = self.kinds_of.get(name, ())
        if kinds == old:
            return
        for kind in old:
            self.recorded[kind].discard(name)
        for kind in kinds:
            self.recorded.setdefault(kind, set()).add(name)
        self.kinds_of[name] = kinds

    def enter(self, expert: Expert) -> None:
        """The expert is idle in the pool, newly or with a changed score."""
        self._record(expert)
        for index in self.by_facet.values():
            index.enter(expert)

    def leave(self, expert: str) -> None:
        """The expert is no longer idle in the pool."""
        for kind in self.kinds_of.pop(expert, ()):
            self.recorded[kind].discard(expert)
        for index in self.by_facet.values():
            index.leave(expert)


class _Class:
    """The idle experts of one pool with the same levels, in the orders the search walks.

    The heads of the three orders are kept at hand as plain numbers: every
    task reads them for every class its requirement admits.
    """

    __slots__ = (
        "by_key",
        "by_last",
        "first_key",
        "first_last",
        "levels",
        "rooms",
        "shortest",
        "size",
    )

    def __init__(self, levels: Levels) -> None:
        self.levels = levels
        self.by_key: SortedList[tuple[float, str]] = SortedList()  # (-steady, expert)
        self.by_last: SortedList[tuple[int, str]] = SortedList()  # (last assigned, expert)
        self.rooms: SortedList[int] = SortedList()  # minutes left this week, one per expert
        self.first_key = _INFINITY  # by_key[0][0]: minus the highest steady part
        self.first_last = 0  # by_last[0][0]: the earliest last assignment
        self.shortest = 0  # rooms[0]: the fewest minutes left
        self.size = 0  # len(rooms), without a call

    def add(self, key: float, last: int, room: int, name: str) -> None:
        if self.size:
            self.first_key = min(self.first_key, key)
            self.first_last = min(self.first_last, last)
            self.shortest = min(self.shortest, room)
        else:
            self.first_key, self.first_last, self.shortest = key, last, room
        self.size += 1
        self.by_key.add((key, name))
        self.by_last.add((last, name))
        self.rooms.add(room)

    def fill(self, items: list[tuple[float, int, int, str]]) -> None:
        """List many experts at once (sorted in one go): an empty class being built."""
        self.by_key = SortedList((key, name) for key, _, _, name in items)
        self.by_last = SortedList((last, name) for _, last, _, name in items)
        self.rooms = SortedList(room for _, _, room, _ in items)
        self.size = len(items)
        self.first_key = self.by_key[0][0]
        self.first_last = self.by_last[0][0]
        self.shortest = self.rooms[0]

    def remove(self, key: float, last: int, room: int, name: str) -> None:
        by_key, by_last, rooms = self.by_key, self.by_last, self.rooms
        by_key.remove((key, name))
        by_last.remove((last, name))
        rooms.remove(room)
        self.size -= 1
        if self.size:
            if key == self.first_key:
                self.first_key = by_key[0][0]
            if last == self.first_last:
                self.first_last = by_last[0][0]
            if room == self.shortest:
                self.shortest = rooms[0]


_Entry = tuple[_Class, float, int, int]  # class, -steady, last assigned, minutes left


class PoolIndex:
    """The idle experts of one pool, by class and in score order, for one week, policy, facet."""

    __slots__ = ("classes", "domain", "entries", "facet", "language", "menus", "policy", "week")

    def __init__(
        self, ws: Workspace, pool_key: PoolKey, pool: Pool, policy: Policy, facet: str = ""
    ) -> None:
        self.domain, self.language = pool_key
        self.facet = facet
        self.week = ws.week
        self.policy = policy
        self.classes: dict[Levels, _Class] = {}
        self.entries: dict[str, _Entry] = {}
        #: requirement -> the classes that meet it, with their weighted fit
        self.menus: dict[Requirement, list[tuple[_Class, float]]] = {}
        listed: dict[Levels, list[tuple[float, int, int, str]]] = {}
        for name in pool.idle:
            levels, key, last, room = self._parts(ws.experts[name])
            listed.setdefault(levels, []).append((key, last, room, name))
        for levels, items in listed.items():
            group = self.classes[levels] = _Class(levels)
            group.fill(items)
            for key, last, room, name in items:
                self.entries[name] = (group, key, last, room)

    def _parts(self, expert: Expert) -> tuple[Levels, float, int, int]:
        """The expert's class, minus their steady part, last assignment and minutes left."""
        levels = (expert.domains[self.domain], expert.languages[self.language], expert.education)
        key = -steady(expert, self.domain, self.facet, self.week, self.policy)
        return levels, key, expert.last_assigned, expert.capacity - expert.used_in(self.week)

    def enter(self, expert: Expert) -> None:
        """List the expert, or list them again after a change of their score's parts."""
        name = expert.expert
        levels, key, last, room = self._parts(expert)
        old = self.entries.get(name)
        if old is not None:
            group, old_key, old_last, old_room = old
            if group.levels == levels and (old_key, old_last, old_room) == (key, last, room):
                return
            group.remove(old_key, old_last, old_room, name)
        listed = self.classes.get(levels)
        if listed is None:
            listed = self.classes[levels] = _Class(levels)
            self.menus.clear()
        listed.add(key, last, room, name)
        self.entries[name] = (listed, key, last, room)

    def leave(self, expert: str) -> None:
        """The expert is no longer idle in the pool (a no-op if they were not listed)."""
        old = self.entries.pop(expert, None)
        if old is not None:
            group, key, last, room = old
            group.remove(key, last, room, expert)

    def _menu(self, task: Task) -> list[tuple[_Class, float]]:
        menu = self.menus.get(task.requirement)
        if menu is None:
            weight = self.policy.fit
            menu = [
                (group, weight * fit_of(*levels, task))
                for levels, group in self.classes.items()
                if levels[0] >= task.skill
                and levels[1] >= task.fluency
                and levels[2] >= task.education
            ]
            menu.sort(key=lambda item: item[0].levels)  # an order of the classes alone
            self.menus[task.requirement] = menu
        return menu

    def best(self, ws: Workspace, task: Task) -> tuple[Expert | None, int]:
        """The choice ``scan`` makes for a task without gate or allow-list, and the count."""
        minutes = task.minutes
        policy = self.policy
        weight = policy.idle
        horizon = policy.idle_horizon_hours * HOUR
        clock = ws.clock
        eligible = 0
        candidates: list[tuple[float, _Class, float]] = []
        for group, fit in self._menu(task):
            size = group.size
            if not size:
                continue
            if group.shortest < minutes:
                size -= group.rooms.bisect_left(minutes)
                if not size:
                    continue
            eligible += size
            # Nobody in the class scores above its highest steady part with its longest
            # idle. (``idle_of``, written out: this runs for every class of every task.)
            last = group.first_last
            if last < 0:
                idle = weight
            else:
                idle = (clock - last) / horizon
                idle = weight * (idle if idle < 1.0 else 1.0)
            bound = -group.first_key + idle + fit
            candidates.append((bound, group, fit))
        barred = _barred(ws, task)
        if barred:
            eligible -= self._counted(barred, task)
        if not eligible:
            return None, 0
        # The most promising class first: the best found there prunes the others.
        candidates.sort(key=_bound, reverse=True)
        search = _Search(self, clock, minutes, barred)
        for bound, group, fit in candidates:
            if bound < search.total:
                break
            search.walk(group, fit)
        return ws.experts[search.best], eligible

    def _counted(self, names: frozenset[str] | set[str], task: Task) -> int:
        """How many of these names are among the idle experts counted for the task."""
        skill, fluency, education = task.requirement
        counted = 0
        for name in names:
            entry = self.entries.get(name)
            if entry is not None and entry[3] >= task.minutes:
                levels = entry[0].levels
                if levels[0] >= skill and levels[1] >= fluency and levels[2] >= education:
                    counted += 1
        return counted


def _bound(candidate: tuple[float, _Class, float]) -> float:
    return candidate[0]


class _Search:
    """One decision's walk through the classes: the best found so far, and what bounds it."""

    __slots__ = ("barred", "best", "clock", "entries", "horizon", "minutes", "total", "weight")

    def __init__(
        self, index: PoolIndex, clock: int, minutes: int, barred: frozenset[str] | set[str] | None
    ) -> None:
        self.entries = index.entries
        self.weight = index.policy.idle
        self.horizon = index.policy.idle_horizon_hours * HOUR
        self.clock = clock
        self.minutes = minutes
        self.barred = barred
        self.total = -1.0  # below any score, as in a scan
        self.best = ""

    def walk(self, group: _Class, fit: float) -> None:
        """The threshold algorithm over one class: its two orders side by side."""
        weight, horizon, clock = self.weight, self.horizon, self.clock
        best_total, best = self.total, self.best
        entries, minutes, barred = self.entries, self.minutes, self.barred
        by_key, by_last = group.by_key, group.by_last
        size = group.size
        i = j = 0
        while i < size and j < size:
            key, first = by_key[i]
            last, second = by_last[j]
            bound = -key + weight * idle_of(last, clock, horizon) + fit
            if bound < best_total:
                break
            if bound == best_total:
                # Only a smaller id can still win: skip the rest of a group of equals.
                moved = False
                if first > best:
                    i = by_key.bisect_left((math.nextafter(key, _INFINITY), ""))
                    moved = True
                if second > best:
                    j = by_last.bisect_left((last + 1, ""))
                    moved = True
                if moved:
                    continue
            for name in (first, second) if first != second else (first,):
                if barred and name in barred:
                    continue
                _, key_of, last_of, room = entries[name]
                if room < minutes:
                    continue
                total = -key_of + weight * idle_of(last_of, clock, horizon) + fit
                if total > best_total or (total == best_total and name < best):
                    best_total, best = total, name
            i += 1
            j += 1
        self.total, self.best = best_total, best


def _barred(ws: Workspace, task: Task) -> frozenset[str] | set[str] | None:
    """Who the task bars personally: tried before, excluded, or on its parent."""
    tried, exclude = task.tried, task.exclude
    parent = ws.tasks.get(task.parent) if task.parent is not None else None
    if parent is None or not (parent.submitters or parent.open):
        if not exclude:
            return tried or None
        if not tried:
            return exclude
        return tried | exclude
    barred: set[str] = set()
    if tried:
        barred |= tried
    if exclude:
        barred |= exclude
    if parent.submitters:
        barred.update(parent.submitters)
    if parent.open:
        barred.update(parent.open)
    return barred
