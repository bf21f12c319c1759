"""Random event sequences never break the contract's rules 1 to 4, and replay exactly.

Hypothesis draws a workforce and a stream of events (profiles, presence,
removals, tasks with requirements, exclusions, parents and several
judgements, cancellations, declines, submissions, reviews, ticks, in two
workspaces that share ids), feeding each to the engine and the output to an
independent referee (tests/rules.py). Submissions and declines mostly come
from real holders, sometimes from anyone, so refusals are exercised too.

About half the tasks use v1.1 (requirement steps, quality gates, allow-lists
naming known and unknown experts, adaptive overlap with answers from a
three-letter alphabet); the rest are v1 tasks, in the same streams.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import (
    ClockTick,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    InputEvent,
    TaskCancelled,
    TaskCreated,
    TaskDeclined,
    TaskReviewed,
    TaskStep,
    TaskSubmitted,
    encode,
)
from router import Engine, Policy
from tests.rules import CEFR, EDU, Referee
from tests.streams import START, later, pick

EXPERTS = ["ana", "bo", "chen", "dara", "eli"]
TASKS = [f"t{i}" for i in range(10)]
DOMAINS = ["stem", "law"]
LANGUAGES = ["en", "pt-BR", "pt", "fr"]
WORKSPACES = ["w1", "w2"]
POLICY = Policy(lease_min_minutes=20, lease_factor=2.0, lease_max_minutes=240)

ACTIONS = [
    "profile",
    "status",
    "status",
    "status",
    "removed",
    "created",
    "created",
    "created",
    "cancelled",
    "declined",
    "submitted",
    "submitted",
    "submitted",
    "reviewed",
    "tick",
]


ANSWERS = [None, "a", "a", "b", "c"]
GATES = [None, 0.5, 0.7, 0.75, 0.8, 0.9]
NAMED = [*EXPERTS, "zed"]  # zed never has a profile: a list may wait for nobody


def v1_1_fields(data: st.DataObject) -> dict[str, object]:
    """The optional v1.1 fields of a task: gate, allow-list, steps, adaptive overlap."""
    fields: dict[str, object] = {
        "quality": pick(data, GATES),
        "experts": tuple(data.draw(st.lists(st.sampled_from(NAMED), max_size=2))),
    }
    afters = sorted(data.draw(st.sets(st.sampled_from([1, 5, 15, 30, 60, 120, 600]), max_size=3)))
    steps = []
    for after in afters:
        step: dict[str, object] = {}
        if data.draw(st.booleans()):
            step["skill"] = data.draw(st.integers(1, 4))
        if data.draw(st.booleans()):
            step["fluency"] = pick(data, CEFR[3:])
        if data.draw(st.booleans()):
            step["education"] = pick(data, EDU[:4])
        if data.draw(st.booleans()):
            step["quality"] = pick(data, GATES)
        if data.draw(st.booleans()):
            step["experts"] = tuple(data.draw(st.lists(st.sampled_from(NAMED), max_size=2)))
        steps.append(TaskStep(after_minutes=after, **step))  # type: ignore[arg-type]
    fields["steps"] = tuple(steps)
    if data.draw(st.booleans()):
        fields["agreement"] = pick(data, [0.5, 0.6, 0.75, 1.0])
        fields["max_judgements"] = data.draw(st.integers(3, 5))
    return fields


def draw_event(data: st.DataObject, n: int, at: datetime, ws: str, referee: Referee) -> InputEvent:
    eid = f"ev{n}"
    action = pick(data, ACTIONS)
    if action == "profile":
        return ExpertProfile(
            eid,
            at,
            ws,
            expert=pick(data, EXPERTS),
            domains=data.draw(
                st.dictionaries(st.sampled_from(DOMAINS), st.integers(1, 5), min_size=1)
            ),
            languages=data.draw(
                st.dictionaries(st.sampled_from(LANGUAGES), st.sampled_from(CEFR[3:]), min_size=1)
            ),
            education=pick(data, EDU[1:]),
            weekly_hours=pick(data, [0.5, 1.0, 2.0, 20.0]),
            concurrency=data.draw(st.integers(1, 2)),
        )
    if action == "status":
        return ExpertStatus(
            eid,
            at,
            ws,
            expert=pick(data, EXPERTS),
            status=pick(data, ["available", "available", "away", "offline"]),
        )
    if action == "removed":
        return ExpertRemoved(eid, at, ws, expert=pick(data, EXPERTS))
    if action == "created":
        earlier = sorted(referee.work)
        return TaskCreated(
            eid,
            at,
            ws,
            task=pick(data, TASKS),
            kind=pick(data, ["write", "rate", "audit"]),
            domain=pick(data, DOMAINS),
            language=pick(data, LANGUAGES),
            minutes=pick(data, [5, 15, 30, 45, 90]),
            education=pick(data, EDU[:4]),
            skill=data.draw(st.integers(1, 4)),
            fluency=pick(data, CEFR[3:]),
            priority=pick(data, [0, 0, 10, 50]),
            judgements=data.draw(st.integers(1, 3)),
            exclude=tuple(data.draw(st.lists(st.sampled_from(EXPERTS), max_size=2, unique=True))),
            parent=pick(data, earlier) if earlier and data.draw(st.booleans()) else None,
            **(v1_1_fields(data) if data.draw(st.booleans()) else {}),
        )
    if action == "cancelled":
        return TaskCancelled(eid, at, ws, task=pick(data, TASKS))
    if action in ("declined", "submitted"):
        holders = sorted((t, e) for t, w in referee.work.items() for e in w.open)
        if holders and data.draw(st.integers(0, 4)) > 0:
            task, expert = pick(data, [f"{t}|{e}" for t, e in holders]).split("|")
        else:
            task, expert = pick(data, TASKS), pick(data, EXPERTS)
        if action == "declined":
            return TaskDeclined(eid, at, ws, task=task, expert=expert)
        return TaskSubmitted(
            eid,
            at,
            ws,
            task=task,
            expert=expert,
            seconds=data.draw(st.integers(0, 5000)),
            answer=pick(data, ANSWERS),
        )
    if action == "reviewed":
        done = sorted((t, e) for t, w in referee.work.items() for e in w.submitters)
        if done and data.draw(st.booleans()):
            task, expert = pick(data, [f"{t}|{e}" for t, e in done]).split("|")
        else:
            task, expert = pick(data, TASKS), pick(data, EXPERTS)
        score = data.draw(st.floats(0, 1))
        return TaskReviewed(
            eid,
            at,
            ws,
            task=task,
            expert=expert,
            reviewer=pick(data, [*EXPERTS, "qa-lead"]),
            score=score,
            passed=score >= 0.7,
        )
    return ClockTick(eid, at, ws)


@pytest.fixture(params=["offers", "cursors"], autouse=True)
def dispatch_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every property on both dispatch paths: per-expert offers and class cursors."""
    import router._dispatch

    monkeypatch.setattr(router._dispatch, "_FEW", 10**9 if request.param == "offers" else 0)


