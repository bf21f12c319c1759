"""``triage why TASK``: a task's history and every routing decision about it, explained."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import msgspec

from ..ops import Question, find_task, render_why, why
from ._history import open_source
from ._options import history_broker_options, history_policy_option, json_option, log_option
from ._progress import progress_bar

__all__ = ["why_command"]


@click.command("why")
@click.argument("task")
@click.option("--expert", metavar="EXPERT", help="Why did EXPERT not get it, at each decision.")
@click.option(
    "--workspace",
    metavar="ID",
    help="The task's workspace, when its id is used in more than one.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1, max=1000),
    default=5,
    show_default=True,
    help="How many of the best candidates each decision lists.",
)
@history_policy_option
@json_option
@log_option()
@history_broker_options
def why_command(
    task: str,
    expert: str | None,
    workspace: str | None,
    top: int,
    policy_path: Path | None,
    as_json: bool,
    log_path: Path,
    **options: Any,
) -> None:
    """Explain how TASK was routed: its history, then each decision taken apart.

    For each assignment (and each moment the task waited with nobody to take
    it): how many experts each requirement removed, in order (domain level,
    language, education, status, concurrency, weekly hours, exclusions,
    parent, already tried, allow-list, quality gate), the score parts of the
    best candidates with the policy's weights, the tie-break and the policy in
    force. Recomputed by replaying the history up to the task's last event
    in a fresh engine; the live log and topics are only read.
    """
    question = Question(task=task, workspace=workspace, expert=expert, top=top)
    with open_source(log_path, options, policy_path) as source:
        with progress_bar("finding the task", source.total) as progress:
            trail = find_task(
                source.entries(),
                question,
                progress=lambda position: progress(position, source.total),
            )
        end = trail.settled if trail.settled is not None else source.total
        with progress_bar("replaying", end) as progress:
            result = why(
                source.entries(),
                source.epochs,
                trail,
                progress=lambda position: progress(position, end),
            )
    notes = source.policy_notes()
    if as_json:
        # The history's events are embedded as recorded (msgspec.Raw), which
        # only the encoder writes: the two fields of the shell go in front.
        head = msgspec.json.encode({"source": source.name, "notes": notes})
        sys.stdout.buffer.write(head[:-1] + b"," + msgspec.json.encode(result)[1:] + b"\n")
    else:
        click.echo(render_why(result, source=source.name))
        for note in notes:
            click.echo(f"note: {note}")
