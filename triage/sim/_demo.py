"""``triage demo``: a simulated month routed through the real engine and log.

The simulation (``_simulation``) plays the upstream systems, the workforce
and the annotation tools; every event it makes is applied by the engine and
written, with its decisions, to the embedded log in batches. The report at
the end is folded from the log, not from the simulation's memory, so what
it shows is what a replay of the log shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from events import ConfigError, InputEvent, OutputEvent
from projections import Report
from router import Engine, Policy

from .._policy_file import encode_policy
from ..embedded import Journal, WriterLock, report_of
from ._scenario import Scenario, SimulationSummary
from ._simulation import simulate

__all__ = ["DemoRun", "run_demo"]

_DEMO_MARK = "demo"


class _Recorder:
    """Applies each event at once and writes inputs with their outputs in batches."""

    def __init__(self, journal: Journal, engine: Engine, batch: int = 5_000) -> None:
        self.journal = journal
        self.engine = engine
        self.batch = batch
        self.pending: list[tuple[InputEvent, Sequence[OutputEvent]]] = []
        self.position = journal.processed()
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
        self.position = self.journal.commit(self.pending, after=self.position)
        self.pending.clear()


def _fresh_log(path: Path, force: bool) -> Journal:
    if path.exists():
        if not force and path.stat().st_size > 0:
            with Journal(path, readonly=True) as old:
                replaceable = old.meta(_DEMO_MARK) is not None or old.last() == 0
            if not replaceable:
                raise ConfigError(
                    f"{path} holds a log that is not a demo; choose another --log or pass --force"
                )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return Journal(path, check=False)


class DemoRun(msgspec.Struct, frozen=True, kw_only=True):
    """What a demo did: the report folded from its log, and its sizes."""

    report: Report
    inputs: int  # input events simulated
    outputs: int  # decisions the engine made
    seconds: float  # wall time of the simulation, routing and writing included
    counts: dict[str, int]  # sizes of the log (Journal.counts)
    summary: SimulationSummary


def run_demo(
    scenario: Scenario,
    *,
    log_path: Path,
    policy: Policy,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> DemoRun:
    """Simulate ``scenario`` into a fresh log at ``log_path``, then fold its report.

    A log at ``log_path`` is replaced only if it holds a demo or nothing,
    or with ``force``. ``progress(done, total)`` is called as simulated
    time passes.
    """
    started = time.perf_counter()
    with WriterLock(log_path, "triage demo"), _fresh_log(log_path, force) as journal:
        journal.set_meta(_DEMO_MARK, msgspec.json.encode(scenario).decode())
        journal.set_policy(encode_policy(policy))
        recorder = _Recorder(journal, Engine(policy))
        summary = simulate(scenario, recorder, progress or (lambda done, total: None))
        recorder.flush()
        seconds = time.perf_counter() - started
        return DemoRun(
            report=report_of(journal),
            inputs=recorder.inputs,
            outputs=recorder.outputs,
            seconds=seconds,
            counts=journal.counts(),
            summary=summary,
        )
