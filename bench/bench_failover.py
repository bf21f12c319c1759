"""Failover: how long routing stops when a worker is killed with SIGKILL and restarted.

    python bench/bench_failover.py [--trials 5] [--rate 50] [--partitions 8] [--version 3.9.2]
                                   [--broker kafka://HOST:PORT]

Starts a local Kafka (tools/kafka/broker.py) and one `triage worker`
process under a paced load: ``--rate`` new tasks a second over 16
workspaces, each stamped with the wall clock. No expert can take them, so
every one gets its decision (`task.unroutable`) at once, and decisions flow
as long as routing does. Each trial waits until decisions flow, kills the
worker with SIGKILL at a random moment, starts it again with the same
command line at once, and times from the kill to the next decision readable
(read_committed) on the assignments topic that the new process wrote (its
record timestamp is after the kill). Prints the figure of every trial, then
p50 and max as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "kafka"))

import broker as kafka_broker
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from events import TaskCreated, encode
from triage.kafka import KafkaSettings, Topics
from triage.kafka._admin import create_missing_topics

TRIAGE = str(Path(sys.executable).parent / "triage")
WORKSPACES = 16


def say(message: str) -> None:
    print(f"[failover] {message}", file=sys.stderr, flush=True)


class Load:
    """Tasks published at a steady rate, and the decisions read back as they come."""

    def __init__(self, bootstrap: str, prefix: str, rate: float) -> None:
        self.bootstrap = bootstrap
        self.topics = Topics(prefix)
        self.rate = rate
        self.arrivals: list[tuple[float, float]] = []  # (wall time read, record timestamp)
        self._tasks: list[asyncio.Task[None]] = []
        self._news = asyncio.Event()

    async def __aenter__(self) -> Load:
        self._tasks = [asyncio.create_task(self._publish()), asyncio.create_task(self._read())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _publish(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=0, acks="all")
        await producer.start()
        try:
            started, n = time.monotonic(), 0
            while True:
                delay = started + n / self.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                workspace = f"ws-{n % WORKSPACES}"
                event = TaskCreated(
                    f"t{n}",
                    datetime.now(UTC),
                    workspace,
                    task=f"task-{n}",
                    kind="write",
                    domain="stem",
                    language="en",
                    minutes=30,
                )
                await producer.send(self.topics.tasks, encode(event), key=workspace.encode())
                n += 1
        finally:
            await producer.stop()

    async def _read(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topics.assignments,
            bootstrap_servers=self.bootstrap,
            isolation_level="read_committed",
            auto_offset_reset="latest",
            fetch_max_wait_ms=20,
        )
        await consumer.start()
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=100)
                now = time.time()
                for records in batch.values():
                    self.arrivals.extend((now, record.timestamp / 1000) for record in records)
                if batch:
                    self._news.set()
        finally:
            await consumer.stop()

    async def decision_after(self, since: float, timeout: float) -> float:
        """Wall time at which the first decision written after ``since`` was read."""
        deadline = time.monotonic() + timeout
        while True:
            first = [read for read, stamped in self.arrivals if stamped > since]
            if first:
                return min(first)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no decision within {timeout:.0f}s of the kill")
            self._news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), timeout=min(left, 1.0))


def start_worker(env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [TRIAGE, "worker", "--client-id", "failover", "--web-port", "0"],
        env={**env, "PYTHONPATH": str(ROOT)},  # this checkout's code, not an installed one
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def measure(
    env: Mapping[str, str],
    *,
    trials: int,
    rate: float,
    log: Path,
    settle: tuple[float, float] = (1.0, 4.0),
    seed: int = 1,
) -> list[float]:
    """Seconds from each kill to the next decision, for ``trials`` kills and restarts.

    ``env`` holds the worker's settings (TRIAGE_BROKER, TRIAGE_TOPIC_PREFIX,
    TRIAGE_GROUP, ...); the topics are created here.
    """
    bootstrap = env["TRIAGE_BROKER"].removeprefix("kafka://")
    prefix = env["TRIAGE_TOPIC_PREFIX"]
    partitions = int(env.get("TRIAGE_PARTITIONS", "8"))
    await create_missing_topics(
        KafkaSettings(bootstrap=bootstrap, topics=Topics(prefix), partitions=partitions)
    )
    rng = random.Random(seed)
    figures: list[float] = []
    async with Load(bootstrap, prefix, rate) as load:
        worker = start_worker(env, log)
        try:
            await load.decision_after(time.time(), timeout=180)
            for number in range(trials):
                await asyncio.sleep(rng.uniform(*settle))  # a random moment, decisions flowing
                killed_at = time.time()
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                worker = start_worker(env, log)
                resumed = await load.decision_after(killed_at, timeout=300)
                figures.append(resumed - killed_at)
                say(f"trial {number + 1}: routing resumed {figures[-1]:.2f} s after the kill")
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--rate", type=float, default=50.0, help="new tasks per second")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--version", default=kafka_broker.DEFAULT_VERSION)
    parser.add_argument("--broker", help="use this running broker (kafka://HOST:PORT) instead")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        if args.broker:
            bootstrap = args.broker.removeprefix("kafka://")
        else:
            bootstrap = stack.enter_context(kafka_broker.Broker(args.version)).bootstrap
        run = f"failover{int(time.time())}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")},
            "TRIAGE_BROKER": f"kafka://{bootstrap}",
            "TRIAGE_TOPIC_PREFIX": f"{run}.",
            "TRIAGE_GROUP": run,
            "TRIAGE_PARTITIONS": str(args.partitions),
            "TRIAGE_LOG_LEVEL": "warning",
        }
        log = Path(tmp) / "worker.log"
        figures = asyncio.run(measure(env, trials=args.trials, rate=args.rate, log=log))
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "kafka": args.version,
        "partitions": args.partitions,
        "rate_per_s": args.rate,
        "trials": len(figures),
        "kill_to_next_decision_s": {
            "p50": round(statistics.median(figures), 2),
            "max": round(max(figures), 2),
            "min": round(min(figures), 2),
        },
        "every_trial_s": [round(f, 2) for f in figures],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
