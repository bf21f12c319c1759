"""The projections fold hand-built journals into the metrics the issue asks for.

Most tests write a journal by hand, input events followed by the outputs
an engine would have written, so each metric is checked against numbers
worked out on paper. Two hypothesis tests close the loop: nearest-rank
percentiles against their definition, and the fold of random journals
written by the real engine against the engine's own state.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import projections
from events import (
    AnyEvent,
    ClockTick,
    Event,
    EventRejected,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    InputEvent,
    OutputEvent,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskDeclined,
    TaskRequeued,
    TaskReviewed,
    TaskSubmitted,
    TaskUnroutable,
)
from projections import Projections, Report, WorkspaceReport, render_text, report_json
from projections._metrics import reason_key
from projections._stats import percentile, summarize
from router import Engine, Policy
from router._state import CANCELLED, COMPLETED, QUEUED

WS = "acme"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday: ISO week 2026-W45
PACKAGE = Path(projections.__file__).parent


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Log:
    """A journal written by hand: each input, then the outputs the test says it caused."""

    def __init__(self, workspace: str = WS) -> None:
        self.workspace = workspace
        self.events: list[AnyEvent] = []
        self.cause: InputEvent | None = None
        self.outputs = 0

    def _input(self, event: InputEvent) -> InputEvent:
        self.events.append(event)
        self.cause = event
        self.outputs = 0
        return event

    def _next(self) -> tuple[str, datetime, str, str]:
        assert self.cause is not None
        self.outputs += 1
        cause = self.cause
        return f"{cause.id}/{self.outputs}", cause.at, cause.workspace, cause.id

    # --- inputs ---------------------------------------------------------------

    def profile(
        self,
        minute: float,
        expert: str,
        *,
        domains: dict[str, int] | None = None,
        languages: dict[str, Any] | None = None,
        education: Any = "bachelor",
        weekly_hours: float = 20.0,
    ) -> Log:
        self._input(
            ExpertProfile(
                f"p-{expert}-{len(self.events)}",
                at(minute),
                self.workspace,
                expert=expert,
                domains=domains or {"stem": 3},
                languages=languages or {"en": "native"},
                education=education,
                weekly_hours=weekly_hours,
            )
        )
        return self

    def status(self, minute: float, expert: str, status: Any = "available") -> Log:
        self._input(
            ExpertStatus(
                f"s-{len(self.events)}", at(minute), self.workspace, expert=expert, status=status
            )
        )
        return self

    def removed(self, minute: float, expert: str) -> Log:
        self._input(
            ExpertRemoved(f"r-{len(self.events)}", at(minute), self.workspace, expert=expert)
        )
        return self

    def created(
        self,
        minute: float,
        task: str,
        *,
        kind: str = "write",
        domain: str = "stem",
        language: str = "en",
        minutes: int = 60,
        judgements: int = 1,
    ) -> Log:
        self._input(
            TaskCreated(
                f"c-{len(self.events)}",
                at(minute),
                self.workspace,
                task=task,
                kind=kind,
                domain=domain,
                language=language,
                minutes=minutes,
                judgements=judgements,
            )
        )
        return self

    def cancelled(self, minute: float, task: str) -> Log:
        self._input(TaskCancelled(f"x-{len(self.events)}", at(minute), self.workspace, task=task))
        return self

    def declined(self, minute: float, task: str, expert: str) -> Log:
        self._input(
            TaskDeclined(
                f"d-{len(self.events)}", at(minute), self.workspace, task=task, expert=expert
            )
        )
        return self

    def submitted(
        self, minute: float, task: str, expert: str, seconds: int = 600, ref: str | None = None
    ) -> Log:
        self._input(
            TaskSubmitted(
                f"u-{len(self.events)}",
                at(minute),
                self.workspace,
                task=task,
                expert=expert,
                seconds=seconds,
                ref=ref,
            )
        )
        return self

    def reviewed(
        self,
        minute: float,
        task: str,
        expert: str,
        score: float,
        *,
        passed: bool = True,
        errors: tuple[str, ...] = (),
        reviewer: str = "qa",
    ) -> Log:
        self._input(
            TaskReviewed(
                f"v-{len(self.events)}",
                at(minute),
                self.workspace,
                task=task,
                expert=expert,
                reviewer=reviewer,
                score=score,
                passed=passed,
                errors=errors,
            )
        )
        return self

    def tick(self, minute: float) -> Log:
        self._input(ClockTick(f"k-{len(self.events)}", at(minute), self.workspace))
        return self

    # --- outputs --------------------------------------------------------------

    def assigned(self, task: str, expert: str, attempt: int = 1) -> Log:
        eid, when, ws, cause = self._next()
        self.events.append(
            TaskAssigned(
                eid,
                when,
                ws,
                cause=cause,
                task=task,
                expert=expert,
                attempt=attempt,
                lease_until=when + timedelta(hours=3),
                score=0.5,
                reasons=("test",),
            )
        )
        return self

    def requeued(self, task: str, expert: str, reason: Any) -> Log:
        eid, when, ws, cause = self._next()
        self.events.append(
            TaskRequeued(eid, when, ws, cause=cause, task=task, expert=expert, reason=reason)
        )
        return self

    def completed(self, task: str) -> Log:
        eid, when, ws, cause = self._next()
        self.events.append(TaskCompleted(eid, when, ws, cause=cause, task=task))
        return self

    def unroutable(self, task: str) -> Log:
        eid, when, ws, cause = self._next()
        self.events.append(
            TaskUnroutable(eid, when, ws, cause=cause, task=task, reason="no expert")
        )
        return self

    def rejected(self, reason: str) -> Log:
        eid, when, ws, cause = self._next()
        self.events.append(EventRejected(eid, when, ws, cause=cause, event=cause, reason=reason))
        return self

    # --- folding --------------------------------------------------------------

    def fold(self, **options: Any) -> Projections:
        folded = Projections(**options)
        for event in self.events:
            folded.apply(event)
        return folded

    def report(self, **options: Any) -> WorkspaceReport:
        return self.fold(**options).report().workspaces[self.workspace]


def staffed(log: Log, *experts: str, minute: float = 0) -> Log:
    for expert in experts:
        log.profile(minute, expert).status(minute, expert)
    return log


# --- the public surface ------------------------------------------------------------


def test_public_surface_is_pinned() -> None:
    assert projections.__all__ == [
        "DEFAULT_LOW_SCORE",
        "GLOBAL_KEY",
        "OBJECTIVE_STATUS_CODES",
        "BacklogPoint",
        "Day",
        "ExpertView",
        "KindDay",
        "ObjectiveResult",
        "Objectives",
        "ObjectivesReport",
        "Projections",
        "QueuedTask",
        "Report",
        "Series",
        "TaskRow",
        "Timeline",
        "Views",
        "Window",
        "WorkspaceObjectives",
        "WorkspaceReport",
        "WorkspaceTargets",
        "evaluate_objectives",
        "fold",
        "load_objectives",
        "percentile",
        "render_text",
        "report_json",
    ]


def test_the_core_does_no_io_and_reads_no_clock() -> None:
    forbidden = {"sqlite3", "faust", "aiokafka", "os", "io", "time", "random", "uuid"}
    for module in PACKAGE.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not names & forbidden, f"{module.name} imports {names & forbidden}"
        source = module.read_text()
        assert ".now(" not in source and "utcnow" not in source, module.name


def test_an_empty_fold_reports_nothing() -> None:
    report = Projections().report()
    assert report.workspaces == {}
    assert report_json(report) == b"{}"
    assert "No events." in render_text(report)


# --- tasks --------------------------------------------------------------------------


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


def test_a_second_creation_of_a_task_is_ignored() -> None:
    log = Log()
    log.created(1, "t1", kind="write")
    log.created(2, "t1", kind="audit").rejected("task 't1' already exists")
    report = log.report()
    assert report.tasks.created == 1
    assert list(report.tasks.by_kind) == ["write"]
    assert report.events.rejected_by_reason == {"task '…' already exists": 1}


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


# --- refusals and dead letters -------------------------------------------------------


def test_a_rejected_input_is_not_folded_even_after_other_outputs() -> None:
    """A late submission: its lease runs out at that instant, then it is refused."""
    log = staffed(Log(), "ana")
    log.created(1, "t1").assigned("t1", "ana")
    log.submitted(500, "t1", "ana", seconds=999).requeued("t1", "ana", "expired").rejected(
        "expert 'ana' holds no open assignment on task 't1': its assignment has ended"
    )
    report = log.report()
    assert report.handling.submissions == 0
    assert report.tasks.queued == 1
    assert report.utilization.by_expert["ana"].assigned_hours == 0
    assert report.events.rejected == 1
    assert report.events.rejected_by_reason == {
        "expert '…' holds no open assignment on task '…': its assignment has ended": 1
    }


@pytest.mark.parametrize(
    "event",
    ["status", "removed", "cancelled", "reviewed"],
)
def test_every_refusable_input_waits_for_its_verdict(event: str) -> None:
    log = staffed(Log(), "ana")
    log.created(1, "t1").assigned("t1", "ana")
    log.submitted(2, "t1", "ana").completed("t1")
    if event == "status":
        log.status(3, "ana", "away")
    elif event == "removed":
        log.removed(3, "ana")
    elif event == "cancelled":
        log.cancelled(3, "t1")
    else:
        log.reviewed(3, "t1", "ana", 0.1, passed=False)
    log.rejected("refused")
    report = log.report()
    assert report.staffing.available == 1
    assert report.tasks.completed == 1
    assert report.quality.reviews == 0


def test_report_folds_the_last_input_when_no_refusal_followed() -> None:
    log = staffed(Log(), "ana")
    log.created(1, "t1").assigned("t1", "ana")
    log.submitted(2, "t1", "ana", seconds=70).completed("t1")
    folded = log.fold()
    assert folded.report().workspaces[WS].handling.submissions == 1
    assert folded.report().workspaces[WS].handling.submissions == 1  # settled once


def test_rejection_reasons_are_aggregated() -> None:
    assert reason_key("unknown task 't-1'") == reason_key("unknown task 't-2'")
    assert reason_key('unknown expert "it\'s"') == "unknown expert '…'"
    assert len(reason_key("x" * 500)) == 80


def test_dead_letters_are_global_and_kept_out_of_the_workspace_object() -> None:
    folded = Log().created(1, "t1").fold()
    folded.dead_letter("ingest")
    folded.dead_letter("ingest")
    folded.dead_letter("triage.tasks", workspace=WS)
    report = folded.report()
    assert report.dead_letters.total == 3
    assert report.dead_letters.by_source == {"ingest": 2, "triage.tasks": 1}
    assert report.workspaces[WS].events.dead_letters == 1
    assert list(msgspec.json.decode(report_json(report))) == [WS]
    full = msgspec.json.decode(report_json(report, with_global=True))
    assert list(full) == ["", WS]
    assert full[""] == {"dead_letters": {"total": 3, "by_source": {"ingest": 2, "triage.tasks": 1}}}
    assert "Dead letters: 3 (ingest 2, triage.tasks 1)" in render_text(report)


# --- handling time and waiting --------------------------------------------------------


def test_percentiles_are_nearest_rank() -> None:
    samples = [15, 20, 35, 40, 50]
    assert [percentile(samples, p) for p in (5, 30, 40, 50, 100)] == [15, 20, 20, 35, 50]
    assert percentile(list(range(1, 71)), 90) == 63  # 0.9 * 70 is not exactly 63 in floats
    assert summarize([4, 1, 3, 2]) == (4, 2.5, 2.0, 4.0)
    assert summarize([90_000_000, 1_500_000], unit=1_000_000) == (2, 45.75, 1.5, 90.0)
    assert summarize([]) == (0, None, None, None)
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


@given(st.lists(st.integers(-(10**9), 10**9), min_size=1), st.integers(1, 100))
def test_percentile_is_the_smallest_sample_with_p_percent_at_or_below(
    samples: list[int], p: int
) -> None:
    ordered = sorted(samples)
    value = percentile(ordered, p)
    assert value in samples
    assert 100 * sum(1 for s in samples if s <= value) >= p * len(samples)
    assert 100 * sum(1 for s in samples if s < value) < p * len(samples)


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


def test_waits_are_measured_to_the_workspace_clock_so_never_negative() -> None:
    """An input that arrives with an earlier ``at`` does not move the clock back."""
    log = Log().created(30, "t1")
    staffed(log, "ana", minute=10).assigned("t1", "ana")
    assert log.report().waiting.p50_seconds == 0.0


# --- quality ---------------------------------------------------------------------------


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


def test_times_in_the_report_are_utc() -> None:
    log = staffed(Log(), "ana")
    log.created(1, "t1").assigned("t1", "ana").submitted(2, "t1", "ana").completed("t1")
    paris = timezone(timedelta(hours=1))
    log.events.append(
        TaskReviewed(
            "late",
            at(3).astimezone(paris),
            WS,
            task="t1",
            expert="ana",
            reviewer="qa",
            score=0.1,
            passed=False,
        )
    )
    report = log.report()
    assert report.quality.low_quality[0].at == at(3)
    assert report.quality.low_quality[0].at.utcoffset() == timedelta(0)
    assert b'"at":"2026-11-02T09:03:00Z"' in report_json(log.fold().report())


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


# --- staffing ----------------------------------------------------------------------------


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


def test_a_new_profile_brings_a_removed_expert_back_offline() -> None:
    log = staffed(Log(), "ana").removed(1, "ana")
    assert log.report().staffing.experts == 0
    log.profile(2, "ana", weekly_hours=8)
    staffing = log.report().staffing
    assert (staffing.experts, staffing.offline, staffing.capacity_hours) == (1, 1, 8.0)


# --- utilization -------------------------------------------------------------------------


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


def test_minutes_of_a_past_week_are_not_given_back_to_this_one() -> None:
    """Rule 2 as the engine keeps it: an old week's minutes return to the old week."""
    log = Log()
    log.profile(0, "ana", weekly_hours=10).status(0, "ana")
    log.created(1, "t1", minutes=60).assigned("t1", "ana")
    next_week = 7 * 24 * 60
    log.created(next_week, "t2", minutes=30).assigned("t2", "ana")
    log.tick(next_week + 1).requeued("t1", "ana", "expired")
    utilization = log.report().utilization
    assert utilization.week == "2026-W46"
    assert utilization.by_expert["ana"].assigned_hours == 0.5
    assert utilization.given_back_hours == 0.0
    log.tick(next_week + 2).requeued("t2", "ana", "expired")
    assert log.report().utilization.by_expert["ana"].assigned_hours == 0.0


