"""The dashboard's data and page: one HTML template, live under ``/`` or written to a file.

:func:`dashboard_data` picks from the report, the time series and the
objectives what the page draws, for one workspace: the whole journal, or
one ISO week for the weekly client report. :func:`render_page` inlines
the template, its script, the vendored Apache ECharts and the data into
one HTML document that needs no network to be viewed; served live, the
same page fetches fresh data from the API every few seconds.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any

import msgspec

from events import ConfigError
from projections import ObjectivesReport, Report, Series, Timeline

__all__ = ["dashboard_data", "render_page", "week_bounds"]

_BACKLOG_DAYS = 21
_LOAD_EXPERTS = 400


def week_bounds(week: str) -> tuple[date, date]:
    """The first day and the day after the last of an ISO week such as ``2026-W47``."""
    try:
        start = datetime.strptime(week + "-1", "%G-W%V-%u").date()
    except ValueError:
        raise ConfigError(f"week {week!r} is not an ISO week such as 2026-W47") from None
    return start, start + timedelta(days=7)


def dashboard_data(
    workspace: str,
    report: Report,
    series: Series,
    objectives: ObjectivesReport | None,
    week: str | None = None,
) -> dict[str, Any]:
    """Everything the page draws for ``workspace``; with ``week``, that ISO week only."""
    ws = report.workspaces.get(workspace)
    if ws is None:
        raise ConfigError(f"no workspace {workspace!r} in the log")
    timeline = series.timeline(workspace)
    if week is None:
        clock = ws.clock
        end_day = clock.date() + timedelta(days=1) if clock else date.max
        start_day = end_day - timedelta(days=_BACKLOG_DAYS)
    else:
        start_day, end_day = week_bounds(week)
    window = series.window(workspace, start_day, end_day)
    days = [d for d in timeline.days if week is None or start_day <= d.day < end_day]
    trend = [w for w in ws.quality.error_trend if week is None or w.week <= week]
    low = ws.quality.low_quality
    if week is not None:
        low = [x for x in low if start_day <= x.at.date() < end_day]
    load = sorted(
        (
            (name, e.utilization, e.assigned_hours, e.weekly_hours, e.status)
            for name, e in ws.utilization.by_expert.items()
        ),
        key=lambda row: (-row[1], row[0]),
    )[:_LOAD_EXPERTS]
    aht = (
        window.aht_by_kind
        if week is not None
        else {kind: t.mean_seconds for kind, t in ws.handling.by_kind.items() if t.mean_seconds}
    )
    targets = {}
    results = []
    if objectives is not None and workspace in objectives.workspaces:
        evaluated = objectives.workspaces[workspace]
        results = msgspec.to_builtins(evaluated.objectives)
        targets = {
            r.kind: r.target_max
            for r in evaluated.objectives
            if r.objective == "aht_seconds" and r.kind
        }
    backlog = _backlog(timeline, start_day, end_day)
    queued: int | None = ws.tasks.queued
    in_progress: int | None = ws.tasks.in_progress
    if week is not None:
        queued, in_progress = (backlog[-1][1], backlog[-1][2]) if backlog else (None, None)
    uses_v1_1 = bool(ws.steps.tasks or ws.overlap.tasks or ws.gates.gated)
    return {
        "workspace": workspace,
        "week": week,
        "week_start": start_day.isoformat() if week else None,
        "week_end": (end_day - timedelta(days=1)).isoformat() if week else None,
        "clock": ws.clock.isoformat() if ws.clock else None,
        "summary": {
            "queued": queued,
            "in_progress": in_progress,
            "completed": ws.tasks.completed if week is None else window.completed,
            "created": ws.tasks.created if week is None else window.created,
            "hours": window.hours,
            "experts": ws.staffing.experts,
            "available": ws.staffing.available,
            "aht_seconds": ws.handling.aht_seconds if week is None else window.aht_seconds,
            "pass_rate": ws.quality.pass_rate if week is None else window.pass_rate,
            "mean_score": ws.quality.mean_score if week is None else window.mean_score,
            "wait_p90_seconds": ws.waiting.p90_seconds if week is None else window.wait_p90_seconds,
            "utilization": ws.utilization.utilization,
            "low_quality": len(low),
            "window_days": window.days,
        },
        "backlog": backlog,
        "days": [
            {
                "day": d.day.isoformat(),
                "created": d.created,
                "completed": d.completed,
                "hours": round(d.handled_seconds / 3600, 1),
                "wait_p90_hours": None
                if d.wait_p90_seconds is None
                else round(d.wait_p90_seconds / 3600, 2),
                "wait_p50_hours": None
                if d.wait_p50_seconds is None
                else round(d.wait_p50_seconds / 3600, 2),
            }
            for d in days
        ],
        "aht": {kind: round(value / 60, 1) for kind, value in sorted(aht.items()) if value},
        "aht_targets": {k: round(v / 60, 1) for k, v in targets.items() if v is not None},
        "quality": msgspec.to_builtins(trend),
        "errors_week": window.errors,
        "pools": [
            {
                "pool": f"{p.domain}/{p.language}",
                "experts": p.experts,
                "capacity_hours": p.capacity_hours,
                "available_hours": p.available_hours,
                "demand_hours": p.demand_hours,
                "gap_hours": p.gap_hours,
                "queued": p.queued,
            }
            for p in sorted(ws.staffing.pools, key=lambda p: -p.gap_hours)
        ],
        "load": [
            {"expert": n, "utilization": u, "assigned_hours": a, "weekly_hours": h, "status": s}
            for n, u, a, h, s in load
        ],
        "utilization_week": ws.utilization.week,
        # The v1.1 sections are of the whole journal: the weekly report leaves them out.
        "v1_1": {
            "steps": msgspec.to_builtins(ws.steps),
            "overlap": msgspec.to_builtins(ws.overlap),
            "gates": msgspec.to_builtins(ws.gates),
        }
        if uses_v1_1 and week is None
        else None,
        "objectives": results,
        "low_quality": [
            {
                "task": x.task,
                "kind": x.kind,
                "domain": x.domain,
                "language": x.language,
                "score": x.score,
                "passed": x.passed,
                "errors": list(x.errors),
                "at": x.at.isoformat(),
                "ref": x.ref,
            }
            for x in (low if week is not None else low[-50:])
        ],
    }


def _backlog(timeline: Timeline, start: date, end: date) -> list[list[Any]]:
    return [
        [p.at.isoformat(), p.queued, p.in_progress]
        for p in timeline.backlog
        if start <= (p.at - timedelta(microseconds=1)).date() < end
    ]


def render_page(data: dict[str, Any] | None, *, title: str, live: bool) -> str:
    """The dashboard as one HTML document: ``data`` inlined, or fetched when ``live``."""
    static = resources.files(__package__).joinpath("_static")
    template = static.joinpath("dashboard.html").read_text(encoding="utf-8")
    script = static.joinpath("dashboard.js").read_text(encoding="utf-8")
    echarts = static.joinpath("vendor", "echarts.min.js").read_text(encoding="utf-8")
    parts = {
        "title": _escape(title),
        "echarts": echarts.replace("</script", "<\\/script"),
        "script": script,
        "data": _script_json(data),
        "settings": _script_json({"live": live}),
    }
    # One pass over the template only: nothing inlined is searched again.
    return _PLACEHOLDER.sub(lambda match: parts[match.group(1)], template)


_PLACEHOLDER = re.compile(r"(?:/\*)?\{\{(\w+)\}\}(?:\*/)?")


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element: no ``</`` can end it early."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
