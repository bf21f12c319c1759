"""``/metrics``: the projections in the Prometheus exposition format.

A custom collector (prometheus-client's ``Collector``) turns the report of
the journal at the moment of the scrape into metric families, so nothing
is counted twice and a restart loses nothing: the journal is the counter.
Names carry their units (``_seconds``, ``_hours``, ``_ratio``) and
counters end in ``_total``. Labels are bounded sets only: workspace, kind,
domain, language, and the contract's own enumerations (requeue reason,
expert status, the client's error categories); never an expert or a task
id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from projections import OBJECTIVE_STATUS_CODES, ObjectivesReport, Report

from ._live import LiveLog

__all__ = ["CONTENT_TYPE", "exposition", "registry_of", "worker_registry"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_OBJECTIVE_LABELS = ["workspace", "objective", "kind", "domain", "language"]


def registry_of(live: LiveLog) -> CollectorRegistry:
    """A registry whose one collector reads ``live`` at each scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_LogCollector(live))
    return registry


def worker_registry(
    status: Callable[[], dict[str, Any]], live: LiveLog | None = None
) -> CollectorRegistry:
    """A registry over a Kafka worker's ``status()``: partitions and what each has done.

    With ``live``, the registry also holds the journal's figures, the same
    families as :func:`registry_of` (the whole platform, from every worker).
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_WorkerCollector(status))
    if live is not None:
        registry.register(_LogCollector(live))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The text exposition of ``registry`` now."""
    return generate_latest(registry)


class _LogCollector(Collector):
    def __init__(self, live: LiveLog) -> None:
        self._live = live

    def collect(self) -> Iterator[Metric]:
        live = self._live
        ready = GaugeMetricFamily("triage_ready", "1 once the journal is recovered and followed")
        ready.add_metric([], 1.0 if live.ready else 0.0)
        yield ready
        position = GaugeMetricFamily(
            "triage_journal_position", "Journal position of the last input folded"
        )
        position.add_metric([], float(live.position))
        yield position
        yield from _report_metrics(live.report())
        objectives = live.objectives_report()
        if objectives is not None:
            yield from _objective_metrics(objectives)


def _family(kind: Callable[..., Any], name: str, doc: str, labels: list[str]) -> Any:
    return kind(name, doc, labels=labels)


_WS_KIND = ["workspace", "kind"]
_POOL = ["workspace", "domain", "language"]


def _report_metrics(report: Report) -> Iterator[Metric]:
    yield from _task_metrics(report)
    yield from _time_metrics(report)
    yield from _quality_metrics(report)
    yield from _staffing_metrics(report)
    letters = CounterMetricFamily("triage_dead_letters", "Records that never became events")
    letters.add_metric([], report.dead_letters.total)
    yield letters


def _task_metrics(report: Report) -> Iterator[Metric]:
    created = _family(CounterMetricFamily, "triage_tasks_created", "Tasks created", _WS_KIND)
    assigned = _family(CounterMetricFamily, "triage_assignments", "Assignments made", _WS_KIND)
    completed = _family(CounterMetricFamily, "triage_tasks_completed", "Tasks completed", _WS_KIND)
    cancelled = _family(CounterMetricFamily, "triage_tasks_cancelled", "Tasks cancelled", _WS_KIND)
    queued = _family(GaugeMetricFamily, "triage_tasks_queued", "Tasks waiting now", _WS_KIND)
    requeued = _family(
        CounterMetricFamily,
        "triage_assignments_requeued",
        "Assignments that ended without a submission",
        ["workspace", "reason"],
    )
    in_progress = _family(
        GaugeMetricFamily, "triage_tasks_in_progress", "Tasks being worked on", ["workspace"]
    )
    unroutable = _family(
        GaugeMetricFamily, "triage_tasks_unroutable", "Tasks no expert can take", ["workspace"]
    )
    rejected = _family(
        CounterMetricFamily, "triage_events_rejected", "Inputs refused", ["workspace"]
    )
    for name, ws in report.workspaces.items():
        for kind, tally in ws.tasks.by_kind.items():
            created.add_metric([name, kind], tally.created)
            assigned.add_metric([name, kind], tally.assigned)
            completed.add_metric([name, kind], tally.completed)
            cancelled.add_metric([name, kind], tally.cancelled)
            queued.add_metric([name, kind], tally.queued)
        for reason, count in ws.tasks.requeued_by_reason.items():
            requeued.add_metric([name, reason], count)
        in_progress.add_metric([name], ws.tasks.in_progress)
        unroutable.add_metric([name], ws.tasks.unroutable)
        rejected.add_metric([name], ws.events.rejected)
    yield from (created, assigned, completed, cancelled, queued, requeued, in_progress)
    yield from (unroutable, rejected)


