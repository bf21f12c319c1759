"""End to end through the embedded log: `triage ingest` then `triage run --until-idle`.

    python bench/bench_embedded.py [--experts 285] [--days 28] [--copies 3]

The input is the demo's simulated month (a realistic mix: presence, tasks,
submissions, reviews, declines, ticks), written as JSON Lines. With
``--copies N`` the month is repeated in N workspaces, interleaved, to make
the run long enough to measure. Both steps run the real command on a fresh
SQLite file; the figure is input events per second of wall time, each step
alone and both together (process start-up included).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgspec

from events import InputEvent, encode
from router import Engine
from triage.sim import Scenario, simulate

TRIAGE = str(Path(sys.executable).parent / "triage")


def month(experts: int, days: int, copies: int) -> list[bytes]:
    """The simulated month, once per workspace copy, interleaved in time order."""
    engine = Engine()
    inputs: list[InputEvent] = []

    def process(event: InputEvent) -> list:  # type: ignore[type-arg]
        inputs.append(event)
        return engine.apply(event)

    simulate(Scenario(experts=experts, days=days), process)
    lines = []
    for event in inputs:
        for copy in range(copies):
            lines.append(encode(msgspec.structs.replace(event, workspace=f"project-{copy}")))
    return lines


def timed(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([TRIAGE, "--log-level", "warning", *args], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experts", type=int, default=285)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--copies", type=int, default=3)
    args = parser.parse_args()
    lines = month(args.experts, args.days, args.copies)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "month.jsonl"
        source.write_bytes(b"\n".join(lines) + b"\n")
        log = str(Path(tmp) / "bench.db")
        ingest = timed("ingest", "--log", log, str(source))
        run = timed("run", "--until-idle", "--log", log)
    count = len(lines)
    print(
        json.dumps(
            {
                "date": datetime.now(UTC).strftime("%Y-%m-%d"),
                "machine": f"{platform.machine()}, Python {platform.python_version()}",
                "input_events": count,
                "ingest_events_per_s": round(count / ingest),
                "run_events_per_s": round(count / run),
                "end_to_end_events_per_s": round(count / (ingest + run)),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
