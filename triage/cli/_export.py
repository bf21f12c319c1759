"""``triage export``: low-quality examples, tasks and experts as CSV or JSON Lines."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import click
import msgspec

from ..embedded import Journal
from ._options import log_option
from ._progress import progress_bar

__all__ = ["COLUMNS", "export"]

#: The columns of each export, in order (docs/cli.md).
COLUMNS: Final = {
    "low-quality": (
        "workspace",
        "task",
        "kind",
        "domain",
        "language",
        "expert",
        "reviewer",
        "score",
        "passed",
        "errors",
        "at",
        "ref",
    ),
    "tasks": (
        "workspace",
        "task",
        "kind",
        "domain",
        "language",
        "minutes",
        "priority",
        "judgements",
        "state",
        "submitted",
        "assignments",
        "created",
        "first_assigned",
        "wait_seconds",
        "ended",
        "ref",
    ),
    "experts": (
        "workspace",
        "expert",
        "status",
        "removed",
        "education",
        "weekly_hours",
        "concurrency",
        "domains",
        "languages",
        "open",
        "assigned",
        "submitted",
        "declined",
        "handled_seconds",
        "reviews",
        "passed",
        "mean_score",
        "assigned_hours_week",
        "utilization_week",
    ),
}


def _rows(what: str, log_path: Path) -> Iterator[dict[str, Any]]:
    from ._visibility import fold_log

    with (
        Journal(log_path, readonly=True) as journal,
        progress_bar("folding", journal.last()) as progress,
    ):
        folded = fold_log(journal, progress)
    for name, ws in folded.report.workspaces.items():
        if what == "low-quality":
            for x in ws.quality.low_quality:
                yield {"workspace": name, **msgspec.to_builtins(x)}
        elif what == "tasks":
            for row in folded.views.tasks(name):
                yield {"workspace": name, **msgspec.to_builtins(row)}
        else:
            loads = ws.utilization.by_expert
            for expert in folded.views.experts(name):
                load = loads.get(expert.expert)
                record = msgspec.to_builtins(expert)
                record["open"] = len(record.pop("open_tasks"))
                yield {
                    "workspace": name,
                    **record,
                    "assigned_hours_week": load.assigned_hours if load else None,
                    "utilization_week": load.utilization if load else None,
                }


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return ";".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


@click.command()
@click.argument("what", type=click.Choice(sorted(COLUMNS)))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default="csv",
    show_default=True,
    help="CSV with a header row, or one JSON object a line.",
)
@log_option()
def export(what: str, fmt: str, log_path: Path) -> None:
    """Print WHAT (low-quality examples, tasks or experts) of the log as CSV or JSON Lines.

    Task content is never in the log: a row carries the client's `ref` only.
    Columns: docs/cli.md.
    """
    columns = COLUMNS[what]
    out = sys.stdout
    if fmt == "jsonl":
        encoder = msgspec.json.Encoder()
        for row in _rows(what, log_path):
            out.write(encoder.encode({c: row.get(c) for c in columns}).decode() + "\n")
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in _rows(what, log_path):
        writer.writerow([_cell(row.get(c)) for c in columns])
        if buffer.tell() > 1 << 16:
            out.write(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue())
