"""Every explanation of the demo agrees with the decision the log recorded.

The demo's month is replayed with a :class:`~router.Witness` explaining
every assignment at its moment; each explanation's winner must be the
recorded assignee, its eligible count the "best of N eligible" of the
recorded reasons, and a task that arrives and is not assigned must have
nobody eligible (the contract's rule 4, seen from the explanation).
"""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from events import TaskAssigned, TaskCreated, decode_input, decode_output
from router import Engine, Policy, Witness, explain
from tests.cli.test_cli import triage
from triage.embedded import Journal

_ELIGIBLE = re.compile(r"best of (\d+) eligible with room")


def _eligible(reasons: tuple[str, ...]) -> int:
    for reason in reasons:
        if reason == "only eligible expert with room":
            return 1
        found = _ELIGIBLE.fullmatch(reason)
        if found:
            return int(found.group(1))
    raise AssertionError(f"no count of eligible experts in {reasons}")


@pytest.mark.slow
def test_every_explained_assignment_of_the_demo_is_the_recorded_one(tmp_path: Path) -> None:
    log = tmp_path / "demo.db"
    triage("demo", "--log", str(log), "--quiet")
    witness = Witness(top=1)
    with Journal(log, readonly=True) as journal:
        ((_, body),) = journal.policies()
        engine = Engine(msgspec.json.decode(body, type=Policy), ranking=witness)
        assignments = waiting = 0
        for entry in journal.entries():
            event = decode_input(entry.input)
            witness.take()
            engine.apply(event)
            recorded = [decode_output(raw) for raw in entry.outputs]
            made = [o for o in recorded if isinstance(o, TaskAssigned)]
            found = witness.take()
            assert [assignee for _, assignee in found] == [o.expert for o in made]
            for (explanation, _), output in zip(found, made, strict=True):
                assert explanation.task == output.task and explanation.winner == output.expert
                assert explanation.eligible == _eligible(output.reasons)
                assert explanation.at == output.at
                assert explanation.top[0].total == pytest.approx(output.score, abs=5e-5)
            assignments += len(made)
            if isinstance(event, TaskCreated) and not any(o.task == event.task for o in made):
                ws = engine.workspaces[event.workspace]
                task = ws.tasks[event.task]
                if task.queued:
                    assert explain(ws, task, engine.policy).eligible == 0
                    waiting += 1
    assert assignments > 25_000 and waiting > 100
