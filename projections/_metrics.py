"""From the fold's state to the report: every derived number, computed on demand.

One pass over the tasks gives all task-derived figures (counts by state and
by kind, domain and language; pool demand; the oldest queued task). Every
dict is built in sorted key order and every float rounded to three places,
so the same state always encodes to the same bytes.

The v1.1 sections (requirement steps, adaptive overlap, quality gates) are
computed in ``_metrics_v1_1`` from what the same pass gathers for them; the
helpers both share (rounding, time summaries, pools) are in ``_figures``.
"""

from __future__ import annotations

from array import array

import msgspec

from events import EDUCATION_LEVELS, from_micros, iso_week

from ._figures import MICROS as _MICROS
from ._figures import Pool as _Pool
from ._figures import covers as _covers
from ._figures import ratio as _ratio
from ._figures import rounded as _round
from ._figures import time_summary as _time
from ._metrics_v1_1 import V11Scan, gates_of, overlap_of, steps_of
from ._model import (
    DeadLetters,
    EventCounts,
    ExpertLoad,
    Handling,
    PoolStaffing,
    Quality,
    QualityTally,
    Report,
    Staffing,
    TaskBreakdown,
    Tasks,
    TimeSummary,
    Utilization,
    Waiting,
    WeekErrors,
    WorkspaceReport,
)
from ._state import CANCELLED, COMPLETED, OPEN, Expert, Tally, Workspace
from ._stats import summarize

__all__ = ["build_report"]


def build_report(
    workspaces: dict[str, Workspace],
    dead_letters: dict[str, int],
    low_score: float,
    prior: tuple[float, float] = (0.75, 3.0),
    *,
    retried: int = 0,
) -> Report:
    """The report of every workspace, and the dead letters over all of them.

    ``prior`` is the quality record's prior and its weight in reviews, to
    judge gates as the router's policy does; ``retried`` how many dead
    letters have been retried.
    """
    return Report(
        workspaces={
            name: _workspace(ws, low_score, prior) for name, ws in sorted(workspaces.items())
        },
        dead_letters=DeadLetters(
            total=sum(dead_letters.values()),
            by_source=dict(sorted(dead_letters.items())),
            retried=retried,
        ),
    )


def _workspace(ws: Workspace, low_score: float, prior: tuple[float, float]) -> WorkspaceReport:
    scan = _Scan(ws)
    live = sorted((name, expert) for name, expert in ws.experts.items() if not expert.removed)
    week = iso_week(ws.clock) if ws.seen() else None
    return WorkspaceReport(
        clock=from_micros(ws.clock) if ws.seen() else None,
        week=week,
        tasks=_tasks(ws, scan),
        handling=_handling(ws),
        waiting=_waiting(ws, scan),
        quality=_quality(ws, low_score),
        staffing=_staffing(ws, scan, live),
        utilization=_utilization(ws, live, week),
        events=EventCounts(
            rejected=ws.rejected,
            rejected_by_reason=dict(sorted(ws.rejected_by_reason.items())),
            dead_letters=ws.dead_letters,
        ),
        steps=steps_of(ws, scan.v1_1),
        overlap=overlap_of(scan.v1_1),
        gates=gates_of(ws, scan.v1_1, live, prior),
    )


# --- tasks -------------------------------------------------------------------


class _Counts(msgspec.Struct, gc=False):
    """Running task counts of one grouping; ``assigned`` counts assignments, not tasks."""

    created: int = 0
    assigned: int = 0
    completed: int = 0
    cancelled: int = 0
    queued: int = 0


def _counts_of(groups: dict[str, _Counts], key: str) -> _Counts:
    counts = groups.get(key)
    if counts is None:
        counts = groups[key] = _Counts()
    return counts


