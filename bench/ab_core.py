"""The core's steady state, this checkout against another, by CPU time.

    python bench/ab_core.py OTHER_CHECKOUT [--rounds 2] [--experts 100000] [--queued 1000000]
    python bench/ab_core.py OTHER_CHECKOUT --interleave [--batch 500]

The workload of ``bench_core.py`` (its ``build`` and ``measure``, from this
checkout). By default each round runs in a fresh process per side with the
``router`` and ``events`` of either checkout, the two alternating. Time
inside ``Engine.apply`` is counted as CPU time of the process
(``time.process_time``), not wall time, so that other work on a shared
machine weighs on both sides alike; the figure to read is the ratio.

``--interleave`` loads both cores into one process (each checkout's
``events`` and ``router`` under their own module objects) and feeds them
the same stream in alternating batches of ``--batch`` events, each batch
timed in the thread's CPU time: a load that comes and goes on a shared
machine then falls on both sides alike, within a few milliseconds. The
stream is driven by this checkout's outputs; the other core gets the same
events decoded into its own types, and every output of the two is compared
byte for byte (``identical``). Both workspaces are built in full, so the
process needs the memory of two.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import itertools
import json
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

_RUN = """
import gc, importlib.util, json, sys, time, types
sys.path.insert(0, {root!r})
import events, router  # from the checkout under test, before bench_core adds its own
spec = importlib.util.spec_from_file_location("bench_core", {bench!r})
core = importlib.util.module_from_spec(spec)
spec.loader.exec_module(core)
core.time = types.SimpleNamespace(perf_counter=time.process_time)
engine = router.Engine()
load = core.Workload(1)
holders = core.build(engine, load, {experts}, {queued})
gc.freeze()
spent, _ = core.measure(engine, load, holders, {events}, {queued}, {experts})
print(json.dumps({{"router": router.__file__, "events_per_cpu_s": {events} / spent}}))
"""

_PACKAGES = ("events", "router")


def _load_core(root: Path) -> dict[str, types.ModuleType]:
    """The ``events`` and ``router`` of a checkout, imported and then taken off sys.modules."""
    sys.path.insert(0, str(root))
    try:
        loaded = {name: importlib.import_module(name) for name in _PACKAGES}
    finally:
        sys.path.remove(str(root))
    for name in list(sys.modules):
        if name.split(".")[0] in _PACKAGES:
            del sys.modules[name]
    return loaded


class _Both:
    """Two engines fed the same events, untimed: the fill of both workspaces."""

    def __init__(self, this: Any, other: Any, decode: Callable[[bytes], Any]) -> None:
        self.this, self.other, self.decode = this, other, decode

    def apply(self, event: Any) -> list[Any]:
        from events import encode  # this checkout's, the one bench_core builds events with

        self.other.apply(self.decode(encode(event)))
        return list(self.this.apply(event))


def interleaved(args: argparse.Namespace, other_root: Path) -> dict[str, object]:
    """Both cores in this process, batches alternating; see the module's docstring."""
    other_core = _load_core(other_root)
    sys.path.insert(0, str(HERE.parent))
    import router  # this checkout's
    from events import TaskAssigned, encode

    spec = importlib.util.spec_from_file_location("bench_core", HERE / "bench_core.py")
    assert spec is not None and spec.loader is not None
    core = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(core)
    decode, encode_other = other_core["events"].decode_input, other_core["events"].encode
    engines = {"this": router.Engine(), "other": other_core["router"].Engine()}
    load = core.Workload(1)
    holders = core.build(
        _Both(engines["this"], engines["other"], decode), load, args.experts, args.queued
    )
    gc.freeze()
    # The stream of bench_core.measure, taken a batch at a time: a batch's events do
    # not depend on its own outputs while more open assignments wait than it submits.
    stream = core.steady(load, holders, args.events, args.queued, args.experts)
    spent = {"this": 0, "other": 0}
    identical = True
    clock = time.thread_time_ns
    done = 0
    while batch := list(itertools.islice(stream, args.batch)):
        inputs = {"this": batch, "other": [decode(encode(event)) for event in batch]}
        outputs: dict[str, list[Any]] = {}
        # Each side runs first in every other batch.
        for side in ("this", "other") if done % 2 == 0 else ("other", "this"):
            apply = engines[side].apply
            events = inputs[side]
            started = clock()
            outputs[side] = [apply(event) for event in events]
            spent[side] += clock() - started
        for mine, theirs in zip(outputs["this"], outputs["other"], strict=True):
            if [encode(out) for out in mine] != [encode_other(out) for out in theirs]:
                identical = False
            for out in mine:
                if isinstance(out, TaskAssigned):
                    holders.append((out.task, out.expert))
        done += 1
    events = args.events
    rates = {side: events / (ns / 1e9) for side, ns in spent.items()}
    return {
        "routers": {"this": router.__file__, "other": other_core["router"].__file__},
        "events": events,
        "batch": args.batch,
        "this_events_per_cpu_s": round(rates["this"]),
        "other_events_per_cpu_s": round(rates["other"]),
        "ratio_this_vs_other": round(rates["this"] / rates["other"], 3),
        "identical": identical,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="the other checkout (its root)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--experts", type=int, default=100_000)
    parser.add_argument("--queued", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--interleave", action="store_true", help="both cores in one process")
    parser.add_argument("--batch", type=int, default=500, help="with --interleave")
    args = parser.parse_args()
    if args.interleave:
        print(json.dumps(interleaved(args, args.other.resolve()), indent=2))
        return
    roots = {"this": HERE.parent, "other": args.other.resolve()}
    rates: dict[str, list[float]] = {name: [] for name in roots}
    routers: dict[str, str] = {}
    for _ in range(args.rounds):
        for name, root in roots.items():
            code = _RUN.format(
                root=str(root),
                bench=str(HERE / "bench_core.py"),
                experts=args.experts,
                queued=args.queued,
                events=args.events,
            )
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            measured = json.loads(out.stdout)
            rates[name].append(measured["events_per_cpu_s"])
            routers[name] = measured["router"]
    pairs = zip(rates["this"], rates["other"], strict=True)
    result: dict[str, object] = {
        "routers": routers,
        "this": [round(rate) for rate in rates["this"]],
        "other": [round(rate) for rate in rates["other"]],
        "ratios_this_vs_other": [round(this / other, 3) for this, other in pairs],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
