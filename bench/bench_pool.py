"""Tasks arriving into one pool of many idle experts: the scan against the idle index.

    python bench/bench_pool.py [--sizes 1000 10000 100000] [--tasks 5000] [--scan-tasks 1000]
                               [--policy learned|balanced] [--clock wall|cpu]

One workspace, N expert profiles in one domain and one language, all
available (levels, education, weekly hours and concurrency drawn with a
fixed seed, so the pool holds a few dozen classes), then tasks arriving one
by one through ``Engine.apply``, ten a second (no lease runs out), each
taken at once by the best-scored idle expert. Only the time inside
``apply`` counts, and the first task is timed apart: it builds the pool's
index. For each N the same stream runs twice in the same process: with the
idle index (the engine as it is) and with the full scan of every idle
expert (``router._index.INDEX_FROM`` out of reach: the reference path); the
outputs of the two runs must be the same bytes. The scan runs fewer tasks
at the larger sizes, as each costs a pass over the pool; the rate is per
task either way.

The policy is the default (learned: the pool's index keeps an order by the
steady part per facet, see ``router._index``; with no reviews in the stream
the four kinds that review nothing use the order of the domain record and
"audit" the one with the agreement, both built with the index by the first
task) or, with ``--policy balanced``, the policy of old logs (one order).
The rate is also given without the first task of each kind, which would
pay for an order made on demand (here none is). ``--clock cpu`` counts the thread's CPU time
instead of wall time (as ``bench_core.py`` does): on a loaded machine it
leaves out the waits for a core. Either way the index's rate is also given
by the other clock, measured over the same calls. ``--scan-tasks 0`` skips
the scan, and with it the comparison of the outputs.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The tree's sources unless PYTHONPATH already names the tree: then PYTHONPATH's order
# holds, and `PYTHONPATH=build/compiled:.` runs the compiled core (as in bench_core.py).
if not any(Path(entry or ".").resolve() == ROOT for entry in sys.path):
    sys.path.insert(0, str(ROOT))

import router._index
from events import ExpertProfile, ExpertStatus, TaskCreated, encode
from router import BALANCED, DEFAULT_POLICY, Engine, Policy

START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
WS = "bench"
#: Wall time, or the thread's CPU time (``--clock cpu``).
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
KINDS = [("write", 45), ("rate", 10), ("edit", 25), ("fact_check", 20), ("audit", 15)]


def fill(engine: Engine, size: int, seed: int) -> datetime:
    """N profiles in stem and English, all available; return the clock after them."""
    r = random.Random(seed)
    at = START
    for i in range(size):
        name = f"x{i:06d}"
        engine.apply(
            ExpertProfile(
                f"p{i}",
                at,
                WS,
                expert=name,
                domains={"stem": r.randint(2, 5)},
                languages={"en": r.choice(["C1", "C2", "native"])},
                education=r.choice(["bachelor", "master", "master", "doctorate"]),
                weekly_hours=r.choice([10.0, 20.0, 20.0, 40.0]),
                concurrency=r.choice([1, 1, 1, 2]),
            )
        )
        engine.apply(ExpertStatus(f"s{i}", at, WS, expert=name, status="available"))
    return at


def tasks(count: int, at: datetime, seed: int) -> list[TaskCreated]:
    r = random.Random(seed + 1)
    out = []
    for i in range(count):
        at += timedelta(milliseconds=100)
        kind, minutes = r.choice(KINDS)
        out.append(
            TaskCreated(
                f"t{i}",
                at,
                WS,
                task=f"t{i:07d}",
                kind=kind,
                domain="stem",
                language="en",
                minutes=minutes,
                skill=r.randint(1, 3),
                education=r.choice(["none", "bachelor", "bachelor", "master"]),
                priority=r.choice([0] * 18 + [50, 90]),
            )
        )
    return out


def run(
    size: int,
    count: int,
    seed: int,
    *,
    scan: bool,
    policy: Policy = DEFAULT_POLICY,
    clock_name: str = "wall",
) -> tuple[float, float, float, float, list[bytes]]:
    """Tasks per second into a pool of ``size`` idle experts after the first, the same
    without the first task of each kind, the first's seconds (all by ``clock_name``),
    the first rate by the other clock (wall or CPU), and the outputs."""
    saved = router._index.INDEX_FROM
    router._index.INDEX_FROM = 2**62 if scan else saved
    other_name = "wall" if clock_name == "cpu" else "cpu"
    try:
        engine = Engine(policy)
        at = fill(engine, size, seed)
        stream = tasks(count, at, seed)
        gc.collect()
        gc.freeze()
        apply = engine.apply
        clock, other = CLOCKS[clock_name], CLOCKS[other_name]
        started = clock()
        outputs = [b"".join(encode(o) + b"\n" for o in apply(stream[0]))]
        first = clock() - started  # the index is built on the first task
        spent = firsts = elsewise = 0.0
        kinds = {stream[0].kind}
        for event in stream[1:]:
            began = other()
            started = clock()
            out = apply(event)
            took = clock() - started
            elsewise += other() - began
            spent += took
            if event.kind not in kinds:  # may build the index of the kind's facet
                kinds.add(event.kind)
                firsts += took
            outputs.append(b"".join(encode(o) + b"\n" for o in out))
        gc.unfreeze()
        later = count - len(kinds)
        rate, rest = (count - 1) / spent, later / (spent - firsts)
        return rate, rest, first, (count - 1) / elsewise, outputs
    finally:
        router._index.INDEX_FROM = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--tasks", type=int, default=5_000, help="tasks per run (index)")
    parser.add_argument(
        "--scan-tasks",
        type=int,
        default=1_000,
        help="tasks per run of the scan, at most; 0: no scan (and no comparison)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy", choices=["learned", "balanced"], default="learned")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    args = parser.parse_args()
    policy = DEFAULT_POLICY if args.policy == "learned" else BALANCED
    other = "wall" if args.clock == "cpu" else "cpu"
    rows = []
    for size in args.sizes:
        count = min(args.tasks, size // 2)
        scan_count = min(count, args.scan_tasks, max(100, 2_000_000 // size))
        indexed, steady, build, elsewise, out_indexed = run(
            size, count, args.seed, scan=False, policy=policy, clock_name=args.clock
        )
        row: dict[str, object] = {
            "idle_experts": size,
            "tasks_indexed": count,
            "index_tasks_per_s": round(indexed),
            f"index_tasks_per_s_by_{other}_clock": round(elsewise),
            "index_tasks_per_s_but_first_of_each_kind": round(steady),
            "first_task_with_index_build_ms": round(build * 1000, 1),
        }
        if args.scan_tasks > 0:
            scanned, _, _, _, out_scanned = run(
                size, scan_count, args.seed, scan=True, policy=policy, clock_name=args.clock
            )
            same = out_indexed[: len(out_scanned)] == out_scanned
            row["tasks_scanned"] = scan_count
            row["scan_tasks_per_s"] = round(scanned)
            row["index_vs_scan"] = round(indexed / scanned, 1)
            row["same_outputs"] = same
            if not same:
                raise SystemExit(f"the index and the scan decided differently at N={size}")
        rows.append(row)
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "policy": policy.name,
        "clock": args.clock,
        "runs": rows,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
