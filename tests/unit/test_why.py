"""The replay behind `triage why`: which moments are explained, in which state."""

from __future__ import annotations

import pytest

from events import ConfigError, InputEvent, OutputEvent, encode
from router import DEFAULT_POLICY
from tests.factory import World
from triage.ops import Question, Recorded, find_task, render_why, why


class Recording(World):
    """A world that keeps what a journal would: each input with its outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Recorded] = []

    def send(self, event: InputEvent) -> list[OutputEvent]:
        outputs = super().send(event)
        self.entries.append((len(self.entries) + 1, encode(event), [encode(o) for o in outputs]))
        return outputs


def explained(world: Recording, task: str, expert: str | None = None):  # type: ignore[no-untyped-def]
    trail = find_task(world.entries, Question(task=task, expert=expert))
    return why(world.entries, [(1, DEFAULT_POLICY)], trail)


def test_each_kind_of_moment_is_explained_in_its_state() -> None:
    world = Recording()
    world.expert("ana", domains={"stem": 3})
    world.later(minutes=1).task("t1", skill=4)  # nobody has stem 4: it waits
    world.later(minutes=1).expert("bo", domains={"stem": 4}, available=False)
    world.later(minutes=1).status("bo", "available")  # bo takes it
    world.later(minutes=1).decline("t1", "bo")  # back to the queue; bo never again
    world.later(minutes=1).task("t2", skill=4)
    world.later(minutes=1).cancel("t1")
    world.later(minutes=1).task("t3", skill=5)  # nobody, ever
    world.later(minutes=1).tick()

    result = explained(world, "t1", expert="bo")
    assert result.state == "cancelled" and result.diverged is None
    assert [(d.outcome, d.expert) for d in result.decisions] == [
        ("waiting", None),
        ("assigned", "bo"),
        ("waiting", None),
        ("cancelled", None),
    ]
    rules = [d.explanation.standing.rule for d in result.decisions]  # type: ignore[union-attr]
    assert rules == ["unknown", None, "tried", "concurrency"]  # bo took t2 before t1 ended
    first = result.decisions[0].explanation
    assert first.eligible == 0 and first.funnel[0].experts == ("ana",)
    assert result.replayed == 8 == len(world.entries) - 2  # stops at the cancel, not the tick
    text = render_why(result, source="a test")
    assert "bo got it at decision 2" in text and "then cancelled" in text

    taken = explained(world, "t2")
    assert taken.state == "open" and [d.outcome for d in taken.decisions] == ["assigned"]
    queued = explained(world, "t3")
    assert queued.state == "open" and [d.outcome for d in queued.decisions] == ["waiting", "end"]
    assert queued.replayed == len(world.entries)
    assert queued.decisions[-1].explanation.funnel[0].removed == 2


def test_an_unknown_task_is_refused_and_a_refused_creation_is_not_a_task() -> None:
    world = Recording()
    world.expert("ana")
    with pytest.raises(ConfigError, match="no task 'nope' in the history"):
        explained(world, "nope")
    world.task("t1")
    world.task("t1")  # a second creation: refused, and part of the task's history
    result = explained(world, "t1")
    assert [e.type for e in result.history] == [
        "task.created",
        "task.assigned",
        "task.created",
        "event.rejected",
    ]