class _Scan:
    """Everything derived from one pass over a workspace's tasks."""

    def __init__(self, ws: Workspace) -> None:
        self.totals = _Counts()
        self.in_progress = 0
        self.unroutable = 0
        self.by_kind: dict[str, _Counts] = {}
        self.by_domain: dict[str, _Counts] = {}
        self.by_language: dict[str, _Counts] = {}
        self.demand: dict[_Pool, int] = {}  # minutes
        self.queued: dict[_Pool, int] = {}
        self.flagged: dict[_Pool, int] = {}
        self.pools: set[_Pool] = set()
        self.oldest: tuple[int, str] | None = None
        self.v1_1 = V11Scan()  # tasks with steps, agreement or a gate
        for name, task in ws.tasks.items():
            if task.steps or task.agreement is not None or task.gate is not None:
                self.v1_1.add(task)
            pool = (task.domain, task.language)
            self.pools.add(pool)
            waiting = task.waiting()
            completed = task.state == COMPLETED
            cancelled = task.state == CANCELLED
            for counts in (
                self.totals,
                _counts_of(self.by_kind, task.kind),
                _counts_of(self.by_domain, task.domain),
                _counts_of(self.by_language, task.language),
            ):
                counts.created += 1
                counts.assigned += task.assignments
                counts.completed += completed
                counts.cancelled += cancelled
                counts.queued += waiting
            if task.state != OPEN:
                continue
            if task.unroutable:
                self.unroutable += 1
                self.flagged[pool] = self.flagged.get(pool, 0) + 1
            if not waiting:
                self.in_progress += 1
                continue
            taken = task.submitted + (len(task.open) if task.open else 0)
            self.demand[pool] = self.demand.get(pool, 0) + (task.judgements - taken) * task.minutes
            self.queued[pool] = self.queued.get(pool, 0) + 1
            if self.oldest is None or (task.created, name) < self.oldest:
                self.oldest = (task.created, name)


def _breakdown(groups: dict[str, _Counts]) -> dict[str, TaskBreakdown]:
    return {
        key: TaskBreakdown(
            created=c.created,
            assigned=c.assigned,
            completed=c.completed,
            cancelled=c.cancelled,
            queued=c.queued,
        )
        for key, c in sorted(groups.items())
    }


def _tasks(ws: Workspace, scan: _Scan) -> Tasks:
    totals = scan.totals
    return Tasks(
        created=totals.created,
        assigned=ws.assigned,
        completed=totals.completed,
        cancelled=totals.cancelled,
        queued=totals.queued,
        in_progress=scan.in_progress,
        unroutable=scan.unroutable,
        unroutable_events=ws.unroutable_events,
        requeued=sum(ws.requeued.values()),
        requeued_by_reason=dict(sorted(ws.requeued.items())),
        by_kind=_breakdown(scan.by_kind),
        by_domain=_breakdown(scan.by_domain),
        by_language=_breakdown(scan.by_language),
    )


# --- time --------------------------------------------------------------------


def _times(groups: dict[str, array[int]]) -> dict[str, TimeSummary]:
    return {key: _time(samples) for key, samples in sorted(groups.items())}


def _handling(ws: Workspace) -> Handling:
    count, mean, p50, p90 = summarize(ws.handling)
    return Handling(
        submissions=count,
        aht_seconds=mean,
        p50_seconds=p50,
        p90_seconds=p90,
        by_kind=_times(ws.handling_by_kind),
        by_domain=_times(ws.handling_by_domain),
        by_language=_times(ws.handling_by_language),
        by_expert=_times(ws.handling_by_expert),
    )


def _waiting(ws: Workspace, scan: _Scan) -> Waiting:
    count, mean, p50, p90 = summarize(ws.waits, _MICROS)
    oldest = scan.oldest
    return Waiting(
        first_assigned=count,
        mean_seconds=mean,
        p50_seconds=p50,
        p90_seconds=p90,
        oldest_queued_seconds=(
            _round((ws.clock - oldest[0]) / _MICROS) if oldest is not None else None
        ),
        oldest_queued_task=oldest[1] if oldest is not None else None,
    )


# --- quality -----------------------------------------------------------------


def _tally(tally: Tally) -> QualityTally:
    return QualityTally(
        reviews=tally.reviews,
        mean_score=_ratio(tally.total, tally.reviews),
        pass_rate=_ratio(tally.passed, tally.reviews),
    )


def _tallies(groups: dict[str, Tally]) -> dict[str, QualityTally]:
    return {key: _tally(tally) for key, tally in sorted(groups.items())}


