"""The report for people (aligned plain text) and for programs (one JSON object).

The text is what ops read at the end of a month-long demo with hundreds of
experts, so it summarises: totals on one line each, then short tables cut
to the top few rows, each saying how many it left out. Plain string
formatting rather than a terminal renderer keeps it identical on every
terminal width, in a pipe and in a test.

The JSON is one object keyed by workspace, as the CLI promises. Dead letters
mostly cannot be attributed to a workspace (the record did not decode), so
they are not in it by default; ``with_global=True`` adds them under the key
``""``, the one key no workspace can have (workspace ids are 1-128
characters). ``msgspec.json.encode(report)`` gives everything as
``{"workspaces": ..., "dead_letters": ...}``.

The v1.1 sections (requirement steps, adaptive overlap, quality gates) are
in ``_render_v1_1``; the cell and table formatting both use is in ``_text``.
"""

from __future__ import annotations

from typing import Final

import msgspec

from ._model import QualityTally, Report, TaskBreakdown, TimeSummary, WorkspaceReport
from ._render_v1_1 import gates_lines, overlap_lines, steps_lines
from ._text import FEW as _FEW
from ._text import TOP as _TOP
from ._text import cut as _cut
from ._text import dur as _dur
from ._text import pct as _pct
from ._text import score_of as _score
from ._text import table as _table
from ._text import tail as _tail
from ._text import title as _title

__all__ = ["GLOBAL_KEY", "render_text", "report_json"]

#: The key of the global part in :func:`report_json`; never a workspace id.
GLOBAL_KEY: Final = ""

_WEEKS: Final = 8
_encoder: Final = msgspec.json.Encoder()


def report_json(report: Report, *, with_global: bool = False) -> bytes:
    """The report as one JSON object keyed by workspace name.

    Each workspace object has ``tasks``, ``handling``, ``waiting``,
    ``quality``, ``staffing``, ``utilization`` and ``events``. With
    ``with_global``, the key ``""`` holds ``{"dead_letters": {"total",
    "by_source", "retried"}}``.
    """
    body: dict[str, object] = {}
    if with_global:
        body[GLOBAL_KEY] = {"dead_letters": report.dead_letters}
    body.update(report.workspaces)
    return _encoder.encode(body)


def render_text(report: Report) -> str:
    """The report as aligned plain text for people, one section per workspace."""
    lines: list[str] = []
    for name, workspace in report.workspaces.items():
        lines.extend(_workspace(name, workspace))
        lines.append("")
    if not report.workspaces:
        lines.extend(["No events.", ""])
    letters = report.dead_letters
    sources = ", ".join(f"{source} {count:,}" for source, count in letters.by_source.items())
    lines.append(
        f"Dead letters: {letters.total:,}"
        + (f" ({sources})" if sources else "")
        + (
            f"; {letters.total - letters.retried:,} open, {letters.retried:,} retried"
            if letters.retried
            else ""
        )
    )
    return "\n".join(lines)


# --- sections --------------------------------------------------------------------


def _workspace(name: str, ws: WorkspaceReport) -> list[str]:
    clock = ws.clock.strftime("%Y-%m-%d %H:%M UTC") if ws.clock else "no events"
    head = f"== {name} · {clock}" + (f" · {ws.week}" if ws.week else "") + " "
    lines = [head.ljust(72, "="), *_summary(ws)]
    for label, key in (("kind", "by_kind"), ("domain", "by_domain"), ("language", "by_language")):
        lines.extend(_dimension(ws, label, key))
    lines.extend(_pools(ws))
    lines.extend(steps_lines(ws))
    lines.extend(overlap_lines(ws))
    lines.extend(gates_lines(ws))
    lines.extend(_experts(ws))
    lines.extend(_errors(ws))
    lines.extend(_low_quality(ws))
    lines.extend(_rejections(ws))
    return lines