@pytest.fixture(params=["scan", "index"], autouse=True)
def choice_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """And on both ways of choosing the expert: the full scan and the idle index of every pool."""
    import router._index

    monkeypatch.setattr(router._index, "INDEX_FROM", 2**62 if request.param == "scan" else 1)


@given(st.data())
def test_random_streams_keep_rules_1_to_4(data: st.DataObject) -> None:
    engine = Engine(POLICY)
    referees = {
        ws: Referee(POLICY.quality_prior, POLICY.quality_prior_reviews) for ws in WORKSPACES
    }
    clock = START
    stream: list[InputEvent] = []
    for n in range(data.draw(st.integers(5, 80), label="events")):
        clock = later(data, clock, [0, 0, 1, 10, 30, 90, 600])
        late = pick(data, [0, 0, 0, 0, 5])  # now and then an event arrives late
        ws = pick(data, WORKSPACES)
        event = draw_event(data, n, clock - timedelta(minutes=late), ws, referees[ws])
        outputs = engine.apply(event)
        referees[ws].step(event, outputs)
        stream.append(event)

    replay_a = Engine(POLICY)
    replay_b = Engine(POLICY)
    out_a = b"\n".join(encode(o) for e in stream for o in replay_a.apply(e))
    out_b = b"\n".join(encode(o) for e in stream for o in replay_b.apply(e))
    assert out_a == out_b


