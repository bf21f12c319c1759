"""Input streams for tests: realistic ones made by the demo's simulation, and the parts
that the property tests draw theirs from (a start, a pool of idle experts, draws).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TypeVar

from hypothesis import strategies as st

from events import ExpertProfile, ExpertStatus, InputEvent, TaskAssigned, decode_input, encode
from router import Engine
from triage.sim import Scenario, simulate

_T = TypeVar("_T")

#: A Sunday evening (UTC): a stream that starts here soon crosses into a new ISO week.
START = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)


def pick(data: st.DataObject, values: Sequence[_T]) -> _T:
    """One of ``values``, drawn."""
    return data.draw(st.sampled_from(values))


def later(data: st.DataObject, at: datetime, minutes: Sequence[int]) -> datetime:
    """``at`` moved on by one of ``minutes``, drawn."""
    return at + timedelta(minutes=pick(data, minutes))


def available_experts(count: int, at: datetime, workspace: str = "w") -> list[InputEvent]:
    """``count`` experts alike (x000, x001, ...: stem 3, native English, a master's, 20 h a
    week), each made available at ``at``: one pool that tasks find idle."""
    events: list[InputEvent] = []
    for i in range(count):
        name = f"x{i:03d}"
        events.append(
            ExpertProfile(
                f"p{i}",
                at,
                workspace,
                expert=name,
                domains={"stem": 3},
                languages={"en": "native"},
                education="master",
                weekly_hours=20.0,
            )
        )
        events.append(ExpertStatus(f"s{i}", at, workspace, expert=name, status="available"))
    return events


@cache
def simulated(experts: int = 40, days: int = 3, seed: int = 3) -> tuple[InputEvent, ...]:
    """The inputs of a simulated project, as a live engine saw them."""
    engine = Engine()
    inputs: list[InputEvent] = []

    def process(event: InputEvent) -> list:  # type: ignore[type-arg]
        inputs.append(event)
        return engine.apply(event)

    simulate(Scenario(seed=seed, experts=experts, days=days), process)
    return tuple(inputs)


def jsonl(events: tuple[InputEvent, ...] | list[InputEvent]) -> bytes:
    """Events as JSON Lines."""
    return b"".join(encode(e) + b"\n" for e in events)


def crowded_sets() -> tuple[InputEvent, ...]:
    """A task declined by many experts, with a long exclude list and an allow-list in steps."""
    at = "2026-11-02T08:00:00Z"
    names = [f"e{i:02d}" for i in range(12)]
    lines = [
        f'{{"type":"expert.profile","id":"p{name}","at":"{at}","workspace":"crowd",'
        f'"expert":"{name}","domains":{{"stem":3}},"languages":{{"en":"native"}},'
        f'"education":"master","weekly_hours":20}}'
        for name in names
    ]
    lines += [
        f'{{"type":"expert.status","id":"s{name}","at":"{at}","workspace":"crowd",'
        f'"expert":"{name}","status":"available"}}'
        for name in names
    ]
    listed = ",".join(f'"{name}"' for name in names[::-1])
    lines.append(
        f'{{"type":"task.created","id":"t1","at":"{at}","workspace":"crowd","task":"t1",'
        f'"kind":"write","domain":"stem","language":"en","minutes":10,'
        f'"exclude":["x1","x2","x3","x4","x5","x6"],"experts":[{listed}],'
        f'"steps":[{{"after_minutes":600,"experts":[{listed}]}}]}}'
    )
    lines += [
        f'{{"type":"task.declined","id":"d{name}","at":"{at}","workspace":"crowd",'
        f'"task":"t1","expert":"{name}"}}'
        for name in names[:-1]
    ]
    events = tuple(decode_input(line.encode()) for line in lines)
    engine = Engine()
    held = [o for e in events for o in engine.apply(e) if isinstance(o, TaskAssigned)]
    assert len(held) == len(names)  # each declined in turn: the last holds it, all are tried
    return events
