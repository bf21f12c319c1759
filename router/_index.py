"""The idle index of a large pool: the policy's choice without scoring every idle expert.

A task arriving into a pool of many idle experts would have ``scan`` score
them all. From :data:`INDEX_FROM` idle experts on, the pool keeps a
:class:`PoolIndexes` instead, which gives the same answer, the same expert
and the same count of eligible experts, from a few of them:

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

Only the order by ``steady`` depends on what a task is beyond its pool,
its *facet* (``_scoring.facet``); the classes, the minutes left and the
order by last assignment are the pool's, shared by all its facets. Under
the balanced policy the facet is always "", so a pool keeps one order by
``steady`` per class. Under the learned one it is the task's kind (its
(domain, kind) record, and the agreement on a review kind). A kind that no
idle expert of the pool has a record of scores everyone by the domain
record alone, the same keys to the last bit: its tasks use the *base*
order, that of "" (on a review kind, that of :data:`AGREED`, the domain
record with the agreement). Both base orders are built with the pool's
index, in the same pass over the idle set; a kind's own order is made
when its first task finds that someone idle has a record of it, as a copy
of its base order (no sort) in which only the experts with a record are
placed again.

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

from ._policy import Policy, Score
from ._scoring import AGREED, Ranking, agreed, fit_of, idle_of, scan, steady
from ._state import Expert, Pool, PoolKey, Requirement, Task, Workspace

__all__ = ["INDEX_FROM", "PoolIndexes", "choose"]

#: Idle experts in a pool from which it keeps an index; it drops it below a
#: quarter of that. A module setting (not policy): both paths choose alike,
#: and the benchmark sets it out of reach to measure the scan.
INDEX_FROM = 64

Levels = tuple[int, int, int]  # domain level, language level, education
_INFINITY = math.inf
_END = (_INFINITY, "")  # the head of an empty order
_NONE = -_INFINITY  # the bound of a class with nobody who can take the task


def choose(
    ws: Workspace, task: Task, policy: Policy, ranking: Ranking | None = None
) -> tuple[Expert | None, int, Score | None]:
    """The best-scored expert who can take the task now, how many can, and the winner's score.

    Exactly what ``scan`` answers; through the pool's index when the pool
    has many idle experts and the task neither a gate nor an allow-list.
    The index ranks by bounds, not by whole scores, so its answer carries
    no score (None): the caller scores the winner, once.
    """
    pool = ws.pools.get(task.pool)
    if pool is None or not pool.idle:
        return None, 0, None
    indexes = cast("PoolIndexes | None", pool.index)  # the only kind of index there is
    if indexes is None:
        if len(pool.idle) < INDEX_FROM or task.extra or ranking is not None:
            return scan(ws, task, policy, ranking)
        indexes = pool.index = PoolIndexes(ws, task.pool, pool, policy)
    elif len(pool.idle) < INDEX_FROM // 4:
        pool.index = None
        return scan(ws, task, policy, ranking)
    if task.extra or ranking is not None:
        return scan(ws, task, policy, ranking)
    if indexes.policy is not policy or indexes.week != ws.week:
        indexes = pool.index = PoolIndexes(ws, task.pool, pool, policy)
    order = indexes.resolved.get(task.kind)
    if order is None:
        order = indexes.resolve(ws, task)
    return indexes.best(ws, task, order)


def _head(item: tuple[float, str]) -> float:
    return item[0]


class _Class:
    """The idle experts of one pool with the same levels: their minutes left and last assignments.

    The heads are kept at hand as plain values: every task reads them for
    every class its requirement admits, and a walk starts at them.
    """

    __slots__ = ("by_last", "first_last", "head", "levels", "rooms", "shortest", "size")

    def __init__(self, levels: Levels) -> None:
        self.levels = levels
        self.by_last: SortedList[tuple[int, str]] = SortedList()  # (last assigned, expert)
        self.rooms: SortedList[int] = SortedList()  # minutes left this week, one per expert
        self.head = (0, "")  # by_last[0]
        self.first_last = 0  # head[0]: the earliest last assignment
        self.shortest = 0  # rooms[0]: the fewest minutes left
        self.size = 0  # len(rooms), without a call

    def add(self, last: int, room: int, name: str) -> None:
        item = (last, name)
        if not self.size or item < self.head:
            self.head, self.first_last = item, last
        if not self.size or room < self.shortest:
            self.shortest = room
        self.size += 1
        self.by_last.add(item)
        self.rooms.add(room)

    def fill(self, items: list[tuple[int, int, str]]) -> None:
        """List many experts at once, given in id order: an empty class being built."""
        by_last = [(last, name) for last, _, name in items]
        by_last.sort(key=_head)  # stable: by (last, expert)
        self.by_last = SortedList(by_last)  # its own sort finds the list sorted
        self.rooms = SortedList([room for _, room, _ in items])
        self.size = len(items)
        self.head = by_last[0]
        self.first_last = self.head[0]
        self.shortest = self.rooms[0]

    def remove(self, last: int, room: int, name: str) -> None:
        by_last, rooms = self.by_last, self.rooms
        by_last.remove((last, name))
        rooms.remove(room)
        self.size -= 1
        if self.size:
            if name == self.head[1]:
                self.head = by_last[0]
                self.first_last = self.head[0]
            if room == self.shortest:
                self.shortest = rooms[0]


class _Order:
    """One class's idle experts by minus their steady part, for one facet."""

    __slots__ = ("by_key", "first", "head")

    def __init__(self) -> None:
        self.by_key: SortedList[tuple[float, str]] = SortedList()  # (-steady, expert)
        self.head = _END  # by_key[0]
        self.first = _INFINITY  # head[0]: minus the highest steady part

    def add(self, key: float, name: str) -> None:
        item = (key, name)
        self.by_key.add(item)
        if item < self.head:
            self.head, self.first = item, key

    def fill(self, items: list[tuple[float, str]]) -> None:
        """List many experts at once, given in id order (sorts ``items``)."""
        items.sort(key=_head)  # stable: by (key, expert)
        self.by_key = SortedList(items)
        self.head = items[0]
        self.first = self.head[0]

    def remove(self, key: float, name: str) -> None:
        by_key = self.by_key
        by_key.remove((key, name))
        if name == self.head[1]:
            self.head = by_key[0] if by_key else _END
            self.first = self.head[0]

    def copy(self) -> _Order:
        twin = _Order()
        twin.by_key = self.by_key.copy()  # sorted already: one linear pass
        twin.head, twin.first = self.head, self.first
        return twin


