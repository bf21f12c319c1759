"""The explanation of a decision: the funnel, the candidates, the tie-break, a standing."""

from __future__ import annotations

import msgspec

from events import TaskStep, encode
from router import RULES, Witness, explain
from tests.factory import World

EVERYONE = (
    "a-dom",
    "b-lang",
    "c-edu",
    "d-away",
    "e-busy",
    "f-hours",
    "g-excl",
    "h-parent",
    "i-tried",
    "k-gate",
    "m-best",
    "n-tie",
)


def story(world: World) -> None:
    """Each rule of the funnel removes exactly one expert when a step opens task t."""
    world.expert("h-parent")
    world.task("p", minutes=30)
    world.later(minutes=5).submit("p", "h-parent")
    world.status("h-parent", "away")
    world.expert("k-gate")
    world.task("q", minutes=30)
    world.later(minutes=5).submit("q", "k-gate")
    world.review("q", "k-gate", "h-parent", 0.0)  # record (0.75 x 3 + 0) / 4 = 0.5625
    world.status("k-gate", "away")
    world.expert("i-tried", concurrency=2)
    world.later(minutes=1).task(
        "t",
        skill=3,
        education="master",
        minutes=45,
        judgements=2,
        exclude=("g-excl",),
        parent="p",
        quality=0.6,
        experts=("i-tried",),
        steps=(TaskStep(after_minutes=60, experts=EVERYONE),),
    )
    world.expert("e-busy", domains={"stem": 3, "law": 3}, available=False)
    world.task("other", domain="law", minutes=30, priority=100)
    world.status("e-busy", "available")
    world.expert("a-dom", domains={"stem": 1})
    world.expert("b-lang", languages={"en": "B2"})
    world.expert("c-edu", education="bachelor")
    world.expert("d-away", available=False)
    world.status("d-away", "away")
    world.expert("f-hours", hours=0.5)
    world.expert("g-excl")
    world.expert("j-unlisted")
    world.status("h-parent", "available")
    world.status("k-gate", "available")
    world.expert("n-tie")
    world.expert("m-best")
    world.later(minutes=61).tick()


def test_each_rule_names_whom_it_removed_and_the_tie_goes_to_the_smallest_id() -> None:
    world = World()
    witness = Witness("w", "t", expert="n-tie")
    world.engine.ranking = witness
    story(world)
    found = witness.take()
    assert [assignee for _, assignee in found] == ["i-tried", "m-best"]
    first, second = (explanation for explanation, _ in found)
    assert first.eligible == 1 and first.winner == "i-tried" and first.tie is None
    assert first.standing is not None and first.standing.rule == "unknown"
    assert [stage.rule for stage in second.funnel] == list(RULES)
    removed = {stage.rule: stage.experts for stage in second.funnel}
    assert removed == {
        "domain": ("a-dom",),
        "language": ("b-lang",),
        "education": ("c-edu",),
        "status": ("d-away",),
        "concurrency": ("e-busy",),
        "weekly_hours": ("f-hours",),
        "exclusions": ("g-excl",),
        "parent": ("h-parent",),
        "tried": ("i-tried",),
        "allow_list": ("j-unlisted",),
        "quality_gate": ("k-gate",),
    }
    assert second.considered == 13 and second.funnel[-1].left == second.eligible == 2
    assert [c.expert for c in second.top] == ["m-best", "n-tie"]
    assert second.tie is not None and second.tie.tied == ("m-best", "n-tie")
    assert second.winner == second.tie.winner == "m-best"
    assert second.requirements.step == 1 and second.requirements.quality == 0.6
    standing = second.standing
    assert standing is not None and standing.rule is None and standing.place == 2
    assert "tied" in standing.detail


def test_a_witness_changes_no_output() -> None:
    plain, watched = World(), World()
    watched.engine.ranking = Witness()
    story(plain)
    story(watched)
    assert [encode(o) for o in watched.outputs] == [encode(o) for o in plain.outputs]


def test_the_standing_of_each_removed_expert_says_why_in_their_figures() -> None:
    world = World()
    story(world)
    ws = world.engine.workspaces["w"]
    world.expert("x-late", available=False)
    world.task("t2", skill=2, education="master", minutes=45, parent="p")
    task = ws.tasks["t2"]
    said = {
        name: explain(ws, task, world.engine.policy, expert=name).standing
        for name in ("a-dom", "b-lang", "c-edu", "d-away", "f-hours", "h-parent", "x-late", "zed")
    }
    details = {name: (s.rule, s.detail) for name, s in said.items() if s is not None}
    assert details["a-dom"] == ("domain", "stem level 1 < 2")
    assert details["c-edu"] == ("education", "education bachelor < master")
    assert details["h-parent"] == ("parent", "worked on the parent task p")
    assert details["b-lang"] == ("language", "en B2 < C1")
    assert details["d-away"] == ("status", "status away")
    assert details["x-late"] == ("status", "status offline")
    assert details["f-hours"] == ("weekly_hours", "0.0h of 0.5h used this week, 45 min needed")
    assert details["zed"][0] == "unknown"
    body = msgspec.json.decode(msgspec.json.encode(explain(ws, task, world.engine.policy)))
    assert body["policy"]["name"] == "learned-2" and len(body["funnel"]) == len(RULES)
