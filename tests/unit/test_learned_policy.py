"""The learned policy (router/_policy.py, _scoring.py): quality per kind, agreement, fairness.

Worked out by hand on small workspaces: the estimator's two levels of
shrinkage, the agreement of reviewers with the other reviews of the same
work, the reasons that name both, that the balanced policy of older logs
is untouched, and that a better record never starves the others of work.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from events import TaskAssigned
from router import BALANCED, DEFAULT_POLICY, Engine, Policy, explain
from router._scoring import agreement_in, quality_in
from tests.factory import World, assigned
from tests.streams import simulated
from triage._policy_file import load_policy


def _reviewed(
    w: World, task: str, name: str, scores: list[tuple[str, float]], **spec: object
) -> None:
    w.task(task, experts=(name,), **spec)
    w.submit(task, name)
    for reviewer, score in scores:
        w.review(task, name, reviewer, score)


def test_the_estimator_shrinks_the_kind_to_the_domain_and_the_domain_to_the_prior() -> None:
    w = World()
    w.expert("ana", concurrency=9)
    _reviewed(w, "w1", "ana", [("qa", 0.95)], kind="write")
    _reviewed(w, "w2", "ana", [("qa", 0.55)], kind="write")
    _reviewed(w, "r1", "ana", [("qa", 1.0)], kind="rate")
    ana = w.engine.workspaces["w"].experts["ana"]
    task = w.engine.workspaces["w"].tasks["w1"]
    # q_d = (0.75 x 3 + 0.95 + 0.55 + 1.0) / (3 + 3) = 4.75 / 6
    domain = (0.75 * 3 + 0.95 + 0.55 + 1.0) / 6
    # q_dk = (q_d x 2 + 0.95 + 0.55) / (2 + 2)
    assert quality_in(ana, task, DEFAULT_POLICY) == pytest.approx((domain * 2 + 1.5) / 4)
    assert quality_in(ana, task, BALANCED) == pytest.approx(domain)
    rate = w.engine.workspaces["w"].tasks["r1"]
    assert quality_in(ana, rate, DEFAULT_POLICY) == pytest.approx((domain * 2 + 1.0) / 3)
    edit = msgspec.structs.replace(task, kind="edit")  # never reviewed: the domain record
    assert quality_in(ana, edit, DEFAULT_POLICY) == pytest.approx(domain)


def test_agreement_is_the_closeness_to_other_reviews_of_the_same_submission() -> None:
    w = World()
    for name in ("author", "close", "far"):
        w.expert(name, concurrency=9)
    _reviewed(w, "w1", "author", [("close", 0.8), ("qa", 0.85), ("far", 0.4), ("close", 0.9)])
    ws = w.engine.workspaces["w"]
    close, far = ws.experts["close"], ws.experts["far"]
    # close vs qa 0.95; far vs close 0.6, vs qa 0.55; close again vs qa 0.95, vs far 0.5
    assert close.agreement is not None and far.agreement is not None
    assert (close.agreement.reviews, far.agreement.reviews) == (4, 3)
    assert close.agreement.total == pytest.approx(0.95 + 0.6 + 0.95 + 0.5)
    assert far.agreement.total == pytest.approx(0.6 + 0.55 + 0.5)
    assert agreement_in(far, DEFAULT_POLICY) == pytest.approx((0.8 * 3 + 1.65) / 6)
    assert agreement_in(ws.experts["author"], DEFAULT_POLICY) == 0.8  # the prior


def test_a_review_goes_to_the_reviewer_who_agrees_with_qa() -> None:
    w = World()
    for name in ("author", "close", "far"):
        w.expert(name, concurrency=9)
    for n in range(3):
        _reviewed(w, f"w{n}", "author", [("close", 0.8), ("far", 0.3), ("qa", 0.82)])
    out = w.task("rev", kind="review", parent="w0")
    assert assigned(out) == [("rev", "close")]
    reasons = out[0].reasons  # type: ignore[union-attr]
    # Per submission close has 1 - |0.8 - 0.3| and 1 - |0.82 - 0.8|; far 0.5 and 0.48.
    assert agreement_in(w.engine.workspaces["w"].experts["far"], DEFAULT_POLICY) < 0.6
    said = "agreement 0.76 with others' reviews over 6 pairs (75% of the quality weight)"
    assert said in reasons
    plain = w.task("plain", kind="write", exclude=("author",))
    said = plain[0].reasons  # type: ignore[union-attr]
    assert not any(r.startswith("agreement") for r in said)


def test_the_learned_reasons_name_the_kind_and_the_domain() -> None:
    w = World()
    w.expert("ana", concurrency=9)
    _reviewed(w, "w1", "ana", [("qa", 0.95)], kind="write")
    write = w.task("w2")
    # (0.80 x 2 + 0.95) / 3: the kind's one review, shrunk to the domain record
    assert "quality 0.85 from 1 reviews of write (stem 0.80 from 1 reviews)" in (
        write[0].reasons  # type: ignore[union-attr]
    )
    rate = w.task("r1", kind="rate")
    assert "quality 0.80 (no reviews of rate; stem 0.80 from 1 reviews)" in (
        rate[0].reasons  # type: ignore[union-attr]
    )


def test_the_balanced_policy_keeps_its_reasons_word_for_word() -> None:
    w = World(BALANCED)
    w.expert("ana", concurrency=9)
    _reviewed(w, "w1", "ana", [("qa", 0.95)], kind="write")
    out = w.task("rev", kind="review")
    assert isinstance(out[0], TaskAssigned)
    assert out[0].reasons[1] == "quality 0.80 from 1 reviews in stem"
    assert not any(r.startswith("agreement") for r in out[0].reasons)


def test_a_policy_recorded_before_the_learned_fields_decodes_to_the_balanced_policy() -> None:
    old = {f: v for f, v in msgspec.to_builtins(BALANCED).items() if f in _V1_FIELDS}
    assert msgspec.convert(old, Policy) == BALANCED
    assert not BALANCED.by_kind and BALANCED.agreement_share == 0


def test_a_policy_file_leaves_out_what_it_keeps_of_the_default(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"name": "heavier", "quality": 0.9}))
    policy = load_policy(path)
    assert policy == msgspec.structs.replace(DEFAULT_POLICY, name="heavier", quality=0.9)
    example = Path(__file__).parent.parent.parent / "examples" / "policy-balanced.toml"
    assert load_policy(example) == BALANCED  # for a Kafka journal written before


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"agreement_share": 1.5}, "at `$.agreement_share`"),
        ({"kind_prior_reviews": -1.0}, "at `$.kind_prior_reviews`"),
        ({"agreement_prior": 2.0}, "at `$.agreement_prior`"),
        ({"review_kinds": [""]}, "at `$.review_kinds[0]`"),
    ],
)
def test_the_learned_fields_are_bounded(data: dict[str, object], reason: str) -> None:
    with pytest.raises(
        msgspec.ValidationError, match=reason.replace("$", r"\$").replace("[", r"\[")
    ):
        msgspec.convert(data, Policy)


def test_a_better_record_does_not_starve_the_others() -> None:
    """The best-reviewed expert fills up first; then the work goes to the others."""
    w = World()
    for name in ("ana", "bo", "chen"):
        w.expert(name, hours=5)
    _reviewed(w, "seed", "ana", [("qa", 1.0), ("qa", 1.0), ("qa", 1.0)])
    got: dict[str, int] = {}
    first = assigned(w.later(minutes=40).task("t", minutes=30))[0][1]
    w.later(minutes=30).submit("t", first)
    got[first] = 1
    for n in range(29):
        w.later(minutes=40)
        for task, name in assigned(w.task(f"t{n}", minutes=30)):
            got[name] = got.get(name, 0) + 1
            w.later(minutes=30).submit(task, name)
    assert first == "ana"  # the best record is served first
    assert got == {"ana": 9, "bo": 10, "chen": 10}  # then everyone to their weekly hours


_V1_FIELDS = (
    "name",
    "quality",
    "load",
    "idle",
    "fit",
    "quality_prior",
    "quality_prior_reviews",
    "idle_horizon_hours",
    "lease_factor",
    "lease_min_minutes",
    "lease_max_minutes",
)


def test_an_explanation_names_the_agreement_of_a_review_kind() -> None:
    w = World()
    for name in ("author", "close", "far"):
        w.expert(name, concurrency=9)
    _reviewed(w, "w0", "author", [("close", 0.8), ("far", 0.3), ("qa", 0.82)])
    ws = w.engine.workspaces["w"]
    fresh = msgspec.structs.replace(
        ws.tasks["w0"], tried=None, submitters=None, open=None, extra=False, v1_1=None
    )
    review = msgspec.structs.replace(fresh, kind="review")
    explanation = explain(ws, review, DEFAULT_POLICY)
    assert explanation.top[0].expert == "close"
    assert sorted((c.expert, c.agreement is not None) for c in explanation.top) == [
        ("author", True),
        ("close", True),
        ("far", True),
    ]
    assert all(c.agreement is None for c in explain(ws, fresh, DEFAULT_POLICY).top)


def test_every_part_of_every_score_is_in_the_reasons() -> None:
    """On a simulated fortnight: each assignment names each part of its score."""
    engine = Engine()
    seen = {"review": 0, "other": 0}
    for event in simulated(40, 14, 4):
        for out in engine.apply(event):
            if not isinstance(out, TaskAssigned):
                continue
            ws = engine.workspaces[out.workspace]
            task = ws.tasks[out.task]
            said = " | ".join(out.reasons)
            for part in ("quality ", "load ", "fit "):
                assert part in said
            assert "idle" in said
            review = task.kind in DEFAULT_POLICY.review_kinds
            assert ("agreement " in said) == review
            seen["review" if review else "other"] += 1
    assert seen["review"] and seen["other"]