#: The classes a requirement admits: each with its order, its weighted fit, its place.
_Menu = list[tuple[_Class, _Order, float, int]]


class _Facet:
    """The orders by ``steady`` of the tasks of one facet, one per class, and the keys."""

    __slots__ = ("keys", "menus", "name", "orders")

    def __init__(self, name: str) -> None:
        self.name = name
        self.keys: dict[str, float] = {}  # expert -> minus their steady part
        self.orders: dict[Levels, _Order] = {}
        self.menus: dict[Requirement, _Menu] = {}


_Entry = tuple[_Class, int, int]  # class, last assigned, minutes left


class PoolIndexes:
    """The idle experts of one pool, by class and in score order, for one week and policy.

    The classes, minutes left and order by last assignment are shared; the
    order by ``steady`` is kept per facet (``facets``). It also keeps, per
    task kind, who of the idle experts has a record of that kind in the
    pool's domain (``recorded``), which tells when a kind's tasks can use
    the base order, and which kind uses which order (``resolved``).
    """

    __slots__ = (
        "classes",
        "domain",
        "entries",
        "facets",
        "kinds_of",
        "language",
        "menus",
        "policy",
        "recorded",
        "resolved",
        "week",
    )

    def __init__(self, ws: Workspace, pool_key: PoolKey, pool: Pool, policy: Policy) -> None:
        self.domain, self.language = pool_key
        self.week = ws.week
        self.policy = policy
        self.classes: dict[Levels, _Class] = {}
        self.entries: dict[str, _Entry] = {}
        #: requirement -> the classes that meet it, with their weighted fit
        self.menus: dict[Requirement, list[tuple[_Class, float]]] = {}
        self.facets: dict[str, _Facet] = {}
        self.resolved: dict[str, _Facet] = {}  # task kind -> the facet its tasks use
        self.recorded: dict[str, set[str]] = {}
        self.kinds_of: dict[str, tuple[str, ...]] = {}
        bases = [_Facet("")]
        if policy.agreement_share and policy.review_kinds:
            bases.append(_Facet(AGREED))
        domain, language, week = self.domain, self.language, self.week
        experts = ws.experts
        # In id order once, so that each order below is a stable sort by one number.
        members: dict[Levels, list[Expert]] = {}
        for name in sorted(pool.idle):
            expert = experts[name]
            if expert.records:
                self._record(expert)
            levels = (expert.domains[domain], expert.languages[language], expert.education)
            listed = members.get(levels)
            if listed is None:
                listed = members[levels] = []
            listed.append(expert)
        entries = self.entries
        for levels, listed in members.items():
            group = self.classes[levels] = _Class(levels)
            items = [(e.last_assigned, e.capacity - e.used_in(week), e.expert) for e in listed]
            group.fill(items)
            entries.update({name: (group, last, room) for last, room, name in items})
            for base in bases:
                facet = base.name
                pairs = [(-steady(e, domain, facet, week, policy), e.expert) for e in listed]
                base.keys.update({name: key for key, name in pairs})
                order = base.orders[levels] = _Order()
                order.fill(pairs)
        for base in bases:
            self.facets[base.name] = base

    # --- upkeep -----------------------------------------------------------------

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
            holders = self.recorded.setdefault(kind, set())
            if not holders and kind not in self.facets:
                self.resolved.pop(kind, None)  # the kind's tasks may no longer use the base
            holders.add(name)
        self.kinds_of[name] = kinds

    def _class(self, levels: Levels) -> _Class:
        group = self.classes.get(levels)
        if group is None:
            group = self.classes[levels] = _Class(levels)
            self.menus.clear()
            for facet in self.facets.values():
                facet.orders[levels] = _Order()
                facet.menus.clear()
        return group

    def enter(self, expert: Expert) -> None:
        """List the expert, or list them again after a change of their score's parts."""
        name = expert.expert
        if expert.records or name in self.kinds_of:
            self._record(expert)
        levels = (expert.domains[self.domain], expert.languages[self.language], expert.education)
        week, policy, domain = self.week, self.policy, self.domain
        last, room = expert.last_assigned, expert.capacity - expert.used_in(week)
        old = self.entries.get(name)
        if old is not None and old[0].levels != levels:
            self._unlist(name, old)
            old = None
        if old is None:
            group = self._class(levels)
            group.add(last, room, name)
            self.entries[name] = (group, last, room)
            for facet in self.facets.values():
                key = facet.keys[name] = -steady(expert, domain, facet.name, week, policy)
                facet.orders[levels].add(key, name)
            return
        group, old_last, old_room = old
        if old_last != last or old_room != room:
            group.remove(old_last, old_room, name)
            group.add(last, room, name)
            self.entries[name] = (group, last, room)
        for facet in self.facets.values():
            key = -steady(expert, domain, facet.name, week, policy)
            keys = facet.keys
            old_key = keys[name]
            if key != old_key:
                order = facet.orders[levels]
                order.remove(old_key, name)
                order.add(key, name)
                keys[name] = key

    def leave(self, expert: str) -> None:
        """The expert is no longer idle in the pool (a no-op if they were not listed)."""
        for kind in self.kinds_of.pop(expert, ()):
            self.recorded[kind].discard(expert)
        old = self.entries.get(expert)
        if old is not None:
            self._unlist(expert, old)

    def _unlist(self, name: str, old: _Entry) -> None:
        group, last, room = old
        del self.entries[name]
        group.remove(last, room, name)
        for facet in self.facets.values():
            facet.orders[group.levels].remove(facet.keys.pop(name), name)

    # --- the choice ---------------------------------------------------------------

    def resolve(self, ws: Workspace, task: Task) -> _Facet:
        """The facet whose order serves the task's kind (made now if it is a kind's own)."""
        policy = self.policy
        kind = task.kind
        base = self.facets[AGREED if agreed(task, policy) else ""]
        facet = base
        if policy.by_kind:
            own = self.facets.get(kind)
            if own is not None:
                facet = own
            elif self.recorded.get(kind):
                facet = self.facets[kind] = self._derive(ws, kind, base)
        self.resolved[kind] = facet
        return facet

    def _derive(self, ws: Workspace, kind: str, base: _Facet) -> _Facet:
        """The order of a kind: its base's, with those who have a record of it placed again."""
        facet = _Facet(kind)
        facet.keys = dict(base.keys)
        facet.orders = {levels: order.copy() for levels, order in base.orders.items()}
        domain, week, policy = self.domain, self.week, self.policy
        for name in self.recorded[kind]:
            key = -steady(ws.experts[name], domain, kind, week, policy)
            old = facet.keys[name]
            if key != old:
                order = facet.orders[self.entries[name][0].levels]
                order.remove(old, name)
                order.add(key, name)
                facet.keys[name] = key
        return facet

    def _menu(self, task: Task, facet: _Facet) -> _Menu:
        shared = self.menus.get(task.requirement)
        if shared is None:
            weight = self.policy.fit
            shared = [
                (group, weight * fit_of(*levels, task))
                for levels, group in self.classes.items()
                if levels[0] >= task.skill
                and levels[1] >= task.fluency
                and levels[2] >= task.education
            ]
            shared.sort(key=lambda item: item[0].levels)  # an order of the classes alone
            self.menus[task.requirement] = shared
        orders = facet.orders
        menu = facet.menus[task.requirement] = [
            (group, orders[group.levels], fit, n) for n, (group, fit) in enumerate(shared)
        ]
        return menu

    def best(
        self, ws: Workspace, task: Task, facet: _Facet
    ) -> tuple[Expert | None, int, Score | None]:
        """The choice ``scan`` makes for a task without gate or allow-list, and the count.

        The third item is always None: the walk compares bounds and parts,
        never a whole ``Score``.
        """
        minutes = task.minutes
        menu = facet.menus.get(task.requirement)
        if menu is None:
            menu = self._menu(task, facet)
        policy = self.policy
        weight = policy.idle
        horizon = policy.idle_horizon_hours * HOUR
        clock = ws.clock
        eligible = 0
        bounds = [_NONE] * len(menu)  # per class: no one in it scores above this
        for group, order, fit, n in menu:
            size = group.size
            if not size:
                continue
            if group.shortest < minutes:
                size -= group.rooms.bisect_left(minutes)
                if not size:
                    continue
            eligible += size
            # The class's highest steady part with its longest idle. (``idle_of``, written
            # out: this runs for every class of every task.)
            last = group.first_last
            if last < 0:
                bounds[n] = -order.first + weight + fit
            else:
                idle = (clock - last) / horizon
                bounds[n] = -order.first + weight * (idle if idle < 1.0 else 1.0) + fit
        barred = _barred(ws, task)
        if barred:
            eligible -= self._counted(barred, task)
        if not eligible:
            return None, 0, None
        # The most promising class first: the best found there prunes most others. In
        # which order classes of equal bounds are walked does not change the best.
        search = _Search(self, facet, clock, minutes, barred)
        while True:
            bound = max(bounds)
            if bound < search.total:
                break
            n = bounds.index(bound)
            bounds[n] = _NONE
            group, order, fit, _ = menu[n]
            search.walk(group, order, fit)
        return ws.experts[search.best], eligible, None

    def _counted(self, names: frozenset[str] | set[str], task: Task) -> int:
        """How many of these names are among the idle experts counted for the task."""
        skill, fluency, education = task.requirement
        minutes = task.minutes
        entries = self.entries
        counted = 0
        for name in names:
            entry = entries.get(name)
            if entry is not None and entry[2] >= minutes:
                levels = entry[0].levels
                if levels[0] >= skill and levels[1] >= fluency and levels[2] >= education:
                    counted += 1
        return counted


