"""What ``report --objectives/--html`` and ``export`` need: one fold of the log into every view."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import msgspec

from events import ConfigError, decode_event
from projections import (
    Objectives,
    ObjectivesReport,
    Projections,
    Report,
    Series,
    Views,
    evaluate_objectives,
)

from ..embedded import Journal
from ..http import dashboard_data, render_page, week_bounds

__all__ = ["Folded", "fold_log", "objectives_json", "objectives_text", "write_html"]


class Folded(msgspec.Struct, frozen=True):
    """The log folded once by the report, the series and the views."""

    report: Report
    series: Series
    views: Views


def fold_log(journal: Journal, progress: Callable[[int, int], None] | None = None) -> Folded:
    """Fold every entry and dead letter of ``journal`` into the report, series and views."""
    projections, series, views = Projections(), Series(), Views()
    last = journal.last()
    for entry in journal.entries():
        if progress is not None and entry.pos % 10_000 == 0:
            progress(entry.pos, last)
        for raw in (entry.input, *entry.outputs):
            event = decode_event(raw)
            projections.apply(event)
            series.apply(event)
            views.apply(event)
    for letter in journal.dead_letters():
        projections.dead_letter(letter.source)
    projections.retried_dead_letters(journal.retried_count())
    return Folded(projections.report(), series, views)


def objectives_json(evaluated: ObjectivesReport) -> bytes:
    """The evaluated objectives as JSON."""
    return msgspec.json.encode(evaluated)


_WHOLE = 100  # figures this large read best without decimals
_MARK = {"met": "ok ", "at_risk": "!  ", "missed": "XX ", "no_data": "?  "}


def objectives_text(evaluated: ObjectivesReport) -> str:
    """The evaluated objectives as aligned text, one line per objective."""
    lines = []
    for name, ws in evaluated.workspaces.items():
        lines.append(
            f"Objectives of {name}, week {ws.week_start} to {ws.week_end}: "
            f"{ws.met} met, {ws.at_risk} at risk, {ws.missed} missed, {ws.no_data} no data"
        )
        for r in ws.objectives:
            scope = r.kind or (f"{r.domain}/{r.language}" if r.domain else "")
            label = r.objective + (f" [{scope}]" if scope else "")
            actual = _figure(r.actual)
            previous = "" if r.previous is None else f" (prev {_figure(r.previous)})"
            trend = f" {r.trend}" if r.trend else ""
            lines.append(
                f"  {_MARK[r.status]}{label:<34} {actual:>12}{previous}{trend}  "
                f"{r.status.replace('_', ' ')}: {r.rule}"
            )
        lines.append("")
    return "\n".join(lines)


def _figure(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= _WHOLE:
        return f"{value:,.0f}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def write_html(
    folded: Folded,
    path: Path,
    objectives: Objectives | None,
    workspace: str | None,
    week: str | None,
) -> str:
    """Write the dashboard (or, with ``week``, the weekly client report) to ``path``."""
    names = list(folded.report.workspaces)
    if workspace is None:
        if not names:
            raise ConfigError("the log has no events: nothing to draw")
        workspace = names[0]
    last_day = None
    if week is not None:
        last_day = week_bounds(week)[1] - timedelta(days=1)
    evaluated = (
        evaluate_objectives(objectives, folded.report, folded.series, last_day=last_day)
        if objectives
        else None
    )
    data = dashboard_data(workspace, folded.report, folded.series, evaluated, week)
    title = f"Triage · {workspace}" + (f" · {week}" if week else "")
    try:
        path.write_text(render_page(data, title=title, live=False), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc}") from None
    return workspace
