"""The metrics (projections/_metrics.py) of hand-written journals, checked against paper.

Each test writes a journal whose numbers can be worked out by hand: tasks
by state and grouping, handling and waiting times, quality, staffing by
pool and this week's utilization.
"""

from __future__ import annotations

import projections
from tests.journals import WS, Log, at, staffed


def test_task_counts_by_state_kind_domain_and_language() -> None:
    log = staffed(Log(), "ana")
    log.created(1, "t1", kind="write").assigned("t1", "ana")
    log.created(2, "t2", kind="rate", language="PT-br", domain="law")
    log.created(3, "t3", kind="rate", judgements=2)
    log.submitted(10, "t1", "ana").completed("t1")
    log.cancelled(11, "t2")
    report = log.report()
    tasks = report.tasks
    assert (tasks.created, tasks.assigned, tasks.completed, tasks.cancelled) == (3, 1, 1, 1)
    assert (tasks.queued, tasks.in_progress) == (1, 0)
    assert tasks.by_kind["rate"] == projections._model.TaskBreakdown(
        created=2, assigned=0, completed=0, cancelled=1, queued=1
    )
    assert tasks.by_kind["write"].completed == 1
    assert list(tasks.by_language) == ["en", "pt-BR"]  # tags normalized as the router does
    assert tasks.by_domain["law"].cancelled == 1
    assert tasks.by_domain["stem"].created == 2


def test_a_task_whose_judgements_are_all_taken_is_in_progress_not_queued() -> None:
    log = staffed(Log(), "ana", "bo")
    log.created(1, "t1", judgements=2).assigned("t1", "ana").assigned("t1", "bo")
    log.created(2, "t2", judgements=2).assigned("t2", "ana")
    tasks = log.report().tasks
    assert (tasks.queued, tasks.in_progress) == (1, 1)


def test_requeues_are_counted_by_reason() -> None:
    log = staffed(Log(), "ana", "bo")
    log.created(1, "t1").assigned("t1", "ana")
    log.declined(2, "t1", "ana").requeued("t1", "ana", "declined").assigned("t1", "bo", 2)
    log.tick(400).requeued("t1", "bo", "expired")
    tasks = log.report().tasks
    assert tasks.requeued == 2
    assert tasks.requeued_by_reason == {
        "cancelled": 0,
        "declined": 1,
        "expert_removed": 0,
        "expired": 1,
    }
    assert tasks.assigned == 2
    assert tasks.by_kind["write"].assigned == 2
    assert tasks.queued == 1


def test_unroutable_flag_holds_until_an_assignment() -> None:
    log = Log()
    log.created(1, "t1", language="th").unroutable("t1")
    log.created(2, "t2", language="th").unroutable("t2")
    report = log.report()
    assert (report.tasks.unroutable, report.tasks.unroutable_events) == (2, 2)
    [pool] = report.staffing.pools
    assert (pool.language, pool.unroutable, pool.experts) == ("th", 2, 0)

    log.profile(30, "som", languages={"th": "native"}).status(31, "som").assigned("t1", "som")
    report = log.report()
    assert (report.tasks.unroutable, report.tasks.unroutable_events) == (1, 2)
    log.cancelled(40, "t2")
    assert log.report().tasks.unroutable == 0


def test_handling_time_overall_and_by_kind_domain_language_expert() -> None:
    log = staffed(Log(), "ana", "bo")
    for n in range(1, 11):
        expert = "ana" if n <= 6 else "bo"
        kind = "write" if n % 2 else "rate"
        log.created(n, f"t{n}", kind=kind, language="fr" if n == 10 else "en")
        log.assigned(f"t{n}", expert)
        log.submitted(n + 0.5, f"t{n}", expert, seconds=n * 60).completed(f"t{n}")
    handling = log.report().handling
    assert (handling.submissions, handling.aht_seconds) == (10, 330.0)
    assert (handling.p50_seconds, handling.p90_seconds) == (300.0, 540.0)
    assert handling.by_expert["ana"].mean_seconds == 210.0
    assert handling.by_expert["bo"].p90_seconds == 600.0
    assert handling.by_kind["write"].count == 5  # 1, 3, 5, 7, 9 minutes
    assert handling.by_kind["write"].p50_seconds == 300.0
    assert handling.by_language["fr"].mean_seconds == 600.0
    assert handling.by_domain["stem"].count == 10


