"""Restart time of `triage run` on a long history: a full fold against a snapshot.

    python bench/bench_restart.py [--experts 285] [--days 366] [--snapshot-every 100000]

Builds a long embedded log with the demo (a simulated project of the given
size; a year of the case study's project is about a million inputs), routes
it once with `triage run --until-idle` (which folds the whole history and
keeps a snapshot), then times three restarts of `triage run --until-idle`
with nothing pending: each restores the newest snapshot and folds what
follows it. For comparison it times a restart with `--snapshot-every 0`
after deleting the snapshots: a fold of the whole history, as before
snapshots. Figures are wall time of the real command, process start-up
included. The same on Kafka, for `triage worker`: bench_restart_kafka.py.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

TRIAGE = str(Path(sys.executable).parent / "triage")


def timed(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [TRIAGE, "--log-level", "warning", *args], capture_output=True, text=True, check=True
    )
    return time.perf_counter() - started, result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experts", type=int, default=285)
    parser.add_argument("--days", type=int, default=366)
    parser.add_argument("--snapshot-every", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = str(Path(tmp) / "long.db")
        built, _ = timed(
            "demo",
            "--quiet",
            "--log",
            log,
            "--experts",
            str(args.experts),
            "--days",
            str(args.days),
        )
        with sqlite3.connect(log) as db:
            inputs = db.execute("SELECT count(*) FROM inputs").fetchone()[0]
        # The demo writes its own decisions; a first run folds the whole history and
        # keeps a snapshot at its end.
        first, first_out = timed(
            "run", "--until-idle", "--log", log, "--snapshot-every", str(args.snapshot_every)
        )
        restarts = [timed("run", "--until-idle", "--log", log)[0] for _ in range(3)]
        _, restart_out = timed("run", "--until-idle", "--log", log)
        size = Path(log).stat().st_size
        with sqlite3.connect(log) as db:
            snapshot_bytes = db.execute("SELECT sum(length(body)) FROM snapshots").fetchone()[0]
            db.execute("DELETE FROM snapshots")
        full, _ = timed("run", "--until-idle", "--log", log, "--snapshot-every", "0")
    figures = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "inputs": inputs,
        "log_bytes": size,
        "snapshot_bytes": snapshot_bytes,
        "demo_seconds": round(built, 1),
        "first_run_seconds": round(first, 2),
        "first_run": first_out,
        "restart_seconds": [round(s, 2) for s in restarts],
        "restart_median_seconds": round(sorted(restarts)[1], 2),
        "restart": restart_out,
        "full_fold_restart_seconds": round(full, 2),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
