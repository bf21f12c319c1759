"""Input streams for tests: realistic ones made by the demo's simulation, and the parts
that the property tests draw theirs from (a start, a pool of idle experts, draws).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TypeVar

from hypothesis import strategies as st

from events import ExpertProfile, ExpertStatus, InputEvent, encode
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