def test_waiting_to_first_assignment_and_oldest_queued_age() -> None:
    log = Log()
    log.created(0, "t1").created(5, "t2")
    staffed(log, "ana", minute=10).assigned("t1", "ana")
    log.created(20, "t3")
    log.tick(35).assigned("t2", "ana")
    log.declined(36, "t2", "ana").requeued("t2", "ana", "declined")  # waits again
    log.tick(40).assigned("t2", "bo", 2)  # a second assignment is not a first wait
    log.tick(80)
    waiting = log.report().waiting
    assert waiting.first_assigned == 2
    assert (waiting.p50_seconds, waiting.p90_seconds) == (600.0, 1800.0)
    assert waiting.mean_seconds == 1200.0
    assert (waiting.oldest_queued_task, waiting.oldest_queued_seconds) == ("t3", 3600.0)


def test_quality_by_expert_domain_language_kind_and_the_low_quality_list() -> None:
    log = staffed(Log(), "ana", "bo")
    log.created(1, "t1", kind="write").assigned("t1", "ana")
    log.submitted(2, "t1", "ana", ref="s3://r/1").completed("t1")
    log.created(3, "t2", kind="rate", domain="law", language="de").assigned("t2", "bo")
    log.submitted(4, "t2", "bo").completed("t2")
    log.reviewed(5, "t1", "ana", 0.9)
    log.reviewed(6, "t1", "ana", 0.5, errors=("factual",))  # passed but scored low
    log.reviewed(7, "t2", "bo", 0.7, passed=False, errors=("unsafe", "factual"))
    quality = log.report().quality
    assert (quality.reviews, quality.mean_score, quality.pass_rate) == (3, 0.7, 0.667)
    assert quality.by_expert["ana"].mean_score == 0.7
    assert quality.by_expert["bo"].pass_rate == 0.0
    assert quality.by_domain["law"].reviews == 1
    assert quality.by_language["en"].reviews == 2
    assert quality.by_kind["rate"].mean_score == 0.7
    assert quality.errors == {"factual": 2, "unsafe": 1}
    low = [(r.task, r.expert, r.score, r.passed, r.ref, r.kind) for r in quality.low_quality]
    assert low == [
        ("t1", "ana", 0.5, True, "s3://r/1", "write"),
        ("t2", "bo", 0.7, False, None, "rate"),
    ]
    assert quality.low_quality[1].errors == ("unsafe", "factual")
    assert quality.low_quality[1].at == at(7)

    stricter = log.fold(low_score=0.95).report().workspaces[WS].quality
    assert [r.score for r in stricter.low_quality] == [0.9, 0.5, 0.7]


def test_error_trend_is_by_iso_week_of_the_review() -> None:
    log = staffed(Log(), "ana")
    log.created(1, "t1", judgements=1).assigned("t1", "ana")
    log.submitted(2, "t1", "ana").completed("t1")
    sunday_night = 6 * 24 * 60 + 14 * 60 + 59  # 2026-11-08 23:59 UTC, still W45
    log.reviewed(sunday_night, "t1", "ana", 0.2, passed=False, errors=("language",))
    log.reviewed(sunday_night + 2, "t1", "ana", 0.3, passed=False, errors=("language", "x"))
    log.reviewed(sunday_night + 3, "t1", "ana", 0.9, reviewer="lead")
    trend = log.report().quality.error_trend
    assert [(w.week, w.reviews, w.failed, w.errors) for w in trend] == [
        ("2026-W45", 1, 1, {"language": 1}),
        ("2026-W46", 2, 1, {"language": 1, "x": 1}),
    ]


