"""``triage demo``: a simulated month routed through the real engine and log."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from projections import render_text

from .._policy_file import load_policy
from ..sim import Scenario, run_demo
from ._options import log_option, policy_option

__all__ = ["demo"]


@click.command()
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the simulation.")
@click.option("--experts", type=click.IntRange(min=1), default=285, show_default=True)
@click.option("--days", type=click.IntRange(min=1, max=366), default=28, show_default=True)
@click.option(
    "--v1-only",
    is_flag=True,
    help="Publish v1 tasks only: no steps, gates, named experts or adaptive overlap.",
)
@click.option("--force", is_flag=True, help="Replace a log at --log that does not hold a demo.")
@click.option("--quiet", is_flag=True, help="No progress bar and no report.")
@policy_option
@log_option(default="triage-demo.db")
def demo(
    seed: int,
    experts: int,
    days: int,
    v1_only: bool,
    force: bool,
    quiet: bool,
    policy_path: Path | None,
    log_path: Path,
) -> None:
    """Simulate a month of an LLM fine-tuning project and route it, then report.

    285 experts in ten languages and four domains write, rate, edit,
    fact-check, red-team and audit; they go away and come back, decline, and
    now and then let a lease run out. The client uses contract v1.1: quality
    gates on red-teaming and audits, adaptive overlap on ratings, revisions
    offered to the writer first, thin pools widened after a wait (--v1-only:
    the same world with v1 tasks). Every event goes through the same engine
    and log as production; replay it with `triage dump --log PATH`.
    """
    scenario = Scenario(seed=seed, experts=experts, days=days, v1_1=not v1_only)
    policy = load_policy(policy_path)
    with Progress(
        TextColumn("[bold]simulating[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=Console(stderr=True),  # stdout carries the report only
        disable=quiet,
        transient=False,
    ) as bar:
        job = bar.add_task(f"{experts} experts, {days} days", total=1)

        def progress(done: int, total: int) -> None:
            bar.update(job, completed=done, total=total)

        result = run_demo(
            scenario, log_path=log_path, policy=policy, force=force, progress=progress
        )
    if quiet:
        return
    counts = result.counts
    click.echo(render_text(result.report))
    click.echo(
        f"\n{result.inputs:,} input events, {result.outputs:,} decisions in "
        f"{result.seconds:.1f}s ({result.inputs / max(result.seconds, 1e-9):,.0f} events/s, "
        f"simulation included); log {log_path} holds {counts['inputs']:,} inputs and "
        f"{counts['outputs']:,} outputs."
    )
    click.echo(f"Replay it: triage dump --log {log_path} | head; triage report --log {log_path}")
