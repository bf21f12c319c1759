"""The routing core, rule by rule, on small hand-made workspaces."""

from __future__ import annotations

from typing import Any, NoReturn

import msgspec
import pytest

import router._dispatch
import router._engine
from events import ClockTick, EventRejected, TaskAssigned, TaskRequeued, TaskUnroutable
from router import Engine, Policy, output_id
from router._state import Workspace
from tests.factory import World, assigned, kinds

# --- rule 1: requirements --------------------------------------------------------


def test_task_goes_only_to_an_expert_who_meets_every_requirement() -> None:
    w = World()
    w.expert("low", domains={"stem": 2}, education="master")
    w.expert("fr", domains={"stem": 5}, languages={"fr": "native"})
    w.expert("school", domains={"stem": 5}, education="secondary")
    w.expert("b2", domains={"stem": 5}, languages={"en": "B2"})
    w.expert("fit", domains={"stem": 4}, education="bachelor")
    out = w.task("t", skill=3, education="bachelor", fluency="C1")
    assert assigned(out) == [("t", "fit")]


def test_an_expert_with_a_regional_tag_serves_the_general_language_not_the_reverse() -> None:
    w = World()
    w.expert("br", languages={"PT-br": "native"})
    assert assigned(w.task("general", language="pt")) == [("general", "br")]
    w.submit("general", "br")
    w.expert("pt", languages={"pt": "native"})
    out = w.task("regional", language="pt-BR")
    assert assigned(out) == [("regional", "br")]


def test_only_available_experts_get_work() -> None:
    w = World()
    w.expert("ana", available=False)
    assert kinds(w.task("t")) == []
    w.status("ana", "away")
    assert kinds(w.tick()) == []
    assert assigned(w.status("ana", "available")) == [("t", "ana")]


def test_excluded_expert_never_gets_the_task() -> None:
    w = World()
    w.expert("ana")
    out = w.task("t", exclude=("ana",))
    assert [type(o) for o in out] == [TaskUnroutable]
    assert "excluded" in out[0].reason  # type: ignore[union-attr]


def test_a_review_never_goes_to_the_author() -> None:
    w = World()
    w.expert("ana")
    w.expert("bo")
    w.task("write", minutes=30)
    author = assigned(w.outputs)[0][1]
    reviewer = "bo" if author == "ana" else "ana"
    w.submit("write", author)
    out = w.task("review", parent="write", minutes=10)
    assert assigned(out) == [("review", reviewer)]


def test_an_open_holder_of_the_parent_is_excluded_too() -> None:
    w = World()
    w.expert("ana", concurrency=2)
    w.task("write")
    out = w.task("review", parent="write")
    assert assigned(out) == []
    assert kinds(out) == ["task.unroutable"]


def test_judgements_go_to_distinct_experts() -> None:
    w = World()
    w.expert("ana", concurrency=3)
    w.expert("bo", concurrency=3)
    out = w.task("t", judgements=3)
    assert sorted(e for _, e in assigned(out)) == ["ana", "bo"]
    assert kinds(out)[-1] == "task.unroutable"
    w.expert("chen")
    assert assigned(w.outputs[-1:]) == [("t", "chen")]


# --- rule 2: capacity ------------------------------------------------------------


def test_concurrency_caps_open_assignments() -> None:
    w = World()
    w.expert("ana", concurrency=2)
    w.task("a")
    w.task("b")
    assert assigned(w.task("c")) == []
    assert assigned(w.submit("a", "ana")) == [("c", "ana")]


def test_weekly_hours_cap_minutes_and_unsubmitted_work_gives_them_back() -> None:
    w = World()
    w.expert("ana", hours=1, concurrency=5)
    w.task("a", minutes=40)
    assert assigned(w.task("b", minutes=30)) == []  # 40 + 30 > 60
    assert assigned(w.task("c", minutes=20)) == [("c", "ana")]  # 40 + 20 = 60
    out = w.decline("a", "ana")
    assert [o.reason for o in out if isinstance(o, TaskRequeued)] == ["declined"]
    assert assigned(out) == [("b", "ana")]  # 40 minutes back: 20 + 30 <= 60


def test_a_new_iso_week_renews_capacity() -> None:
    w = World()
    w.expert("ana", hours=0.5, concurrency=5)
    w.task("a", minutes=30)
    w.submit("a", "ana")
    assert assigned(w.task("b", minutes=30)) == []
    w.later(days=7)  # Monday of the next ISO week
    assert assigned(w.tick()) == [("b", "ana")]


