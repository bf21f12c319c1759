"""Throughput and memory of the routing core at scale.

    python bench/bench_core.py [--experts 100000] [--tasks 1000000] [--events 200000]
    python bench/bench_core.py --experts 1000000 --tasks 10000000 --memory-sample 100000 --snapshot

A single workspace with E experts (4 domains x 10 languages, 1-2 domains
and 1-2 languages each, 20 h a week, concurrency 1-2) and Q tasks queued
behind them: every expert is busy, so each submission frees an expert who
must find the first queued task it can take among a million. The measured
stream is the steady state of such a workspace: 40% submissions, 35% new
tasks, 10% presence changes (away and back), 5% declines, 5% reviews and
5% clock ticks. Only the time spent inside ``Engine.apply`` is counted.
The workspace clock moves 0.6 s per 100 events: 100,000 experts handing in
25-minute tasks submit about 67 times a second, 40% of the stream.

Beside it, in the same run, the msgspec decode + encode rate of the same
events (the floor any Python consumer pays per event), and memory per
expert and per queued task measured with tracemalloc on separate engines
(``--memory-sample N``: on N experts and 10 N tasks instead of the full
sizes, which tracemalloc would take very long to trace) and the process's
peak resident memory.

``--snapshot`` also saves the whole engine as a snapshot (the one the
embedded log keeps), writes it to a file, and times reading it back and
restoring an engine from it: recovery from a snapshot with nothing to fold
after it. ``--check N`` then runs N more events through the restored and
the original engine and checks that their outputs are byte-identical.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The tree's sources unless PYTHONPATH already names the tree: then PYTHONPATH's order
# holds, and `PYTHONPATH=build/compiled:.` runs the compiled core (tools/compile_core.py).
if not any(Path(entry or ".").resolve() == ROOT for entry in sys.path):
    sys.path.insert(0, str(ROOT))

import router._engine
from events import (
    ClockTick,
    ExpertProfile,
    ExpertStatus,
    InputEvent,
    OutputEvent,
    TaskAssigned,
    TaskCreated,
    TaskDeclined,
    TaskReviewed,
    TaskSubmitted,
    decode_input,
    encode,
)
from router import Engine, restore, snapshot

DOMAINS = ["general", "business", "humanities", "stem"]
LANGUAGES = ["en", "fr", "de", "hi", "id", "it", "pt", "es", "th", "vi"]
KINDS = [
    ("write", 45),
    ("rate", 10),
    ("edit", 25),
    ("fact_check", 20),
    ("red_team", 30),
    ("audit", 15),
]
START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
#: Wall time, or the thread's CPU time (``--clock cpu``: on a loaded machine, without
#: the waits for a core, which fall on the core and the msgspec round trip unevenly).
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
CLOCK = ["wall"]
WS = "bench"


class Workload:
    """Deterministic events for one big workspace."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = 0
        self.at = START

    def _id(self) -> str:
        self.n += 1
        return f"e{self.n}"

    def profile(self, i: int) -> ExpertProfile:
        r = self.rng
        domains = {d: r.randint(2, 5) for d in r.sample(DOMAINS, r.choice([1, 1, 2]))}
        languages = {
            lang: r.choice(["native", "C2"]) for lang in r.sample(LANGUAGES, r.choice([1, 2]))
        }
        return ExpertProfile(
            self._id(),
            self.at,
            WS,
            expert=f"x{i:06d}",
            domains=domains,
            languages=languages,
            education=r.choice(["bachelor", "master", "master", "doctorate"]),
            weekly_hours=20.0,
            concurrency=r.choice([1, 1, 1, 2]),
        )

    def task(self, i: int) -> TaskCreated:
        r = self.rng
        kind, minutes = r.choice(KINDS)
        return TaskCreated(
            self._id(),
            self.at,
            WS,
            task=f"t{i:07d}",
            kind=kind,
            domain=r.choice(DOMAINS),
            language=r.choice(LANGUAGES),
            minutes=minutes,
            skill=r.randint(1, 3),
            education=r.choice(["none", "bachelor", "bachelor", "master"]),
            priority=r.choice([0] * 18 + [50, 90]),
            judgements=1 if kind != "rate" else 2,
        )