def _summary(ws: WorkspaceReport) -> list[str]:
    t, w, h, q, s, u = ws.tasks, ws.waiting, ws.handling, ws.quality, ws.staffing, ws.utilization
    requeued = ", ".join(f"{count:,} {why}" for why, count in t.requeued_by_reason.items() if count)
    education = ", ".join(f"{level} {count:,}" for level, count in s.by_education.items())
    oldest = (
        f"; oldest queued {_dur(w.oldest_queued_seconds)} ({_cut(w.oldest_queued_task)})"
        if w.oldest_queued_task
        else ""
    )
    rows = [
        (
            "Tasks",
            f"{t.created:,} created, {t.assigned:,} assignments, {t.completed:,} "
            f"completed, {t.cancelled:,} cancelled; now {t.queued:,} queued, "
            f"{t.in_progress:,} in progress",
        ),
        (
            "",
            f"unroutable now {t.unroutable:,} ({t.unroutable_events:,} flags in all); "
            f"requeued {t.requeued:,}" + (f" ({requeued})" if requeued else ""),
        ),
        (
            "Waiting",
            f"to first assignment p50 {_dur(w.p50_seconds)}, p90 {_dur(w.p90_seconds)}"
            f" over {w.first_assigned:,} tasks{oldest}",
        ),
        (
            "Handling",
            f"AHT {_dur(h.aht_seconds)}, p50 {_dur(h.p50_seconds)}, "
            f"p90 {_dur(h.p90_seconds)} over {h.submissions:,} submissions",
        ),
        (
            "Quality",
            f"{q.reviews:,} reviews, mean score {_score(q.mean_score)}, pass rate "
            f"{_pct(q.pass_rate)}; {len(q.low_quality):,} low (failed or < {q.low_score:g})",
        ),
        (
            "Staffing",
            f"{s.experts:,} experts: {s.available:,} available, {s.away:,} away, "
            f"{s.offline:,} offline ({s.removed:,} removed); {s.capacity_hours:,.1f} h/week",
        ),
        ("", f"by education: {education}"),
        (
            "Utilization",
            f"{u.week or '-'}: {u.assigned_hours:,.1f} h assigned of "
            f"{u.capacity_hours:,.1f} h ({_pct(u.utilization)}); {u.given_back_hours:,.1f} h "
            f"given back by requeues",
        ),
        (
            "Refused",
            f"{ws.events.rejected:,} events rejected, "
            f"{ws.events.dead_letters:,} dead letters attributed here",
        ),
    ]
    return [f"{label:<12} {text}" for label, text in rows]


def _dimension(ws: WorkspaceReport, label: str, key: str) -> list[str]:
    tasks: dict[str, TaskBreakdown] = getattr(ws.tasks, key)
    handling: dict[str, TimeSummary] = getattr(ws.handling, key)
    quality: dict[str, QualityTally] = getattr(ws.quality, key)
    names = sorted(
        tasks.keys() | handling.keys() | quality.keys(),
        key=lambda name: (-(tasks[name].created if name in tasks else 0), name),
    )
    if not names:
        return []
    zero = TaskBreakdown(created=0, assigned=0, completed=0, cancelled=0, queued=0)
    none = TimeSummary(count=0, mean_seconds=None, p50_seconds=None, p90_seconds=None)
    rows = []
    for name in names[:_TOP]:
        c, hs = tasks.get(name, zero), handling.get(name, none)
        qt = quality.get(name)
        rows.append(
            (
                _cut(name),
                f"{c.created:,}",
                f"{c.completed:,}",
                f"{c.cancelled:,}",
                f"{c.queued:,}",
                _dur(hs.mean_seconds),
                _dur(hs.p90_seconds),
                f"{qt.reviews:,}" if qt else "0",
                _score(qt.mean_score if qt else None),
                _pct(qt.pass_rate if qt else None),
            )
        )
    headers = (
        label,
        "created",
        "done",
        "cancelled",
        "queued",
        "AHT",
        "p90",
        "reviews",
        "score",
        "pass",
    )
    return ["", _title(f"By {label}", len(rows), len(names)), *_table(headers, rows)]


def _pools(ws: WorkspaceReport) -> list[str]:
    pools = sorted(ws.staffing.pools, key=lambda p: (-p.gap_hours, p.domain, p.language))
    if not pools:
        return []
    rows = [
        (
            _cut(p.domain),
            _cut(p.language),
            f"{p.experts:,}",
            f"{p.available:,}",
            f"{p.capacity_hours:,.1f}",
            f"{p.demand_hours:,.1f}",
            f"{p.gap_hours:,.1f}",
            f"{p.queued:,}",
            f"{p.unroutable:,}",
        )
        for p in pools[:_TOP]
    ]
    headers = (
        "domain",
        "language",
        "experts",
        "avail",
        "h/week",
        "demand h",
        "gap h",
        "queued",
        "unroutable",
    )
    title = _title(
        "Pools by staffing gap (queued demand h - weekly capacity h)", len(rows), len(pools)
    )
    return ["", title, *_table(headers, rows, align="ll")]


