"""``triage demo``: a simulated month routed through the real engine and log.

The simulation (``_simulation``) plays the upstream systems, the workforce
and the annotation tools; every event it makes is applied by the engine and
written, with its decisions, to the embedded log in batches. The report at
the end is folded from the log, not from the simulation's memory, so what
it shows is what a replay of the log shows.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import click
import msgspec
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from events import ConfigError, InputEvent, OutputEvent
from router import Engine, Policy

from ._embedded import encode_policy
from ._journal import Journal

__all__ = ["run_demo"]

_DEMO_MARK = "demo"


class _Recorder:
    """Applies each event at once and writes inputs with their outputs in batches."""

    def __init__(self, journal: Journal, engine: Engine, batch: int = 5_000) -> None:
        self.journal = journal
        self.engine = engine
        self.batch = batch
        self.pending: list[tuple[InputEvent, Sequence[OutputEvent]]] = []
        self.inputs = 0
        self.outputs = 0

    def __call__(self, event: InputEvent) -> Sequence[OutputEvent]:
        outputs = self.engine.apply(event)
        self.pending.append((event, outputs))
        self.inputs += 1
        self.outputs += len(outputs)
        if len(self.pending) >= self.batch:
            self.flush()
        return outputs

    def flush(self) -> None:
        self.journal.commit(self.pending)
        self.pending.clear()


def _fresh_log(path: Path, force: bool) -> Journal:
    if path.exists():
        with Journal(path) as old:
            replaceable = old.meta(_DEMO_MARK) is not None or old.last() == 0
        if not (replaceable or force):
            raise ConfigError(
                f"{path} holds a log that is not a demo; choose another --log or pass --force"
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return Journal(path)


def run_demo(
    *,
    log_path: Path,
    seed: int,
    experts: int,
    days: int,
    force: bool,
    quiet: bool,
    policy: Policy,
) -> None:
    """Run the demo into a fresh log at ``log_path`` and print the report."""
    from projections import render_text

    from ._cli import build_report
    from ._simulation import Scenario, simulate

    scenario = Scenario(seed=seed, experts=experts, days=days)
    started = time.perf_counter()
    with _fresh_log(log_path, force) as journal:
        journal.set_meta(_DEMO_MARK, msgspec.json.encode(scenario).decode())
        journal.set_policy(encode_policy(policy))
        recorder = _Recorder(journal, Engine(policy))
        with Progress(
            TextColumn("[bold]simulating[/] {task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            disable=quiet,
            transient=False,
        ) as bar:
            job = bar.add_task(f"{experts} experts, {days} days", total=1)

            def progress(done: int, total: int) -> None:
                bar.update(job, completed=done, total=total)

            summary = simulate(scenario, recorder, progress)
        recorder.flush()
        simulated = time.perf_counter() - started
        built = build_report(journal)
        counts = journal.counts()
    if quiet:
        return
    click.echo(render_text(built))
    click.echo(
        f"\n{recorder.inputs:,} input events, {recorder.outputs:,} decisions in "
        f"{simulated:.1f}s ({recorder.inputs / max(simulated, 1e-9):,.0f} events/s, simulation "
        f"included); log {log_path} holds {counts['inputs']:,} inputs and "
        f"{counts['outputs']:,} outputs."
    )
    click.echo(f"Replay it: triage dump --log {log_path} | head; triage report --log {log_path}")
    del summary
