"""Views: a task's history, an expert's record and the queue, from journals the engine wrote."""

from __future__ import annotations

from events import AnyEvent, InputEvent, OutputEvent, TaskSubmitted, type_name
from projections import Projections, Views
from tests.factory import World


class Journal(World):
    """A World that keeps the journal: each input, then the outputs it caused."""

    def __init__(self) -> None:
        super().__init__()
        self.journal: list[AnyEvent] = []

    def send(self, event: InputEvent) -> list[OutputEvent]:
        out = super().send(event)
        self.journal.extend([event, *out])
        return out

    def views(self) -> Views:
        views = Views()
        for event in self.journal:
            views.apply(event)
        return views


def test_a_task_history_is_its_events_in_journal_order() -> None:
    w = Journal()
    w.expert("ana")
    w.later(minutes=5).task("t1")
    w.later(minutes=30).submit("t1", "ana", seconds=1500)
    w.later(hours=1).review("t1", "ana", "rev", 0.9)
    w.task("t2")  # not t1's
    history = w.views().history("w", "t1")
    assert history is not None
    assert [type_name(e) for e in history] == [
        "task.created",
        "task.assigned",
        "task.submitted",
        "task.completed",
        "task.reviewed",
    ]
    assert w.views().history("w", "nope") is None
    assert w.views().history("other", "t1") is None


def test_a_refused_input_is_in_the_history_with_its_rejection_and_changes_nothing() -> None:
    w = Journal()
    w.expert("ana")
    w.expert("bo")
    w.task("t1")
    refused = w.later(minutes=1).submit("t1", "bo")  # bo holds no assignment on t1
    assert [type_name(o) for o in refused] == ["event.rejected"]
    views = w.views()
    history = views.history("w", "t1")
    assert history is not None
    assert [type_name(e) for e in history][-2:] == ["task.submitted", "event.rejected"]
    bo = views.expert("w", "bo")
    assert bo is not None and bo.submitted == 0
    assert views.queue("w") == []  # t1 is still with ana


def test_the_queue_is_in_the_routers_order_and_counts_what_the_report_counts() -> None:
    w = Journal()
    w.task("low-old", priority=0)
    w.later(minutes=1).task("high", priority=50)
    w.later(minutes=1).task("low-new", priority=0)
    w.later(minutes=1).task("b-same", priority=50)
    w.later(minutes=1).task("pair", judgements=2)
    w.later(minutes=1).expert("ana")  # takes the head: "high"
    views = w.views()
    queue = views.queue("w")
    assert [q.task for q in queue] == ["b-same", "low-old", "low-new", "pair"]
    assert [q.position for q in queue] == [1, 2, 3, 4]
    assert queue[0].waiting_seconds == 120.0  # the clock is the profile's at
    projections = Projections()
    for event in w.journal:
        projections.apply(event)
    assert len(queue) == projections.report().workspaces["w"].tasks.queued
    assert [q.task for q in views.queue("w", limit=2)] == ["b-same", "low-old"]


def test_an_extended_task_waits_in_the_queue_for_its_new_judgement() -> None:
    w = Journal()
    w.expert("ana")
    w.expert("bo")
    w.task("rate", kind="rate", judgements=2, max_judgements=3, agreement=1.0)
    for name, answer in (("ana", "A"), ("bo", "B")):
        w.later(minutes=5).send(
            TaskSubmitted(*w._base(), task="rate", expert=name, seconds=300, answer=answer)
        )
    assert "task.extended" in [type_name(e) for e in w.journal]
    views = w.views()
    (queued,) = views.queue("w")
    assert (queued.task, queued.judgements, queued.submitted) == ("rate", 3, 2)
    assert {row.task: row.judgements for row in views.tasks("w")} == {"rate": 3}
    projections = Projections()
    for event in w.journal:
        projections.apply(event)
    assert projections.report().workspaces["w"].tasks.queued == 1


def test_an_expert_record_counts_assignments_declines_requeues_and_reviews() -> None:
    w = Journal()
    w.expert("ana", domains={"stem": 4, "general": 2}, languages={"pt-BR": "C2"}, hours=25)
    w.task("t1", language="pt")
    w.later(minutes=10).decline("t1", "ana")
    w.later(minutes=10).task("t2", language="pt")
    w.later(minutes=10).submit("t2", "ana", seconds=900)
    w.later(minutes=10).review("t2", "ana", "rev", 0.5)
    w.later(minutes=10).task("t3", language="pt")
    ana = w.views().expert("w", "ana")
    assert ana is not None
    assert ana.domains == {"general": 2, "stem": 4}
    assert ana.languages == {"pt-BR": "C2"}
    assert (ana.weekly_hours, ana.status, ana.removed) == (25, "available", False)
    assert (ana.assigned, ana.submitted, ana.declined) == (3, 1, 1)
    assert ana.requeued_by_reason == {"declined": 1}
    assert (ana.reviews, ana.passed, ana.mean_score, ana.handled_seconds) == (1, 0, 0.5, 900)
    assert ana.open_tasks == ["t3"]
    w.remove("ana")
    gone = w.views().expert("w", "ana")
    assert gone is not None and gone.removed and gone.status == "offline"
    assert w.views().expert("w", "nobody") is None


def test_task_rows_say_state_and_first_wait() -> None:
    w = Journal()
    w.task("t1", ref="s3://bucket/t1.json")
    w.later(minutes=45).expert("ana")
    w.later(minutes=30).submit("t1", "ana")
    w.task("t2")
    w.cancel("t2")
    rows = {row.task: row for row in w.views().tasks("w")}
    assert rows["t1"].state == "completed" and rows["t1"].wait_seconds == 2700.0
    assert rows["t1"].ref == "s3://bucket/t1.json"
    assert rows["t2"].state == "cancelled" and rows["t2"].wait_seconds == 0.0  # ana was free