def test_an_expert_without_work_this_week_shows_zero() -> None:
    log = staffed(Log(), "ana")
    log.created(1, "t1").assigned("t1", "ana").tick(8 * 24 * 60)
    assert log.report().utilization.by_expert["ana"].assigned_hours == 0.0


# --- the report as a whole ------------------------------------------------------------------


def full_log() -> Log:
    log = staffed(Log(), "ana", "bo", "chen")
    log.created(1, "t1", kind="write").assigned("t1", "ana")
    log.created(2, "t2", kind="rate", language="de").unroutable("t2")
    log.created(3, "t3", kind="audit", judgements=2).assigned("t3", "bo").assigned("t3", "chen")
    log.submitted(4, "t1", "ana", ref="r1").completed("t1")
    log.reviewed(5, "t1", "ana", 0.4, passed=False, errors=("factual",))
    log.declined(6, "t3", "bo").requeued("t3", "bo", "declined")
    log.submitted(7, "t9", "bo").rejected("unknown task 't9'")
    return log


def test_the_json_is_one_object_keyed_by_workspace_with_the_promised_keys() -> None:
    log = full_log()
    other = Log("globex").created(1, "g1")
    folded = log.fold()
    for event in other.events:
        folded.apply(event)
    body = msgspec.json.decode(report_json(folded.report()))
    assert list(body) == [WS, "globex"]
    for path in (
        "tasks.created",
        "tasks.assigned",
        "tasks.completed",
        "tasks.cancelled",
        "tasks.queued",
        "handling.aht_seconds",
        "quality.mean_score",
        "quality.pass_rate",
        "staffing.experts",
        "staffing.available",
    ):
        for workspace in body.values():
            node = workspace
            for key in path.split("."):
                node = node[key]
    assert body[WS]["tasks"]["created"] == 3
    assert body["globex"]["handling"]["aht_seconds"] is None
    assert body[WS]["clock"] == "2026-11-02T09:07:00Z"


