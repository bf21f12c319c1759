"""Realistic input streams for tests, made by the demo's simulation."""

from __future__ import annotations

from functools import cache

from events import InputEvent, TaskAssigned, decode_input, encode
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