def _time_metrics(report: Report) -> Iterator[Metric]:
    handling = _family(
        SummaryMetricFamily, "triage_handling_seconds", "Handling time of submissions", _WS_KIND
    )
    aht = _family(GaugeMetricFamily, "triage_aht_seconds", "Average handling time", _WS_KIND)
    wait = _family(
        SummaryMetricFamily,
        "triage_wait_seconds",
        "Creation to first assignment of tasks assigned",
        ["workspace"],
    )
    wait_p50 = _family(
        GaugeMetricFamily,
        "triage_wait_p50_seconds",
        "Median wait for a first assignment",
        ["workspace"],
    )
    wait_p90 = _family(
        GaugeMetricFamily,
        "triage_wait_p90_seconds",
        "p90 wait for a first assignment",
        ["workspace"],
    )
    oldest = _family(
        GaugeMetricFamily,
        "triage_oldest_queued_seconds",
        "Age of the oldest waiting task",
        ["workspace"],
    )
    for name, ws in report.workspaces.items():
        for kind, times in ws.handling.by_kind.items():
            mean = times.mean_seconds or 0.0
            handling.add_metric([name, kind], count_value=times.count, sum_value=mean * times.count)
            if times.mean_seconds is not None:
                aht.add_metric([name, kind], times.mean_seconds)
        waiting = ws.waiting
        wait.add_metric(
            [name],
            count_value=waiting.first_assigned,
            sum_value=(waiting.mean_seconds or 0.0) * waiting.first_assigned,
        )
        if waiting.p50_seconds is not None:
            wait_p50.add_metric([name], waiting.p50_seconds)
        if waiting.p90_seconds is not None:
            wait_p90.add_metric([name], waiting.p90_seconds)
        if waiting.oldest_queued_seconds is not None:
            oldest.add_metric([name], waiting.oldest_queued_seconds)
    yield from (handling, aht, wait, wait_p50, wait_p90, oldest)


def _quality_metrics(report: Report) -> Iterator[Metric]:
    reviews = _family(CounterMetricFamily, "triage_reviews", "Reviews", _WS_KIND)
    passed = _family(CounterMetricFamily, "triage_reviews_passed", "Reviews passed", _WS_KIND)
    score = _family(GaugeMetricFamily, "triage_review_score_mean", "Mean review score", _WS_KIND)
    errors = _family(
        CounterMetricFamily,
        "triage_review_errors",
        "Error categories named by reviews",
        ["workspace", "category"],
    )
    low = _family(
        CounterMetricFamily,
        "triage_low_quality_examples",
        "Failed or low-scored reviews collected",
        ["workspace"],
    )
    for name, ws in report.workspaces.items():
        for kind, quality in ws.quality.by_kind.items():
            reviews.add_metric([name, kind], quality.reviews)
            passed.add_metric([name, kind], round((quality.pass_rate or 0.0) * quality.reviews))
            if quality.mean_score is not None:
                score.add_metric([name, kind], quality.mean_score)
        for category, count in ws.quality.errors.items():
            errors.add_metric([name, category], count)
        low.add_metric([name], len(ws.quality.low_quality))
    yield from (reviews, passed, score, errors, low)


