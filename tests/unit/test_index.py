"""The idle index (router/_index.py) chooses exactly as the full scan (``_scoring.scan``).

- On random states built directly (many experts, random levels, loads,
  last assignments, records per domain and per (domain, kind) and
  agreements drawn from small sets so that ties are common, personal bars,
  gates, allow-lists, new weeks), the index and the scan name the same
  expert and count the same eligible experts, for random tasks of several
  kinds, while assignments, reviews (of several kinds, by several reviewers,
  which changes their agreement) and new weeks change the state between
  them; under the balanced policy, the learned default and random policies
  of both families.
- On random event streams, an engine that indexes every pool writes the
  same bytes as one that scans, and after every event each pool's index
  holds exactly what one rebuilt from the pool's idle set would.
- A kind that someone idle has a record of gets its own order, made from its
  base order with only that expert placed again.
- A snapshot of an indexing engine restores to an engine that decides alike,
  and holds nothing of the index.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

import router._index as index_module
from events import (
    MINUTE,
    ClockTick,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    InputEvent,
    TaskCancelled,
    TaskCreated,
    TaskDeclined,
    TaskReviewed,
    TaskSubmitted,
    encode,
    to_micros,
    week_index,
)
from router import BALANCED, DEFAULT_POLICY, Engine, Policy, restore, snapshot
from router._index import PoolIndexes, choose
from router._policy import Score
from router._scoring import AGREED, agreed, facet, scan, score, steady
from router._state import Expert, Extras, Record, Task, Workspace
from tests.streams import START, available_experts, later, pick, simulated

POOL = ("stem", "en")
TOTALS = [0.0, 0.5, 0.7, 0.75, 1.0, 1.5, 2.1, 2.25, 0.1 + 0.2]
KINDS = ["write", "review", "audit", "translate"]


@contextmanager
def index_from(size: int) -> Iterator[None]:
    """Index pools from ``size`` idle experts (1: always; 2**62: never, the scan)."""
    saved = index_module.INDEX_FROM
    index_module.INDEX_FROM = size
    try:
        yield
    finally:
        index_module.INDEX_FROM = saved


@st.composite
def random_policies(draw: st.DrawFn) -> Policy:
    weight = st.sampled_from([0.0, 0.1, 0.15, 0.2, 0.25, 0.4, 0.65, 1.0, 3.0])
    weights = draw(st.tuples(weight, weight, weight, weight).filter(lambda w: sum(w) > 0))
    learned = draw(st.booleans())
    return Policy(
        quality=weights[0],
        load=weights[1],
        idle=weights[2],
        fit=weights[3],
        quality_prior=draw(st.sampled_from([0.75, 0.5, 1 / 3, 1.0])),
        quality_prior_reviews=draw(st.sampled_from([0.0, 1.0, 3.0])),
        idle_horizon_hours=draw(st.sampled_from([0.5, 1.0, 24.0])),
        by_kind=learned and draw(st.booleans()),
        kind_prior_reviews=draw(st.sampled_from([0.0, 1.0, 2.0])),
        agreement_share=draw(st.sampled_from([0.0, 0.5, 0.25, 1.0])) if learned else 0.0,
        review_kinds=draw(st.sampled_from([("review", "audit"), ("review",)])),
        agreement_prior=draw(st.sampled_from([0.8, 0.5, 1.0])),
        agreement_prior_pairs=draw(st.sampled_from([0.0, 1.0, 3.0])),
    )


def policies() -> st.SearchStrategy[Policy]:
    """The balanced policy (old logs), the learned default, and random ones of both kinds."""
    return st.one_of(st.sampled_from([BALANCED, DEFAULT_POLICY]), random_policies())


def draw_expert(data: st.DataObject, ws: Workspace, name: str) -> Expert:
    domain_level = data.draw(st.integers(1, 5))
    language_level = data.draw(st.integers(3, 6))
    capacity = pick(data, [60, 120, 600, 1200])
    expert = Expert(
        expert=name,
        domains={"stem": domain_level},
        languages={"en": language_level},
        education=data.draw(st.integers(0, 4)),
        capacity=capacity,
        concurrency=data.draw(st.integers(1, 2)),
        pools=((POOL, domain_level, language_level),),
        status=pick(data, ["available"] * 6 + ["away"]),
        week=ws.week - pick(data, [0, 0, 0, 1]),
        used=pick(data, [0, 0, 15, 30, 45, 60, capacity - 15, capacity]),
        last_assigned=data.draw(
            st.sampled_from(
                [
                    -1,
                    ws.clock,
                    ws.clock - 20 * MINUTE,
                    ws.clock - 30 * MINUTE,
                    ws.clock - 60 * MINUTE,
                    ws.clock - 48 * 60 * MINUTE,
                ]
            )
        ),
    )
    if data.draw(st.booleans()):
        reviews = data.draw(st.integers(0, 4))
        record = Record(reviews, pick(data, TOTALS))
        kinds = data.draw(st.lists(st.sampled_from(KINDS), max_size=3, unique=True))
        if kinds:
            record.kinds = {
                kind: Record(data.draw(st.integers(0, 3)), pick(data, TOTALS)) for kind in kinds
            }
        expert.records = {"stem": record}
    if data.draw(st.booleans()):
        pairs = data.draw(st.integers(0, 4))
        expert.agreement = Record(pairs, pick(data, TOTALS))
    return expert


def draw_task(data: st.DataObject, ws: Workspace, n: int, names: list[str]) -> Task:
    skill = data.draw(st.integers(1, 4))
    fluency = data.draw(st.integers(3, 6))
    education = data.draw(st.integers(0, 3))
    some = st.lists(st.sampled_from(names), max_size=6)
    task = Task(
        rank=n,
        task=f"t{n}",
        kind=pick(data, KINDS),
        domain="stem",
        language="en",
        skill=skill,
        fluency=fluency,
        education=education,
        minutes=pick(data, [10, 15, 30, 45, 600]),
        judgements=1,
        priority=0,
        created=ws.clock,
        pool=POOL,
        requirement=(skill, fluency, education),
        exclude=frozenset(data.draw(some)) or None,
        parent=pick(data, [None, None, "parent"]),
    )
    tried = set(data.draw(some))
    task.tried = tried or None
    if data.draw(st.integers(0, 5)) == 0:
        gate = pick(data, [None, 0.5, 0.75, 0.8])
        allowed = frozenset(data.draw(st.lists(st.sampled_from([*names, "zed"]), max_size=8)))
        task.v1_1 = Extras(gate=gate, allowed=allowed or None)
        task.extra = gate is not None or bool(allowed)
    return task


def chosen(result: tuple[Expert | None, int, Score | None]) -> tuple[str | None, int]:
    expert, eligible, _ = result
    return (expert.expert if expert is not None else None), eligible


@settings(max_examples=200)
@given(st.data(), policies())
def test_the_index_chooses_as_the_scan_on_random_states(
    data: st.DataObject, policy: Policy
) -> None:
    ws = Workspace("w")
    ws.clock = to_micros(START) + pick(data, [0, 7, 600]) * MINUTE
    ws.week = week_index(ws.clock)
    size = data.draw(st.integers(1, 60), label="experts")
    # Ids that do not sort in the order the experts are listed, so ties are not by accident.
    names = data.draw(st.permutations([f"x{i:02d}" for i in range(size)]))
    for name in names:
        expert = ws.experts[name] = draw_expert(data, ws, name)
        ws.index(expert)
    parent = draw_task(data, ws, 0, names)
    parent.task, parent.parent = "parent", None
    parent.submitters = data.draw(st.lists(st.sampled_from(names), max_size=4, unique=True))
    parent.open = {name: ws.clock for name in data.draw(st.lists(st.sampled_from(names)))}
    ws.tasks["parent"] = parent
    pool = ws.pool(POOL)
    for n in range(1, data.draw(st.integers(1, 12), label="tasks") + 1):
        task = draw_task(data, ws, n, names)
        scanned = scan(ws, task, policy)
        expected = chosen(scanned)
        # The scan hands on the winner's own score, the one the decision reports.
        winner, _, winner_score = scanned
        if winner is None:
            assert winner_score is None
        else:
            assert winner_score == score(ws, winner, task, policy)
        if pool.index is None:  # new, or dropped by a new week
            pool.index = PoolIndexes(ws, POOL, pool, policy)
        indexes = pool.index
        assert isinstance(indexes, PoolIndexes)
        key = facet(task, policy)
        learned = policy.by_kind or (policy.agreement_share and task.kind in policy.review_kinds)
        assert key == (task.kind if learned else "")
        order = indexes.resolve(ws, task)
        base = AGREED if agreed(task, policy) else ""
        if policy.by_kind and indexes.recorded.get(task.kind):
            assert order.name == task.kind
        else:  # the base order, or a kind's own kept since someone had a record of it
            assert order.name in (base, task.kind if policy.by_kind else base)
        if not task.extra:
            assert chosen(indexes.best(ws, task, order)) == expected
        with index_from(1):
            assert chosen(choose(ws, task, policy)) == expected
        # Change the state between tasks as the engine does, through the same calls.
        change = pick(data, ["assign", "assign", "review", "later", "week"])
        if change == "assign" and expected[0] is not None:
            expert = ws.experts[expected[0]]
            if expert.week != ws.week:
                expert.week, expert.used = ws.week, 0
            expert.used += task.minutes
            expert.last_assigned = ws.clock
            expert.assignments = {**(expert.assignments or {}), task.task: None}
            if ws.refresh_idle(expert):
                ws.rekey(expert)
        elif change == "review":
            # As the engine's review handler: the domain and (domain, kind) records of
            # the expert reviewed, then the agreement of the reviewers compared.
            expert = ws.experts[pick(data, names)]
            given_score = pick(data, [0.0, 0.5, 1.0])
            if expert.records is None:
                expert.records = {}
            record = expert.records.setdefault("stem", Record())
            record.reviews += 1
            record.total += given_score
            if record.kinds is None:
                record.kinds = {}
            kind = record.kinds.setdefault(pick(data, KINDS), Record())
            kind.reviews += 1
            kind.total += given_score
            if expert.idle:
                ws.rekey(expert)
            for name in data.draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
                reviewer = ws.experts[name]
                if reviewer.agreement is None:
                    reviewer.agreement = Record()
                reviewer.agreement.reviews += 1
                reviewer.agreement.total += pick(data, [0.0, 0.5, 1.0])
                if reviewer.idle:
                    ws.rekey(reviewer)
        elif change == "later":
            ws.clock += pick(data, [1, 10, 30, 60]) * MINUTE
        elif change == "week":
            ws.clock += 7 * 24 * 60 * MINUTE
            ws.new_week(week_index(ws.clock))
            for expert in ws.experts.values():
                ws.refresh_idle(expert)


# --- through the engine ---------------------------------------------------------

EXPERTS = [f"e{i}" for i in range(12)]
TASKS = [f"t{i}" for i in range(30)]
ACTIONS = [
    *["profile", "status", "status", "removed", "created", "created", "created", "created"],
    *["cancelled", "declined", "submitted", "submitted", "submitted", "reviewed", "reviewed"],
    "tick",
]


def check_indexes(engine: Engine) -> None:
    """Every index of every pool holds what a rebuild from the idle set would."""
    for ws in engine.workspaces.values():
        for key, pool in ws.pools.items():
            index = pool.index
            if index is None:
                continue
            assert isinstance(index, PoolIndexes)
            if index.week != ws.week or index.policy is not engine.policy:
                continue  # stale: choose rebuilds it before any use
            check_index(ws, index, PoolIndexes(ws, key, pool, index.policy))
            assert set(index.entries) == set(pool.idle)


def check_index(ws: Workspace, index: PoolIndexes, fresh: PoolIndexes) -> None:
    assert {k: v for k, v in index.recorded.items() if v} == fresh.recorded
    assert {n: (e[0].levels, *e[1:]) for n, e in index.entries.items()} == {
        n: (e[0].levels, *e[1:]) for n, e in fresh.entries.items()
    }
    assert set(fresh.facets) <= set(index.facets)  # the base orders, and kinds' own
    for levels, group in index.classes.items():
        listed = sorted(n for n, e in index.entries.items() if e[0] is group)
        assert len(group.rooms) == len(group.by_last) == group.size == len(listed)
        assert sorted(name for _, name in group.by_last) == listed
        if listed:
            assert group.head == group.by_last[0]
            assert group.first_last == group.by_last[0][0]
            assert group.shortest == group.rooms[0]
            assert levels in fresh.classes
        for own in index.facets.values():
            order = own.orders[levels]
            keys = {
                n: -steady(ws.experts[n], index.domain, own.name, ws.week, index.policy)
                for n in listed
            }
            assert list(order.by_key) == sorted((k, n) for n, k in keys.items())
            assert {n: own.keys[n] for n in listed} == keys
            if listed:
                assert order.head == order.by_key[0]
                assert order.first == order.by_key[0][0]
    for own in index.facets.values():
        assert set(own.keys) == set(index.entries)
    for kind, used in index.resolved.items():
        if index.policy.by_kind and (kind in index.facets or index.recorded.get(kind)):
            assert used is index.facets[kind]
        else:
            assert used.name in ("", AGREED)


def draw_event(
    data: st.DataObject,
    n: int,
    at: datetime,
    holders: list[tuple[str, str]],
    submitted: list[tuple[str, str]],
) -> InputEvent:
    eid = f"ev{n}"
    action = pick(data, ACTIONS)
    expert = pick(data, EXPERTS)
    task = pick(data, TASKS)
    if action == "profile":
        return ExpertProfile(
            eid,
            at,
            "w",
            expert=expert,
            domains={"stem": data.draw(st.integers(1, 4))},
            languages={"en": pick(data, ["C1", "C2", "native"])},
            education=pick(data, ["bachelor", "master", "doctorate"]),
            weekly_hours=pick(data, [1.0, 2.0, 20.0]),
            concurrency=data.draw(st.integers(1, 3)),
        )
    if action == "status":
        status = pick(data, ["available", "available", "away"])
        return ExpertStatus(eid, at, "w", expert=expert, status=status)  # type: ignore[arg-type]
    if action == "removed":
        return ExpertRemoved(eid, at, "w", expert=expert)
    if action == "created":
        v1_1: dict[str, object] = {}
        if data.draw(st.integers(0, 4)) == 0:
            v1_1 = {"quality": pick(data, [0.5, 0.75, 0.8])}
        return TaskCreated(
            eid,
            at,
            "w",
            task=task,
            kind=pick(data, KINDS),
            domain="stem",
            language="en",
            minutes=pick(data, [10, 30, 45]),
            skill=data.draw(st.integers(1, 3)),
            fluency=pick(data, ["C1", "C2"]),
            judgements=data.draw(st.integers(1, 3)),
            exclude=tuple(data.draw(st.lists(st.sampled_from(EXPERTS), max_size=2))),
            parent=pick(data, [None, None, *TASKS[:5]]),
            **v1_1,  # type: ignore[arg-type]
        )
    if action == "cancelled":
        return TaskCancelled(eid, at, "w", task=task)
    if action == "reviewed" and submitted:
        task, expert = pick(data, submitted)
    elif action in ("declined", "submitted", "reviewed") and holders:
        task, expert = pick(data, holders)
    if action == "declined":
        return TaskDeclined(eid, at, "w", task=task, expert=expert)
    if action == "submitted":
        return TaskSubmitted(eid, at, "w", task=task, expert=expert, seconds=60)
    if action == "reviewed":
        score = pick(data, [0.0, 0.4, 0.9, 1.0])
        # Reviewers who are experts too, so that their agreement (and index keys) change.
        reviewer = pick(data, ["qa", "qb", *EXPERTS[:4]])
        return TaskReviewed(
            eid,
            at,
            "w",
            task=task,
            expert=expert,
            reviewer=reviewer,
            score=score,
            passed=score > 0.5,
        )
    return ClockTick(eid, at, "w")


def apply(engine: Engine, event: InputEvent, threshold: int) -> list[bytes]:
    with index_from(threshold):
        return [encode(o) for o in engine.apply(event)]


@given(st.data(), policies())
def test_an_indexing_engine_writes_what_a_scanning_one_does(
    data: st.DataObject, policy: Policy
) -> None:
    indexing, scanning = Engine(policy), Engine(policy)
    at = START
    holders: list[tuple[str, str]] = []
    submitted: list[tuple[str, str]] = []
    for n in range(data.draw(st.integers(10, 120), label="events")):
        at = later(data, at, [0, 0, 1, 5, 30, 300, 3000])
        event = draw_event(data, n, at, holders, submitted)
        out = apply(indexing, event, 1)
        assert out == apply(scanning, event, 2**62)
        check_indexes(indexing)
        ws = indexing.workspaces["w"]
        holders = sorted((t.task, e) for t in ws.tasks.values() for e in t.open or ())
        submitted = sorted((t.task, e) for t in ws.tasks.values() for e in t.submitters or ())
        holders = holders + submitted[:3]


def test_a_large_pool_uses_the_index_and_drops_it_when_it_shrinks() -> None:
    engine = Engine()
    at = START
    for event in available_experts(200, at):
        engine.apply(event)
    pool = engine.workspaces["w"].pools[POOL]
    assert pool.index is None  # nothing asked yet
    for i in range(190):
        at += timedelta(seconds=1)
        engine.apply(
            TaskCreated(
                f"c{i}",
                at,
                "w",
                task=f"t{i}",
                kind="write",
                domain="stem",
                language="en",
                minutes=30,
            )
        )
        if i == 0:
            assert isinstance(pool.index, PoolIndexes)
            # The learned default is by kind, but nobody has a record of "write": the
            # domain's order; the one with the agreement is built with it.
            assert list(pool.index.facets) == ["", AGREED]
            assert pool.index.resolved == {"write": pool.index.facets[""]}
    assert len(pool.idle) == 10 and pool.index is None


def test_the_balanced_policy_keeps_one_index_per_pool() -> None:
    engine = Engine(BALANCED)
    at = START
    for event in available_experts(100, at):
        engine.apply(event)
    for i, kind in enumerate(KINDS):
        at += timedelta(seconds=1)
        engine.apply(
            TaskCreated(
                f"c{i}", at, "w", task=f"t{i}", kind=kind, domain="stem", language="en", minutes=30
            )
        )
    pool = engine.workspaces["w"].pools[POOL]
    assert isinstance(pool.index, PoolIndexes)
    assert list(pool.index.facets) == [""]


def test_a_kind_with_a_record_gets_its_own_order_made_from_its_base() -> None:
    ws = Workspace("w")
    ws.clock = to_micros(START)
    ws.week = week_index(ws.clock)
    for i in range(100):
        name = f"x{i:03d}"
        expert = ws.experts[name] = Expert(
            expert=name,
            domains={"stem": 3},
            languages={"en": 6},
            education=2,
            capacity=1200,
            concurrency=1,
            pools=((POOL, 3, 6),),
            status="available",
        )
        ws.index(expert)
    pool = ws.pool(POOL)
    indexes = pool.index = PoolIndexes(ws, POOL, pool, DEFAULT_POLICY)
    task = Task(
        rank=1,
        task="t1",
        kind="write",
        domain="stem",
        language="en",
        skill=1,
        fluency=4,
        education=0,
        minutes=30,
        judgements=1,
        priority=0,
        created=ws.clock,
        pool=POOL,
        requirement=(1, 4, 0),
        exclude=None,
        parent=None,
    )
    assert indexes.resolve(ws, task) is indexes.facets[""]  # nobody has a record of "write"
    reviewed = ws.experts["x050"]
    reviewed.records = {"stem": Record(2, 2.0, kinds={"write": Record(2, 2.0)})}
    ws.rekey(reviewed)
    assert "write" not in indexes.resolved  # asked again at the next task of the kind
    order = indexes.resolve(ws, task)
    assert order is indexes.facets["write"] and indexes.resolved["write"] is order
    base = indexes.facets[""]
    assert {n: k for n, k in order.keys.items() if n != "x050"} == {
        n: k for n, k in base.keys.items() if n != "x050"
    }
    assert order.keys["x050"] != base.keys["x050"]
    assert chosen(indexes.best(ws, task, order)) == chosen(scan(ws, task, DEFAULT_POLICY))
    assert chosen(indexes.best(ws, task, order)) == ("x050", 100)


def test_a_snapshot_of_an_indexing_engine_restores_one_that_decides_alike() -> None:
    events = simulated(30, 4, 3)
    cut = len(events) // 2
    with index_from(1):
        whole = Engine()
        expected = [encode(o) for e in events for o in whole.apply(e)]
        part = Engine()
        head = [encode(o) for e in events[:cut] for o in part.apply(e)]
        pools = [p for ws in part.workspaces.values() for p in ws.pools.values()]
        assert any(pool.index is not None for pool in pools)
        restored = restore(snapshot(part))
        pools = [p for ws in restored.workspaces.values() for p in ws.pools.values()]
        assert all(pool.index is None for pool in pools)  # derived: rebuilt when needed
        tail = [encode(o) for e in events[cut:] for o in restored.apply(e)]
    assert head + tail == expected
    with index_from(2**62):
        scanning = Engine()
        for event in events[:cut]:
            scanning.apply(event)
    assert snapshot(scanning) == snapshot(part)