def test_same_events_give_the_same_bytes() -> None:
    events = full_log().events
    first, second = Projections(), Projections()
    for event in events:
        first.apply(event)
    for event in msgspec.json.decode(
        b"[" + b",".join(msgspec.json.encode(e) for e in events) + b"]", type=list[AnyEvent]
    ):
        second.apply(event)
    a, b = first.report(), second.report()
    assert msgspec.json.encode(a) == msgspec.json.encode(b)
    assert report_json(a) == report_json(b)
    assert render_text(a) == render_text(b)
    assert msgspec.json.decode(msgspec.json.encode(a), type=Report) == a


def test_the_text_report_names_the_headline_numbers() -> None:
    text = render_text(full_log().fold().report())
    assert text.startswith("== acme · 2026-11-02 09:07 UTC · 2026-W45 ")
    for needle in (
        "3 created, 3 assignments, 1 completed",
        "unroutable now 1",
        "requeued 1 (1 declined)",
        "AHT 10m00s",
        "1 reviews, mean score 0.400",
        "3 experts: 3 available",
        "1 events rejected",
        "unknown task '…'",
        "By kind",
        "Pools by staffing gap",
        "Low quality",
        "2026-W45",
    ):
        assert needle in text, needle


# --- against the real engine ------------------------------------------------------------------

