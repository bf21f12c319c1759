"""Soak: kill -9 a worker over and over under load; nothing may be lost or doubled.

    python bench/soak.py [--trials 3] [--seed 1] [--version 3.9.2]

Starts a local Kafka (tools/kafka/broker.py) and publishes a backlog of
simulated projects (1,500 events per trial and 2,000 more, over 4
partitions, transactions of at most 100 inputs)
before the first worker starts, so that an uninterrupted run of the same
inputs has one exact journal. Then, trial after trial, a `triage worker`
(always the same command line) routes the backlog and is killed with
SIGKILL at a random moment: three times in four once it has committed a
random number (100 to 1,500) of inputs since it started, once in four at a
random time in its first 3 seconds (start-up, recovery). A last worker
routes what is left. The journal must then equal the uninterrupted run byte
for byte, every decision must be on the assignments topic once
(`check_journal` of tests/integration/test_worker.py), and the figures
say how many inputs were lost or doubled and how many decisions doubled.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "kafka"))

import broker as kafka_broker

from events import InputEvent, decode_input
from tests.integration.conftest import Cluster, wait_until
from tests.integration.test_worker import check_journal, journal_lines
from tests.streams import jsonl, simulated

PER_TRIAL = 1_500
BATCH_MAX = 100


def say(message: str) -> None:
    print(f"[soak] {message}", file=sys.stderr, flush=True)


def backlog(count: int, seed: int) -> list[InputEvent]:
    """Simulated projects in as many workspaces as it takes, interleaved in time."""
    base = simulated(40, 7, seed)
    copies = max(1, -(-count // len(base)))
    events = [
        msgspec.structs.replace(event, workspace=f"soak-{n}")
        for event in base
        for n in range(copies)
    ]
    return events[:count]


def committed(cluster: Cluster, worker: Any) -> tuple[int, int]:
    """(inputs this worker committed, input records its partitions have passed)."""
    status = cluster.status(worker) or {}
    partitions = status.get("partitions", {}).values()
    return (
        sum(p["processed"] + p["duplicates"] for p in partitions),
        sum(sum(p["offsets"].values()) for p in partitions),
    )


def progress(cluster: Cluster, worker: Any, target: int, total: int) -> None:
    """Until the worker has committed ``target`` inputs, or the whole backlog is passed."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done, passed = committed(cluster, worker)
        if done >= target or passed == total:
            return
        time.sleep(0.01)
    raise AssertionError(f"no progress to {target} inputs in 120 s")


def run(
    cluster: Cluster, *, trials: int, seed: int = 1, events: int | None = None
) -> dict[str, Any]:
    """Publish the backlog, run ``trials`` kills and a last worker, check; the figures."""
    rng = random.Random(seed)
    inputs = backlog(events or trials * PER_TRIAL + 2_000, seed)
    # Small transactions: more of them to be killed in, and a backlog that lasts.
    cluster.env["TRIAGE_BATCH_MAX"] = str(BATCH_MAX)
    started = time.monotonic()
    cluster.publish(jsonl(inputs))
    say(f"published {len(inputs)} events")
    kills = idle = 0
    for number in range(trials):
        worker = cluster.start_worker("soak")  # the same id: static membership, a quick rejoin
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0.0, 3.0))  # a random moment early in its life
            moment = "early"
        else:
            target = rng.randint(100, PER_TRIAL)
            progress(cluster, worker, target, len(inputs))
            time.sleep(rng.uniform(0.0, 0.05))
            done, passed = committed(cluster, worker)
            idle += passed == len(inputs)
            moment = f"after {done} inputs (aimed at {target})"
        cluster.kill(worker)
        kills += 1
        say(f"trial {number + 1}: killed {moment}")
    last = cluster.start_worker("soak")
    wait_until(lambda: committed(cluster, last)[1] == len(inputs), 600, "the whole backlog")
    got = journal_lines(cluster)
    journaled = collections.Counter(
        (event.workspace, event.id)
        for event in (decode_input(line) for line in got if b'"cause"' not in line)
    )
    wanted = {(event.workspace, event.id) for event in inputs}
    published = cluster.triage("tail", "--from-beginning", "--no-follow").stdout.splitlines()
    decisions = collections.Counter(
        (d["workspace"], d["id"]) for d in (json.loads(line) for line in published)
    )
    result = {
        "trials": trials,
        "kills": kills,
        "kills_with_nothing_left": idle,
        "events": len(inputs),
        "journaled": sum(journaled.values()),
        "lost": len(wanted - set(journaled)),
        "doubled": sum(n - 1 for n in journaled.values()),
        "decisions": len(decisions),
        "decisions_doubled": sum(n - 1 for n in decisions.values()),
        "seconds": round(time.monotonic() - started, 1),
    }
    check_journal(cluster, inputs, published_first=True)  # byte for byte, or AssertionError
    result["journal_equal"] = True
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--events", type=int, help=f"default: {PER_TRIAL} a trial + 2,000")
    parser.add_argument("--version", default=kafka_broker.DEFAULT_VERSION)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, kafka_broker.Broker(args.version) as broker:
        broker.start()
        os.environ["PYTHONPATH"] = str(ROOT)  # the workers run this checkout's code
        cluster = Cluster(broker, "soak", Path(tmp))
        cluster.triage("topics")
        try:
            result = run(cluster, trials=args.trials, seed=args.seed, events=args.events)
        finally:
            cluster.close()
    result["kafka"] = args.version
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