class _Search:
    """One decision's walk through the classes: the best found so far, and what bounds it."""

    __slots__ = (
        "barred",
        "best",
        "clock",
        "entries",
        "horizon",
        "keys",
        "minutes",
        "total",
        "weight",
    )

    def __init__(
        self,
        index: PoolIndexes,
        facet: _Facet,
        clock: int,
        minutes: int,
        barred: frozenset[str] | set[str] | None,
    ) -> None:
        self.entries = index.entries
        self.keys = facet.keys
        self.weight = index.policy.idle
        self.horizon = index.policy.idle_horizon_hours * HOUR
        self.clock = clock
        self.minutes = minutes
        self.barred = barred
        self.total = -1.0  # below any score, as in a scan
        self.best = ""

    def walk(self, group: _Class, order: _Order, fit: float) -> None:
        """The threshold algorithm over one class: its two orders side by side."""
        weight, horizon, clock = self.weight, self.horizon, self.clock
        best_total, best = self.total, self.best
        entries, keys, minutes, barred = self.entries, self.keys, self.minutes, self.barred
        by_key, by_last = order.by_key, group.by_last
        size = group.size
        i = j = 0
        key, first = order.head
        last, second = group.head
        while True:
            bound = -key + weight * idle_of(last, clock, horizon) + fit
            if bound < best_total:
                break
            if bound == best_total and (first > best or second > best):
                # Only a smaller id can still win: skip the rest of a group of equals.
                if first > best:
                    i = by_key.bisect_left((math.nextafter(key, _INFINITY), ""))
                    if i >= size:
                        break
                    key, first = by_key[i]
                if second > best:
                    j = by_last.bisect_left((last + 1, ""))
                    if j >= size:
                        break
                    last, second = by_last[j]
                continue
            for name in (first, second) if first != second else (first,):
                if barred and name in barred:
                    continue
                _, last_of, room = entries[name]
                if room < minutes:
                    continue
                total = -keys[name] + weight * idle_of(last_of, clock, horizon) + fit
                if total > best_total or (total == best_total and name < best):
                    best_total, best = total, name
            i += 1
            j += 1
            if i >= size or j >= size:
                break
            key, first = by_key[i]
            last, second = by_last[j]
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