def _experts(ws: WorkspaceReport) -> list[str]:
    loads = ws.utilization.by_expert
    if not loads:
        return []
    quality, handling = ws.quality.by_expert, ws.handling.by_expert

    def row(name: str) -> tuple[str, ...]:
        load, qt, hs = loads.get(name), quality.get(name), handling.get(name)
        return (
            _cut(name),
            load.status if load else "removed",
            f"{load.weekly_hours:g}" if load else "-",
            f"{load.assigned_hours:,.1f}" if load else "-",
            _pct(load.utilization if load else None),
            f"{hs.count:,}" if hs else "0",
            _dur(hs.mean_seconds if hs else None),
            f"{qt.reviews:,}" if qt else "0",
            _score(qt.mean_score if qt else None),
            _pct(qt.pass_rate if qt else None),
        )

    headers = (
        "expert",
        "status",
        "h/week",
        "assigned h",
        "util",
        "subs",
        "AHT",
        "reviews",
        "score",
        "pass",
    )
    busiest = sorted(loads, key=lambda name: (-loads[name].utilization, name))[:_FEW]
    lines = [
        "",
        _title("Experts, busiest this week", len(busiest), len(loads)),
        *_table(headers, [row(name) for name in busiest], align="ll"),
    ]
    reviewed = [name for name, qt in quality.items() if qt.mean_score is not None]
    if reviewed:
        weakest = sorted(
            reviewed, key=lambda name: (quality[name].mean_score, -quality[name].reviews, name)
        )[:_FEW]
        lines += [
            "",
            _title("Experts, lowest mean review score", len(weakest), len(reviewed)),
            *_table(headers, [row(name) for name in weakest], align="ll"),
        ]
    return lines


def _errors(ws: WorkspaceReport) -> list[str]:
    quality = ws.quality
    if not quality.error_trend:
        return []
    trend = quality.error_trend[-_WEEKS:]
    rows = []
    for week in trend:
        top = sorted(week.errors.items(), key=lambda item: (-item[1], item[0]))[:3]
        rows.append(
            (
                week.week,
                f"{week.reviews:,}",
                f"{week.failed:,}",
                _pct(week.failed / week.reviews if week.reviews else None),
                ", ".join(f"{error} {count:,}" for error, count in top) or "-",
            )
        )
    overall = sorted(quality.errors.items(), key=lambda item: (-item[1], item[0]))
    headers = ("week", "reviews", "failed", "fail", "top errors")
    lines = [
        "",
        _title("Review errors by ISO week", len(trend), len(quality.error_trend)),
        *_table(headers, rows, align="lrrrl"),
    ]
    if overall:
        lines.append("  all weeks: " + ", ".join(f"{e} {n:,}" for e, n in overall[:_TOP]))
    return lines


def _low_quality(ws: WorkspaceReport) -> list[str]:
    low = ws.quality.low_quality
    if not low:
        return []
    worst = sorted(low, key=lambda r: (r.score, -r.at.timestamp(), r.task, r.expert))[:_FEW]
    rows = [
        (
            r.at.strftime("%Y-%m-%d %H:%M"),
            _cut(r.task),
            _cut(r.kind, 12),
            _cut(r.domain, 12),
            r.language,
            _cut(r.expert, 16),
            _cut(r.reviewer, 16),
            f"{r.score:.2f}",
            "pass" if r.passed else "fail",
            _cut(",".join(r.errors), 20) if r.errors else "-",
            _tail(r.ref, 28),
        )
        for r in worst
    ]
    headers = (
        "at",
        "task",
        "kind",
        "domain",
        "lang",
        "expert",
        "reviewer",
        "score",
        "",
        "errors",
        "ref",
    )
    title = _title(
        f"Low quality, worst first (score < {ws.quality.low_score:g} or failed)",
        len(rows),
        len(low),
    )
    return ["", title, *_table(headers, rows, align="lllllllrlll")]


def _rejections(ws: WorkspaceReport) -> list[str]:
    reasons = sorted(ws.events.rejected_by_reason.items(), key=lambda item: (-item[1], item[0]))
    if not reasons:
        return []
    rows = [(f"{count:,}", reason) for reason, count in reasons[:_FEW]]
    return [
        "",
        _title("Rejected events by reason", len(rows), len(reasons)),
        *_table(("count", "reason"), rows, align="rl"),
    ]
