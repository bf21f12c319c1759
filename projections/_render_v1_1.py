"""The v1.1 sections of the text report: requirement steps, adaptive overlap, quality gates.

Each is shown only for a workspace that uses it, so a v1.0 report reads as
before; ``_render`` places them after the pools.
"""

from __future__ import annotations

from ._model import WorkspaceReport
from ._text import cut as _cut
from ._text import dur as _dur
from ._text import score_of as _score
from ._text import table as _table

__all__ = ["gates_lines", "overlap_lines", "steps_lines"]


def steps_lines(ws: WorkspaceReport) -> list[str]:
    steps = ws.steps
    if not steps.tasks:
        return []
    rows = [
        (
            "as created" if row.step == 0 else f"step {row.step}",
            f"{row.reached:,}",
            _dur(row.time_to_reach.p50_seconds),
            _dur(row.time_to_reach.p90_seconds),
            f"{row.served:,}",
            f"{row.assignments:,}",
        )
        for row in steps.by_step
    ]
    headers = ("step", "reached", "p50 to reach", "p90", "served", "assignments")
    title = (
        f"Requirement steps ({steps.tasks:,} tasks with steps, {steps.escalations:,} escalations)"
    )
    return ["", title, *_table(headers, rows)]


def overlap_lines(ws: WorkspaceReport) -> list[str]:
    overlap = ws.overlap
    if not overlap.tasks:
        return []
    rows = [
        (
            f"{label} {_cut(key)}",
            f"{tally.completed:,}",
            _score(tally.mean_share),
            f"{tally.extensions:,}",
            f"{tally.without_agreement:,}",
        )
        for label, groups in (("kind", overlap.by_kind), ("domain", overlap.by_domain))
        for key, tally in groups.items()
    ]
    headers = ("", "completed", "mean share", "extensions", "no agreement")
    title = (
        f"Adaptive overlap ({overlap.tasks:,} tasks; {overlap.completed:,} completed, mean "
        f"share {_score(overlap.mean_share)}, {overlap.extensions:,} extensions, "
        f"{overlap.without_agreement:,} completed without agreement)"
    )
    return ["", title, *_table(headers, rows)]


def gates_lines(ws: WorkspaceReport) -> list[str]:
    gates = ws.gates
    if not gates.gated:
        return []
    rows = [
        (_cut(domain), f"{gap.gated:,}", f"{gap.no_available:,}", f"{gap.no_qualified:,}")
        for domain, gap in gates.by_domain.items()
    ]
    headers = ("domain", "gated queued", "none available", "none qualified")
    title = (
        f"Quality gates: {gates.gated:,} gated tasks queued, {gates.no_available:,} with no "
        f"qualified expert available, {gates.no_qualified:,} with none at all"
    )
    return ["", title, *_table(headers, rows)]