EXPERTS = ["ana", "bo", "chen"]
TASKS = [f"t{i}" for i in range(6)]


def journal(inputs: Iterable[InputEvent], engine: Engine) -> list[AnyEvent]:
    out: list[AnyEvent] = []
    for event in inputs:
        out.append(event)
        outputs: list[OutputEvent] = engine.apply(event)
        out.extend(outputs)
    return out


@given(st.data())
def test_the_fold_agrees_with_the_engine_on_random_journals(data: st.DataObject) -> None:
    engine = Engine(Policy(lease_min_minutes=30, lease_factor=2.0, lease_max_minutes=600))
    folded = Projections()
    clock = datetime(2026, 11, 7, 12, 0, tzinfo=UTC)  # a Saturday: weeks turn
    events: list[AnyEvent] = []
    for n in range(data.draw(st.integers(1, 60), label="events")):
        clock += timedelta(minutes=data.draw(st.sampled_from([0, 1, 30, 240, 1500])))
        state = engine.workspaces.get("w")
        holders = sorted(
            (task_id, expert)
            for task_id, task in (state.tasks.items() if state else ())
            for expert in (task.open or ())
        )
        submitted = sorted(
            (task_id, expert)
            for task_id, task in (state.tasks.items() if state else ())
            for expert in (task.submitters or ())
        )
        action = data.draw(
            st.sampled_from(
                [
                    "profile",
                    "status",
                    "status",
                    "removed",
                    "created",
                    "created",
                    "cancelled",
                    "declined",
                    "submitted",
                    "submitted",
                    "reviewed",
                    "tick",
                ]
            )
        )
        expert = data.draw(st.sampled_from(EXPERTS))
        task = data.draw(st.sampled_from(TASKS))
        if action in ("declined", "submitted") and holders and data.draw(st.booleans()):
            task, expert = data.draw(st.sampled_from(holders))
        if action == "reviewed" and submitted and data.draw(st.booleans()):
            task, expert = data.draw(st.sampled_from(submitted))
        eid = f"e{n}"
        event: InputEvent
        if action == "profile":
            event = ExpertProfile(
                eid,
                clock,
                "w",
                expert=expert,
                domains={data.draw(st.sampled_from(["stem", "law"])): 3},
                languages={data.draw(st.sampled_from(["en", "pt-BR"])): "native"},
                education="master",
                weekly_hours=data.draw(st.sampled_from([1.0, 2.5, 20.0])),
                concurrency=data.draw(st.integers(1, 2)),
            )
        elif action == "status":
            event = ExpertStatus(
                eid,
                clock,
                "w",
                expert=expert,
                status=data.draw(st.sampled_from(["available", "away"])),
            )
        elif action == "removed":
            event = ExpertRemoved(eid, clock, "w", expert=expert)
        elif action == "created":
            event = TaskCreated(
                eid,
                clock,
                "w",
                task=task,
                kind="write",
                domain=data.draw(st.sampled_from(["stem", "law"])),
                language=data.draw(st.sampled_from(["en", "pt", "pt-BR"])),
                minutes=data.draw(st.sampled_from([20, 45, 90])),
                judgements=data.draw(st.integers(1, 2)),
            )
        elif action == "cancelled":
            event = TaskCancelled(eid, clock, "w", task=task)
        elif action == "declined":
            event = TaskDeclined(eid, clock, "w", task=task, expert=expert)
        elif action == "submitted":
            event = TaskSubmitted(
                eid, clock, "w", task=task, expert=expert, seconds=data.draw(st.integers(0, 3000))
            )
        elif action == "reviewed":
            score = data.draw(st.sampled_from([0.2, 0.65, 1.0]))
            event = TaskReviewed(
                eid,
                clock,
                "w",
                task=task,
                expert=expert,
                reviewer="qa",
                score=score,
                passed=score > 0.5,
            )
        else:
            event = ClockTick(eid, clock, "w")
        for item in journal([event], engine):
            events.append(item)
            folded.apply(item)

    report = folded.report().workspaces["w"]
    state = engine.workspaces["w"]
    tasks = list(state.tasks.values())
    assert report.tasks.created == len(tasks)
    assert report.tasks.assigned == sum(t.attempts for t in tasks)
    assert report.tasks.completed == sum(t.state == COMPLETED for t in tasks)
    assert report.tasks.cancelled == sum(t.state == CANCELLED for t in tasks)
    assert report.tasks.queued == sum(t.queued for t in tasks)
    assert report.tasks.unroutable == sum(t.unroutable and t.state == QUEUED for t in tasks)
    assert report.waiting.first_assigned == sum(t.attempts > 0 for t in tasks)
    assert report.handling.submissions == sum(len(t.submitters or ()) for t in tasks)
    assert report.quality.reviews == sum(
        record.reviews for e in state.experts.values() for record in (e.records or {}).values()
    )
    live = {name: e for name, e in state.experts.items() if not e.removed}
    assert report.staffing.experts == len(live)
    assert report.staffing.available == sum(e.status == "available" for e in live.values())
    assert set(report.utilization.by_expert) == set(live)
    for name, expert in live.items():
        load = report.utilization.by_expert[name]
        assert load.assigned_hours == round(expert.used_in(state.week) / 60, 3), name
        assert load.open == expert.open_count(), name
    again = Projections()
    for item in events:
        again.apply(item)
    assert report_json(again.report()) == report_json(folded.report())