def build(engine: Engine, load: Workload, experts: int, queued: int) -> deque[tuple[str, str]]:
    """Fill the workspace; return the open assignments, oldest first."""
    holders: deque[tuple[str, str]] = deque()

    def feed(event: InputEvent) -> None:
        for out in engine.apply(event):
            if isinstance(out, TaskAssigned):
                holders.append((out.task, out.expert))

    for i in range(experts):
        feed(load.profile(i))
    # Tasks first, then presence: each expert arriving takes the first task it
    # can. (Tasks arriving to 100,000 idle experts would each score thousands.)
    for i in range(queued):
        feed(load.task(i))
    for i in range(experts):
        feed(ExpertStatus(load._id(), load.at, WS, expert=f"x{i:06d}", status="available"))
    return holders


def steady(
    load: Workload,
    holders: deque[tuple[str, str]],
    count: int,
    first_task: int,
    experts: int,
) -> Iterator[InputEvent]:
    """The steady-state mix, event by event; the caller appends each new assignment to holders."""
    r = load.rng
    next_task = first_task
    submitted: deque[tuple[str, str]] = deque(maxlen=10_000)
    away: deque[str] = deque()
    for n in range(count):
        if n % 100 == 0:
            load.at += timedelta(seconds=0.6)
        roll = r.random()
        event: InputEvent
        if roll < 0.40 and holders:
            task, expert = holders.popleft()
            event = TaskSubmitted(
                load._id(), load.at, WS, task=task, expert=expert, seconds=r.randint(60, 3600)
            )
            submitted.append((task, expert))
        elif roll < 0.75:
            event = load.task(next_task)
            next_task += 1
        elif roll < 0.85:
            if away and (roll < 0.80 or len(away) > 500):
                event = ExpertStatus(
                    load._id(), load.at, WS, expert=away.popleft(), status="available"
                )
            else:
                name = f"x{r.randrange(experts):06d}"
                away.append(name)
                event = ExpertStatus(load._id(), load.at, WS, expert=name, status="away")
        elif roll < 0.90 and holders:
            task, expert = holders.popleft()
            event = TaskDeclined(load._id(), load.at, WS, task=task, expert=expert)
        elif roll < 0.95 and submitted:
            task, expert = submitted.popleft()
            score = round(r.random(), 2)
            event = TaskReviewed(
                load._id(),
                load.at,
                WS,
                task=task,
                expert=expert,
                reviewer="qa",
                score=score,
                passed=score >= 0.7,
            )
        else:
            event = ClockTick(load._id(), load.at, WS)
        yield event


def measure(
    engine: Engine,
    load: Workload,
    holders: deque[tuple[str, str]],
    count: int,
    first_task: int,
    experts: int,
) -> tuple[float, list[bytes]]:
    """Run the steady-state mix; return seconds inside apply and the events as JSON."""
    spent = 0.0
    sample: list[bytes] = []
    apply = engine.apply
    clock = CLOCKS[CLOCK[0]]
    for event in steady(load, holders, count, first_task, experts):
        if len(sample) < 200_000:
            sample.append(encode(event))
        started = clock()
        outputs = apply(event)
        spent += clock() - started
        for out in outputs:
            if isinstance(out, TaskAssigned):
                holders.append((out.task, out.expert))
    return spent, sample


def codec_rate(sample: list[bytes]) -> float:
    """Events per second for msgspec decode + encode of the same events."""
    clock = CLOCKS[CLOCK[0]]
    started = clock()
    for raw in sample:
        encode(decode_input(raw))
    return len(sample) / (clock() - started)