def _staffing_metrics(report: Report) -> Iterator[Metric]:
    experts = _family(
        GaugeMetricFamily, "triage_experts", "Experts by presence", ["workspace", "status"]
    )
    pools = {
        "experts": _family(GaugeMetricFamily, "triage_pool_experts", "Experts covering", _POOL),
        "available": _family(
            GaugeMetricFamily, "triage_pool_available_experts", "Available experts covering", _POOL
        ),
        "capacity": _family(
            GaugeMetricFamily,
            "triage_pool_capacity_seconds",
            "Weekly contracted time of the pool's experts",
            _POOL,
        ),
        "demand": _family(
            GaugeMetricFamily,
            "triage_pool_demand_seconds",
            "Remaining work of the pool's queued tasks",
            _POOL,
        ),
        "gap": _family(
            GaugeMetricFamily, "triage_pool_gap_seconds", "Demand minus weekly capacity", _POOL
        ),
        "queued": _family(GaugeMetricFamily, "triage_pool_queued_tasks", "Queued tasks", _POOL),
    }
    utilization = _family(
        GaugeMetricFamily,
        "triage_utilization_ratio",
        "Assigned hours this ISO week over contracted hours",
        ["workspace"],
    )
    assigned = _family(
        GaugeMetricFamily,
        "triage_assigned_work_seconds",
        "Work assigned this ISO week (net of requeues)",
        ["workspace"],
    )
    for name, ws in report.workspaces.items():
        staffing = ws.staffing
        for status, count in (
            ("available", staffing.available),
            ("away", staffing.away),
            ("offline", staffing.offline),
        ):
            experts.add_metric([name, status], count)
        for p in staffing.pools:
            labels = [name, p.domain, p.language]
            pools["experts"].add_metric(labels, p.experts)
            pools["available"].add_metric(labels, p.available)
            pools["capacity"].add_metric(labels, p.capacity_hours * 3600)
            pools["demand"].add_metric(labels, p.demand_hours * 3600)
            pools["gap"].add_metric(labels, p.gap_hours * 3600)
            pools["queued"].add_metric(labels, p.queued)
        if ws.utilization.utilization is not None:
            utilization.add_metric([name], ws.utilization.utilization)
        assigned.add_metric([name], ws.utilization.assigned_hours * 3600)
    yield experts
    yield from pools.values()
    yield from (utilization, assigned)


def _objective_metrics(report: ObjectivesReport) -> Iterator[Metric]:
    status = GaugeMetricFamily(
        "triage_objective_status",
        "Objective status: 0 met, 1 at risk, 2 missed (absent: no data)",
        labels=_OBJECTIVE_LABELS,
    )
    actual = GaugeMetricFamily(
        "triage_objective_actual", "The figure an objective measures", labels=_OBJECTIVE_LABELS
    )
    target = GaugeMetricFamily(
        "triage_objective_target",
        "An objective's bound: min (at least) or max (at most)",
        labels=[*_OBJECTIVE_LABELS, "bound"],
    )
    for name, ws in report.workspaces.items():
        for result in ws.objectives:
            labels = [
                name,
                result.objective,
                result.kind or "",
                result.domain or "",
                result.language or "",
            ]
            if result.status in OBJECTIVE_STATUS_CODES:
                status.add_metric(labels, OBJECTIVE_STATUS_CODES[result.status])
            if result.actual is not None:
                actual.add_metric(labels, result.actual)
            if result.target_min is not None:
                target.add_metric([*labels, "min"], result.target_min)
            if result.target_max is not None:
                target.add_metric([*labels, "max"], result.target_max)
    yield from (status, actual, target)


class _WorkerCollector(Collector):
    def __init__(self, status: Callable[[], dict[str, Any]]) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        status = self._status()
        partitions = status.get("partitions", {})
        owned = GaugeMetricFamily("triage_worker_partitions", "Partitions this worker owns")
        owned.add_metric([], len(partitions))
        yield owned
        uptime = GaugeMetricFamily("triage_worker_uptime_seconds", "Seconds since start")
        uptime.add_metric([], float(status.get("uptime_seconds", 0.0)))
        yield uptime
        families = {
            field: CounterMetricFamily(f"triage_worker_{field}", doc, labels=["partition"])
            for field, doc in (
                ("processed", "Inputs processed by this worker"),
                ("duplicates", "Inputs already in the journal"),
                ("deadletters", "Records dead-lettered"),
            )
        }
        workspaces = GaugeMetricFamily(
            "triage_worker_workspaces", "Workspaces in a partition", labels=["partition"]
        )
        for number, state in sorted(partitions.items()):
            for field, family in families.items():
                family.add_metric([str(number)], float(state.get(field, 0)))
            workspaces.add_metric([str(number)], float(state.get("workspaces", 0)))
        yield from families.values()
        yield workspaces
