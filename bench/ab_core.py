"""The core's steady state, this checkout against another, by CPU time, rounds alternating.

    python bench/ab_core.py OTHER_CHECKOUT [--rounds 2] [--experts 100000] [--queued 1000000]

The workload of ``bench_core.py`` (its ``build`` and ``measure``, from this
checkout), run in a fresh process per round with the ``router`` and
``events`` of either checkout, the two alternating. Time inside
``Engine.apply`` is counted as CPU time of the process
(``time.process_time``), not wall time, so that other work on a shared
machine weighs on both sides alike; the figure to read is the ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="the other checkout (its root)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--experts", type=int, default=100_000)
    parser.add_argument("--queued", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
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