def _quality(ws: Workspace, low_score: float) -> Quality:
    overall = _tally(ws.quality)
    errors: dict[str, int] = {}
    trend = []
    for _, weekly in sorted(ws.weeks.items()):
        for error, count in weekly.errors.items():
            errors[error] = errors.get(error, 0) + count
        trend.append(
            WeekErrors(
                week=iso_week(weekly.instant),
                reviews=weekly.reviews,
                failed=weekly.failed,
                errors=dict(sorted(weekly.errors.items())),
            )
        )
    return Quality(
        reviews=overall.reviews,
        mean_score=overall.mean_score,
        pass_rate=overall.pass_rate,
        low_score=low_score,
        by_expert=_tallies(ws.quality_by_expert),
        by_domain=_tallies(ws.quality_by_domain),
        by_language=_tallies(ws.quality_by_language),
        by_kind=_tallies(ws.quality_by_kind),
        errors=dict(sorted(errors.items())),
        error_trend=trend,
        low_quality=list(ws.low_quality),
    )


# --- people ------------------------------------------------------------------


class _Supply(msgspec.Struct, gc=False):
    """The experts covering one pool, and their weekly hours."""

    experts: int = 0
    available: int = 0
    capacity_hours: float = 0.0
    available_hours: float = 0.0


def _staffing(ws: Workspace, scan: _Scan, live: list[tuple[str, Expert]]) -> Staffing:
    statuses = {"available": 0, "away": 0, "offline": 0}
    by_education = dict.fromkeys(EDUCATION_LEVELS, 0)
    nested: dict[str, dict[str, dict[str, int]]] = {}
    pools = set(scan.pools)
    for _, expert in live:
        statuses[expert.status] += 1
        by_education[expert.education] += 1
        for domain in expert.domains:
            languages = nested.setdefault(domain, {})
            for language in expert.languages:
                pools.add((domain, language))
                levels = languages.setdefault(language, {})
                levels[expert.education] = levels.get(expert.education, 0) + 1
    supply = {pool: _Supply() for pool in pools}
    for _, expert in live:
        available = expert.status == "available"
        for pool in _covers(expert):
            covered = supply.get(pool)
            if covered is not None:
                covered.experts += 1
                covered.capacity_hours += expert.weekly_hours
                if available:
                    covered.available += 1
                    covered.available_hours += expert.weekly_hours
    rows = []
    for pool in sorted(pools):
        covered = supply[pool]
        demand = scan.demand.get(pool, 0) / 60
        domain, language = pool
        rows.append(
            PoolStaffing(
                domain=domain,
                language=language,
                experts=covered.experts,
                available=covered.available,
                capacity_hours=_round(covered.capacity_hours),
                available_hours=_round(covered.available_hours),
                demand_hours=_round(demand),
                gap_hours=_round(demand - covered.capacity_hours),
                queued=scan.queued.get(pool, 0),
                unroutable=scan.flagged.get(pool, 0),
            )
        )
    return Staffing(
        experts=len(live),
        available=statuses["available"],
        away=statuses["away"],
        offline=statuses["offline"],
        removed=len(ws.experts) - len(live),
        capacity_hours=_round(sum(expert.weekly_hours for _, expert in live)),
        available_hours=_round(
            sum(expert.weekly_hours for _, expert in live if expert.status == "available")
        ),
        by_education=by_education,
        by_domain_language_education={
            domain: {
                language: dict(sorted(levels.items()))
                for language, levels in sorted(languages.items())
            }
            for domain, languages in sorted(nested.items())
        },
        pools=rows,
    )


def _utilization(ws: Workspace, live: list[tuple[str, Expert]], week: str | None) -> Utilization:
    by_expert = {}
    assigned_minutes = 0
    capacity = 0.0
    for name, expert in live:
        minutes = expert.used if expert.week == ws.week else 0
        assigned_minutes += minutes
        capacity += expert.weekly_hours
        by_expert[name] = ExpertLoad(
            status=expert.status,
            weekly_hours=expert.weekly_hours,
            assigned_hours=_round(minutes / 60),
            utilization=_round(minutes / 60 / expert.weekly_hours),
            open=expert.open,
        )
    return Utilization(
        week=week,
        capacity_hours=_round(capacity),
        assigned_hours=_round(assigned_minutes / 60),
        utilization=_ratio(assigned_minutes / 60, capacity),
        given_back_hours=_round(sum(ws.given_back.values()) / 60),
        given_back_by_reason={
            reason: _round(minutes / 60) for reason, minutes in sorted(ws.given_back.items())
        },
        by_expert=by_expert,
    )
