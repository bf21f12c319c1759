"""Realistic input streams for tests, made by the demo's simulation."""

from __future__ import annotations

from functools import cache

from events import InputEvent, encode
from router import Engine
from triage.sim import Scenario, simulate


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