def test_a_task_longer_than_anyone_s_week_is_unroutable() -> None:
    w = World()
    w.expert("ana", hours=1)
    assert kinds(w.task("t", minutes=61)) == ["task.unroutable"]


# --- rule 3: judgements and completion -------------------------------------------


def test_task_completes_once_when_all_judgements_are_in() -> None:
    w = World()
    w.expert("ana")
    w.expert("bo")
    w.task("t", judgements=2)
    out = w.submit("t", "ana")
    assert "task.completed" not in kinds(out)
    out = w.submit("t", "bo")
    assert kinds(out) == ["task.completed"]
    again = w.submit("t", "bo")
    assert isinstance(again[0], EventRejected)
    assert "already completed" in again[0].reason


# --- rule 4: order and no holding back -------------------------------------------


def test_priority_first_then_age_then_id() -> None:
    w = World()
    w.expert("ana", available=False)
    w.task("old")
    w.later(minutes=1)
    w.task("urgent", priority=90)
    w.task("b-same-time")
    w.task("a-same-time")
    w.status("ana", "available")
    w.submit("urgent", "ana")
    w.submit("old", "ana")
    w.submit("a-same-time", "ana")
    assert [t for t, _ in assigned(w.outputs)] == ["urgent", "old", "a-same-time", "b-same-time"]


def test_a_requeued_task_keeps_its_age() -> None:
    w = World()
    w.expert("ana")
    w.task("first")
    w.later(minutes=5)
    w.expert("bo", available=False)
    w.task("second")
    out = w.decline("first", "ana")
    # ana declined "first"; "second" goes to her, "first" waits for someone else
    assert assigned(out) == [("second", "ana")]
    out = w.status("bo", "available")
    assert assigned(out) == [("first", "bo")]


# --- rule 5: how assignments end -------------------------------------------------


def test_lease_runs_out_on_the_workspace_clock_and_late_work_is_refused() -> None:
    w = World(Policy(lease_factor=2, lease_min_minutes=10))
    w.expert("ana")
    w.expert("bo", available=False)
    out = w.task("t", minutes=30)
    lease = out[0].lease_until  # type: ignore[union-attr]
    assert lease == w.at.replace(hour=10)  # 30 minutes x 2
    w.later(minutes=59)
    assert kinds(w.tick()) == []
    w.later(minutes=1)
    w.status("bo", "available")
    assert kinds(w.outputs[-2:]) == ["task.requeued", "task.assigned"]
    assert w.outputs[-2].reason == "expired"  # type: ignore[union-attr]
    late = w.submit("t", "ana")
    assert isinstance(late[0], EventRejected)
    assert "ended" in late[0].reason


def test_cancel_ends_open_assignments_and_the_task() -> None:
    w = World()
    w.expert("ana")
    w.task("t")
    out = w.cancel("t")
    assert [(o.expert, o.reason) for o in out if isinstance(o, TaskRequeued)] == [
        ("ana", "cancelled")
    ]
    assert isinstance(w.cancel("t")[0], EventRejected)
    assert isinstance(w.submit("t", "ana")[0], EventRejected)


def test_removed_expert_s_work_goes_back_to_the_queue() -> None:
    w = World()
    w.expert("ana")
    w.expert("bo", available=False)
    w.task("t")
    out = w.remove("ana")
    assert [(o.expert, o.reason) for o in out if isinstance(o, TaskRequeued)] == [
        ("ana", "expert_removed")
    ]
    assert assigned(w.status("bo", "available")) == [("t", "bo")]
    assert isinstance(w.status("ana", "available")[0], EventRejected)


def test_removing_the_last_qualified_expert_reveals_the_staffing_gap() -> None:
    w = World()
    w.expert("ana", concurrency=1)
    w.task("a")
    w.task("b")
    out = w.remove("ana")
    assert kinds(out) == ["task.requeued", "task.unroutable", "task.unroutable"]


def test_unroutable_task_is_assigned_when_someone_qualified_appears() -> None:
    w = World()
    out = w.task("t", language="th")
    assert kinds(out) == ["task.unroutable"]
    assert kinds(w.tick()) == []  # said once, not on every event
    out = w.expert("som", languages={"th": "native"})
    assert assigned(out) == [("t", "som")]


