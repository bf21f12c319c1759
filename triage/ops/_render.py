"""Replay and what-if results as text for people; programs take the Structs as JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ._outcome import Estimate
from ._replay import ReplayResult
from ._whatif import WhatIf

__all__ = ["render_replay", "render_whatif"]


def render_replay(result: ReplayResult, *, source: str) -> str:
    """What a replay checked and whether every decision came out again."""
    span = (
        f"{result.first_at.isoformat()} .. {result.last_at.isoformat()}"
        if result.first_at is not None and result.last_at is not None
        else "nothing"
    )
    policies = ", ".join(f"{name!r} from position {pos}" for pos, name in result.policies)
    lines = [
        f"replayed {result.inputs:,} inputs of {source} ({span})",
        f"policies: {policies or 'none used'}",
    ]
    found = result.divergence
    if found is None:
        lines.append(f"identical: all {result.outputs:,} recorded outputs came out again")
        return "\n".join(lines)
    lines += [
        f"DIVERGED at position {found.position}: input {found.input_id!r} "
        f"({found.input_type}, workspace {found.workspace!r}, at {found.at.isoformat()}), "
        f"output {found.output}" + (f", field {found.field!r}" if found.field else ""),
        f"  recorded: {found.recorded if found.recorded is not None else '(none)'}",
        f"  replayed: {found.replayed if found.replayed is not None else '(none)'}",
        f"the {result.inputs:,} inputs before it ({result.outputs:,} outputs) were identical",
    ]
    return "\n".join(lines)


_MINUTES_FROM: Final = 120  # seconds; below, a duration shows in seconds
_HOURS_FROM: Final = 7_200


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < _MINUTES_FROM:
        return f"{value:.0f}s"
    if value < _HOURS_FROM:
        return f"{value / 60:.1f}m"
    return f"{value / 3600:.1f}h"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


_ROWS: Final[tuple[tuple[str, str, Callable[[float | None], str]], ...]] = (
    ("tasks created", "tasks", _count),
    ("wait to first assignment p50", "wait_p50_seconds", _seconds),
    ("wait to first assignment p90", "wait_p90_seconds", _seconds),
    ("tasks ever assigned", "first_assigned", _count),
    ("still queued at the end", "queued", _count),
    ("unroutable at the end", "unroutable", _count),
    ("assignments", "assignments", _count),
    ("declined", "declines", _count),
    ("leases expired", "expired", _count),
    ("submissions", "submissions", _count),
    ("AHT (mean handling time)", "aht_seconds", _seconds),
    ("utilization (assigned / contracted)", "utilization", _ratio),
    ("fairness: Gini of assigned hours", "gini_hours", _number),
    ("over-qualification (0 = exact fit)", "overqualification", _number),
    ("expected review score", "expected_score", _number),
    ("expected pass rate", "expected_pass_rate", _ratio),
    ("reviews", "reviews", _count),
    ("review score (sampled)", "mean_score", _number),
    ("pass rate (sampled)", "pass_rate", _ratio),
)


def _table(columns: list[Estimate]) -> list[str]:
    header = ["", *(column.label for column in columns)]
    rows = [header, ["policy", *(column.policy for column in columns)]]
    for label, field, show in _ROWS:
        rows.append([label, *(show(getattr(column, field)) for column in columns)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


def render_whatif(result: WhatIf, *, source: str) -> str:
    """The side-by-side table per workspace, the calibration and the assumptions."""
    lines = [
        f"what-if on {source}: {result.inputs:,} recorded inputs, {result.arrivals:,} "
        f"replayed as arrivals, the work re-synthesized (seed {result.seed})",
    ]
    for ws, columns in result.workspaces.items():
        lines += ["", f"workspace {ws}", *_table(columns)]
        calibration = result.calibration.get(ws)
        if calibration:
            lines += ["", "calibration: the recorded policy re-synthesized against what happened"]
            for row in calibration:
                show = _ratio if row.figure == "pass_rate" else _seconds
                error = "-" if row.error is None else f"{row.error * 100:+.1f}%"
                lines.append(
                    f"  {row.figure.removesuffix('_seconds'):<10} recorded {show(row.recorded):>8}"
                    f"  re-synthesized {show(row.resynthesized):>8}  ({error})"
                )
    lines += ["", "assumptions:", *(f"- {text}" for text in result.assumptions)]
    return "\n".join(lines)