@given(st.data())
def test_busy_workspace_keeps_rules(data: st.DataObject) -> None:
    """Many available experts and tasks at once: the dispatch loop under load."""
    engine = Engine(POLICY)
    referee = Referee()
    at = START
    n = 0

    def feed(event: InputEvent) -> None:
        referee.step(event, engine.apply(event))

    for expert in EXPERTS:
        n += 1
        feed(
            ExpertProfile(
                f"p{n}",
                at,
                "w",
                expert=expert,
                domains={"stem": data.draw(st.integers(1, 5)), "law": data.draw(st.integers(1, 5))},
                languages={pick(data, LANGUAGES): "native", "en": "C1"},
                education=pick(data, EDU[1:]),
                weekly_hours=pick(data, [1.0, 3.0, 20.0]),
                concurrency=data.draw(st.integers(1, 3)),
            )
        )
    for task in TASKS:
        n += 1
        feed(
            TaskCreated(
                f"c{n}",
                at,
                "w",
                task=task,
                kind="rate",
                domain=pick(data, DOMAINS),
                language=pick(data, LANGUAGES),
                minutes=pick(data, [10, 40]),
                skill=data.draw(st.integers(1, 3)),
                judgements=data.draw(st.integers(1, 3)),
                priority=pick(data, [0, 5, 90]),
            )
        )
    for expert in EXPERTS:
        n += 1
        at += timedelta(minutes=1)
        feed(ExpertStatus(f"s{n}", at, "w", expert=expert, status="available"))
    for _ in range(data.draw(st.integers(0, 30))):
        n += 1
        at = later(data, at, [1, 20, 200, 3000])
        holders = sorted((t, e) for t, w in referee.work.items() for e in w.open)
        if holders:
            task, expert = pick(data, holders)
            feed(TaskSubmitted(f"x{n}", at, "w", task=task, expert=expert, seconds=60))
        else:
            feed(ClockTick(f"k{n}", at, "w"))
    assert referee.assigned >= 0  # the referee checked every step


@given(st.data())
def test_v1_1_workspace_keeps_the_amended_rules(data: st.DataObject) -> None:
    """A staffed workspace of v1.1 tasks: steps fall due, gates open, answers disagree."""
    engine = Engine(POLICY)
    referee = Referee(POLICY.quality_prior, POLICY.quality_prior_reviews)
    at = START
    n = 0

    def feed(event: InputEvent) -> None:
        referee.step(event, engine.apply(event))

    def new_task(name: str) -> TaskCreated:
        return TaskCreated(
            f"c{n}",
            at - timedelta(minutes=pick(data, [0, 0, 0, 20])),  # some late
            "w",
            task=name,
            kind=pick(data, ["rate", "edit"]),
            domain=pick(data, DOMAINS),
            language="en",
            minutes=pick(data, [10, 40]),
            skill=data.draw(st.integers(1, 5)),
            fluency=pick(data, CEFR[3:]),
            judgements=data.draw(st.integers(1, 3)),
            priority=pick(data, [0, 5, 90]),
            **v1_1_fields(data),
        )

    for expert in EXPERTS:
        n += 1
        feed(
            ExpertProfile(
                f"p{n}",
                at,
                "w",
                expert=expert,
                domains={"stem": data.draw(st.integers(1, 5)), "law": data.draw(st.integers(1, 5))},
                languages={"en": pick(data, CEFR[3:])},
                education=pick(data, EDU[1:]),
                weekly_hours=pick(data, [3.0, 20.0]),
                concurrency=data.draw(st.integers(1, 2)),
            )
        )
        n += 1
        feed(ExpertStatus(f"s{n}", at, "w", expert=expert, status="available"))
    created = 0
    for _ in range(data.draw(st.integers(1, 6))):
        n += 1
        feed(new_task(TASKS[created]))
        created += 1
    for _ in range(data.draw(st.integers(0, 40))):
        n += 1
        at = later(data, at, [0, 1, 5, 20, 60, 200])
        holders = sorted((t, e) for t, w in referee.work.items() for e in w.open)
        done = sorted((t, e) for t, w in referee.work.items() for e in w.submitters)
        action = data.draw(
            st.sampled_from(["submit", "submit", "review", "decline", "tick", "new"])
        )
        if action in ("submit", "decline") and holders:
            task, expert = pick(data, holders)
            if action == "decline":
                feed(TaskDeclined(f"d{n}", at, "w", task=task, expert=expert))
            else:
                answer = pick(data, ANSWERS)
                feed(
                    TaskSubmitted(
                        f"x{n}", at, "w", task=task, expert=expert, seconds=60, answer=answer
                    )
                )
        elif action == "review" and done:
            task, expert = pick(data, done)
            score = pick(data, [0.0, 0.6, 0.9, 1.0])
            feed(
                TaskReviewed(
                    f"r{n}",
                    at,
                    "w",
                    task=task,
                    expert=expert,
                    reviewer="qa",
                    score=score,
                    passed=True,
                )
            )
        elif action == "new" and created < len(TASKS):
            feed(new_task(TASKS[created]))
            created += 1
        else:
            feed(ClockTick(f"k{n}", at, "w"))
    assert referee.assigned >= 0  # the referee checked every step
