"""The policy's choice (router/_scoring.py): who of the eligible experts gets the task.

Through the engine, on small workspaces whose scores can be worked out by
hand: fit, review quality, load and the tie-break by expert id, and the
reasons that name each of them.
"""

from __future__ import annotations

from router import Policy
from tests.factory import World, assigned


def test_policy_prefers_the_least_over_qualified_expert() -> None:
    w = World()
    w.expert("professor", domains={"stem": 5}, education="doctorate")
    w.expert("graduate", domains={"stem": 3}, education="bachelor")
    out = w.task("t", skill=2)
    assert assigned(out) == [("t", "graduate")]
    reasons = out[0].reasons  # type: ignore[union-attr]
    assert any(r.startswith("fit ") for r in reasons)
    assert "best of 2 eligible with room" in reasons


def test_policy_prefers_better_reviewed_experts() -> None:
    w = World(Policy(fit=0, idle=0, load=0, quality=1))
    w.expert("ana", concurrency=5)
    w.expert("bo", concurrency=5)
    for n, (name, score) in enumerate([("ana", 0.2), ("bo", 0.95)]):
        w.task(f"w{n}", exclude=("bo",) if name == "ana" else ("ana",))
        w.submit(f"w{n}", name)
        w.review(f"w{n}", name, "qa", score)
    out = w.task("next")
    assert assigned(out) == [("next", "bo")]
    assert "quality 0.80 from 1 reviews in stem" in out[0].reasons  # type: ignore[union-attr]


def test_policy_spreads_load_and_ties_break_by_id() -> None:
    w = World(Policy(quality=0, fit=0, idle=0, load=1))
    w.expert("bo", concurrency=9)
    w.expert("ana", concurrency=9)
    first = assigned(w.task("a"))
    second = assigned(w.task("b"))
    assert first == [("a", "ana")] and second == [("b", "bo")]