def test_a_month_of_work_renders_in_a_page_or_two() -> None:
    """Hundreds of experts and thousands of tasks still give a short text report."""
    languages = ["en", "de", "fr", "es", "pt-BR", "it", "ja", "zh", "ko", "th"]
    domains = ["stem", "law", "medicine", "general"]
    engine = Engine()
    inputs: list[InputEvent] = []
    for n in range(285):
        inputs.append(
            ExpertProfile(
                f"p{n}",
                T0,
                "big",
                expert=f"expert-{n:03d}",
                domains={domains[n % 4]: 4, domains[(n + 1) % 4]: 2},
                languages={languages[n % 10]: "native", "en": "C1"},
                education="master",
                weekly_hours=float(10 + n % 30),
            )
        )
        inputs.append(
            ExpertStatus(f"s{n}", T0, "big", expert=f"expert-{n:03d}", status="available")
        )
    for n in range(3000):
        when = T0 + timedelta(minutes=10 * n)
        inputs.append(
            TaskCreated(
                f"c{n}",
                when,
                "big",
                task=f"task-{n}",
                kind=["write", "rate", "audit"][n % 3],
                domain=domains[n % 4],
                language=languages[n % 11 % 10],
                minutes=30 + n % 60,
            )
        )
    folded = Projections()
    for event in journal(inputs, engine):
        folded.apply(event)
    text = render_text(folded.report())
    lines = text.splitlines()
    assert 40 < len(lines) < 120
    assert max(map(len, lines)) <= 140
    assert "Pools by staffing gap (queued demand h - weekly capacity h) (10 of" in text
    assert math.isclose(len(folded.report().workspaces["big"].utilization.by_expert), 285)


def test_events_of_unknown_tasks_or_experts_do_not_break_the_fold() -> None:
    log = Log()
    log.tick(1).assigned("ghost", "nobody").requeued("ghost", "nobody", "expired")
    log.completed("ghost").unroutable("ghost")
    log.submitted(2, "ghost", "nobody", seconds=5)
    log.reviewed(3, "ghost", "nobody", 0.1, passed=False)
    log.status(4, "nobody").removed(5, "nobody").cancelled(6, "ghost")
    report = log.report()
    assert report.tasks.assigned == 1
    assert report.handling.submissions == 1
    assert report.quality.reviews == 0
    assert isinstance(log.events[0], Event)