def test_staffing_by_status_profile_and_pool() -> None:
    log = Log()
    log.profile(
        0,
        "ana",
        domains={"stem": 4, "law": 2},
        languages={"pt-BR": "native", "en": "C1"},
        education="master",
        weekly_hours=10,
    )
    log.profile(0, "bo", domains={"stem": 5}, languages={"en": "native"}, weekly_hours=30)
    log.profile(0, "chen", domains={"law": 3}, languages={"pt": "C2"}, weekly_hours=5)
    log.profile(0, "dara", weekly_hours=40)
    log.status(1, "ana").status(1, "bo", "away").removed(2, "dara")
    log.created(3, "t1", domain="law", language="pt", minutes=30, judgements=3)
    log.created(4, "t2", domain="law", language="pt", minutes=90).unroutable("t2")
    staffing = log.report().staffing
    assert (staffing.experts, staffing.available, staffing.away, staffing.offline) == (3, 1, 1, 1)
    assert staffing.removed == 1
    assert (staffing.capacity_hours, staffing.available_hours) == (45.0, 10.0)
    assert staffing.by_education == {
        "none": 0,
        "secondary": 0,
        "bachelor": 2,
        "master": 1,
        "doctorate": 0,
    }
    assert staffing.by_domain_language_education == {
        "law": {"en": {"master": 1}, "pt": {"bachelor": 1}, "pt-BR": {"master": 1}},
        "stem": {"en": {"bachelor": 1, "master": 1}, "pt-BR": {"master": 1}},
    }
    pools = {(p.domain, p.language): p for p in staffing.pools}
    assert set(pools) == {
        ("law", "en"),
        ("law", "pt"),
        ("law", "pt-BR"),
        ("stem", "en"),
        ("stem", "pt-BR"),
    }
    law_pt = pools["law", "pt"]  # chen, and ana through pt-BR
    assert (law_pt.experts, law_pt.available) == (2, 1)
    assert (law_pt.capacity_hours, law_pt.available_hours) == (15.0, 10.0)
    assert (law_pt.demand_hours, law_pt.gap_hours) == (3.0, -12.0)  # 3 x 30 min + 90 min
    assert (law_pt.queued, law_pt.unroutable) == (2, 1)
    assert pools["stem", "en"].capacity_hours == 40.0


def test_pool_demand_counts_only_judgements_nobody_works_on() -> None:
    log = staffed(Log(), "ana", "bo")
    log.created(1, "t1", minutes=60, judgements=3).assigned("t1", "ana")
    log.submitted(2, "t1", "ana").assigned("t1", "bo")
    [pool] = log.report().staffing.pools
    assert (pool.demand_hours, pool.queued) == (1.0, 1)


def test_utilization_gives_requeued_minutes_back() -> None:
    log = Log()
    log.profile(0, "ana", weekly_hours=10).status(0, "ana")
    log.profile(0, "bo", weekly_hours=30).status(0, "bo")
    log.created(1, "t1", minutes=60).assigned("t1", "ana")
    log.created(2, "t2", minutes=120).assigned("t2", "ana")
    log.created(3, "t3", minutes=30).assigned("t3", "bo")
    utilization = log.report().utilization
    assert utilization.by_expert["ana"].assigned_hours == 3.0
    assert utilization.by_expert["ana"].utilization == 0.3
    assert utilization.by_expert["ana"].open == 2

    log.declined(4, "t2", "ana").requeued("t2", "ana", "declined").assigned("t2", "bo")
    log.submitted(5, "t1", "ana").completed("t1")  # a submission keeps its minutes
    log.removed(6, "bo").requeued("t3", "bo", "expert_removed").requeued(
        "t2", "bo", "expert_removed"
    )
    utilization = log.report().utilization
    ana = utilization.by_expert["ana"]
    assert (ana.assigned_hours, ana.utilization, ana.open) == (1.0, 0.1, 0)
    assert list(utilization.by_expert) == ["ana"]  # removed experts leave the account
    assert utilization.given_back_hours == 4.5
    assert utilization.given_back_by_reason == {
        "cancelled": 0.0,
        "declined": 2.0,
        "expert_removed": 2.5,
        "expired": 0.0,
    }
    assert (utilization.capacity_hours, utilization.assigned_hours) == (10.0, 1.0)
    assert utilization.utilization == 0.1
    assert utilization.week == "2026-W45"


def test_an_expert_without_work_this_week_shows_zero() -> None:
    log = staffed(Log(), "ana")
    log.created(1, "t1").assigned("t1", "ana").tick(8 * 24 * 60)
    assert log.report().utilization.by_expert["ana"].assigned_hours == 0.0