def peak_rss() -> int:
    """The process's peak resident set size so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def recover(
    box: list[Engine], load: Workload, holders: deque[tuple[str, str]], args: argparse.Namespace
) -> dict[str, object]:
    """Snapshot the engine to a file, restore it, and check a continuation if asked.

    The engine comes in ``box`` so that, with no check to make, the original
    can be dropped before the restore, as a restarted process would have it.
    """
    engine = box.pop()
    started = time.perf_counter()
    blob = snapshot(engine)
    saved = time.perf_counter() - started
    if not args.check:
        del engine
    with tempfile.NamedTemporaryFile(prefix="triage-bench-", suffix=".snapshot") as file:
        file.write(blob)
        file.flush()
        os.fsync(file.fileno())
        size = len(blob)
        del blob
        gc.collect()
        started = time.perf_counter()
        restored = restore(Path(file.name).read_bytes())
        restored_in = time.perf_counter() - started
    figures: dict[str, object] = {
        "snapshot_bytes": size,
        "snapshot_seconds": round(saved, 2),
        "restore_seconds": round(restored_in, 2),
    }
    if args.check:
        figures["continuation_identical"] = same_continuation(
            engine, restored, load, holders, args.check, args.experts
        )
    return figures


def same_continuation(
    engine: Engine,
    restored: Engine,
    load: Workload,
    holders: deque[tuple[str, str]],
    count: int,
    experts: int,
) -> bool:
    """Whether both engines give byte-identical outputs for the same next events."""
    recorded: list[tuple[InputEvent, list[bytes]]] = []
    original = engine.apply

    def recording(event: InputEvent) -> list[OutputEvent]:
        outputs = original(event)
        recorded.append((event, [encode(out) for out in outputs]))
        return outputs

    engine.apply = recording  # type: ignore[method-assign]
    try:
        measure(engine, load, holders, count, 10**9, experts)
    finally:
        del engine.apply
    return all(
        [encode(out) for out in restored.apply(event)] == outputs for event, outputs in recorded
    )


def memory(experts: int, queued: int, seed: int) -> tuple[float, float]:
    """Bytes per expert and per queued task, by tracemalloc on fresh engines."""
    gc.collect()
    tracemalloc.start()
    engine = Engine()
    load = Workload(seed)
    before = tracemalloc.get_traced_memory()[0]
    events = [load.profile(i) for i in range(experts)]
    for event in events:
        engine.apply(event)
    del events
    gc.collect()
    per_expert = (tracemalloc.get_traced_memory()[0] - before) / experts
    before = tracemalloc.get_traced_memory()[0]
    tasks = [load.task(i) for i in range(queued)]  # nobody is available: all stay queued
    for task in tasks:
        engine.apply(task)
    del tasks
    gc.collect()
    per_task = (tracemalloc.get_traced_memory()[0] - before) / queued
    tracemalloc.stop()
    return per_expert, per_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experts", type=int, default=100_000)
    parser.add_argument("--tasks", "--queued", dest="queued", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--memory-sample",
        type=int,
        default=0,
        help="experts for the memory probe (tasks x10); default: the full sizes",
    )
    parser.add_argument("--snapshot", action="store_true", help="time a snapshot and its restore")
    parser.add_argument(
        "--check", type=int, default=0, help="with --snapshot: compare N more events' outputs"
    )
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    args = parser.parse_args()
    CLOCK[0] = args.clock

    engine = Engine()
    load = Workload(args.seed)
    started = time.perf_counter()
    holders = build(engine, load, args.experts, args.queued)
    setup = time.perf_counter() - started
    gc.freeze()  # the state is long-lived: keep the cyclic collector off it
    ws = engine.workspaces[WS]
    queued_now = sum(pool.queued for pool in ws.pools.values())
    spent, sample = measure(engine, load, holders, args.events, args.queued, args.experts)
    core_rate = args.events / spent
    codec = codec_rate(sample)
    recovery: dict[str, object] = {}
    if args.snapshot:
        box = [engine]
        del engine, ws
        recovery = recover(box, load, holders, args)
    probe = args.memory_sample or args.experts
    per_expert, per_task = memory(
        probe, probe * 10 if args.memory_sample else args.queued, args.seed
    )
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "clock": args.clock,
        "core": "compiled" if router._engine.__file__.endswith(".so") else "pure Python",
        "experts": args.experts,
        "queued_at_start": queued_now,
        "setup_seconds": round(setup, 1),
        "setup_events_per_s": round((2 * args.experts + args.queued) / setup),
        "measured_events": args.events,
        "core_events_per_s": round(core_rate),
        "msgspec_roundtrip_events_per_s": round(codec),
        "core_vs_roundtrip": round(core_rate / codec, 3),
        "bytes_per_expert": round(per_expert),
        "bytes_per_queued_task": round(per_task),
        "peak_rss_bytes": peak_rss(),
        **recovery,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