# --- refusals --------------------------------------------------------------------


def test_refusals_are_events_with_reasons() -> None:
    w = World()
    w.expert("ana")
    w.task("t")
    cases = [
        (w.task("t"), "already exists"),
        (w.submit("t", "bo"), "was never assigned"),
        (w.review("t", "ana", "bo", 0.9), "no submission"),
        (w.status("ghost", "available"), "unknown expert"),
        (w.cancel("nope"), "unknown task"),
    ]
    w.submit("t", "ana")
    cases.append((w.review("t", "ana", "ana", 1.0), "own author"))
    for out, reason in cases:
        assert len(out) == 1 and isinstance(out[0], EventRejected)
        assert reason in out[0].reason
        assert out[0].event == out[0].cause


# --- outputs ----------------------------------------------------------------------


def test_assignment_states_its_lease_and_score() -> None:
    w = World()
    w.expert("ana")
    out = w.task("t", minutes=20)
    assert isinstance(out[0], TaskAssigned)
    assert out[0].attempt == 1 and 0 <= out[0].score <= 1
    assert out[0].id == output_id(out[0].cause, 1)


def test_output_ids_derive_from_the_cause_and_fit_the_contract() -> None:
    assert output_id("evt-9", 2) == "evt-9/2"
    long = output_id("x" * 128, 1)
    assert len(long) <= 128 and long == output_id("x" * 128, 1) and long != output_id("y" * 128, 1)


def test_workspaces_never_share_experts() -> None:
    engine = Engine()
    a = World(workspace="a")
    b = World(workspace="b")
    a.engine = b.engine = engine
    a.expert("ana")
    out = b.task("t")
    assert kinds(out) == ["task.unroutable"]


# --- the second line of defence ----------------------------------------------------


def _boom(*args: Any) -> NoReturn:
    raise RuntimeError(f"boom in {object()!r}")


def test_an_internal_error_refuses_the_event_after_what_it_had_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = World(Policy(lease_factor=2, lease_min_minutes=10))
    w.expert("ana")
    w.expert("bo", available=False)
    w.task("t", minutes=30)
    w.later(hours=1)
    with monkeypatch.context() as patch:
        patch.setitem(router._engine._HANDLERS, ClockTick, _boom)
        out = w.tick()
    assert kinds(out) == ["task.requeued", "event.rejected"]  # the lease ran out first
    rejected = out[1]
    assert isinstance(rejected, EventRejected)
    assert rejected.event == rejected.cause == out[0].cause
    assert rejected.id == output_id(rejected.cause, 2)
    assert rejected.reason == "internal error: RuntimeError: boom in <object object>"
    assert w.engine.internal_errors == 1
    assert assigned(w.status("bo", "available")) == [("t", "bo")]  # the next event is routed
    assert kinds(w.task("u")) == ["task.assigned"]
    assert w.engine.internal_errors == 1


def test_an_internal_error_deep_in_dispatch_or_the_state_is_caught_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = World()
    w.expert("ana", concurrency=2)
    with monkeypatch.context() as patch:
        patch.setattr(router._dispatch, "choose", _boom)
        assert kinds(w.task("a")) == ["event.rejected"]
    with monkeypatch.context() as patch:
        patch.setattr(Workspace, "enqueue", lambda self, task: {}[task.task])
        [rejected] = w.task("b")
    assert isinstance(rejected, EventRejected)
    assert rejected.reason == "internal error: KeyError: 'b'"
    assert w.engine.internal_errors == 2
    assert assigned(w.task("c")) == [("c", "ana")]


def test_the_rejection_of_an_internal_error_is_deterministic_and_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def long_boom(*args: Any) -> NoReturn:
        raise ValueError(f"{object()!r}, id {id(args):#x}" + " x\n" * 500)

    monkeypatch.setitem(router._engine._HANDLERS, ClockTick, long_boom)
    runs = []
    for _ in range(2):
        w = World()
        w.expert("ana")
        runs.append(msgspec.json.encode([*w.outputs, *w.tick()]))
        [rejected] = w.outputs[-1:]
        assert isinstance(rejected, EventRejected)
        assert rejected.reason.startswith("internal error: ValueError: <object object>, id 0x… x x")
        assert len(rejected.reason) <= 200
    assert runs[0] == runs[1]
