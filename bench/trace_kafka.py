"""Where a worker's latency goes: one worker traced at a paced rate; or its time, by stage.

    python bench/trace_kafka.py [--rate 1000] [--seconds 15] [--commit-gap-ms 3]
                                [--retry-backoff-ms 10]
    python bench/trace_kafka.py --profile 100000

Starts a local Kafka (tools/kafka/broker.py), runs one worker in this
process with its transactional requests and its commits timed, publishes
the demo month at ``--rate`` events per second from another process, and
prints, as JSON:

- ``latency_ms``: publish of a cause to its decision readable
  (read_committed), p50/p90/p99, as bench_kafka.py measures it;
- ``fetch_lag_ms``: publish of an input to the worker having it fetched;
- ``buffered_ms``: fetched to its partition's transaction starting;
- ``commit_ms``: one partition's transaction, routing included;
- ``requests``: every transactional request by type and outcome (count,
  mean and p99 ms; a failed one is a refusal followed by a back-off).

With ``--profile N`` it instead publishes N events of the demo month (as
bench_kafka.py's throughput phase does), runs one worker in this process
over them as ``triage worker --log-level warning`` would, and samples its
stack from a thread (``bench/_stages.py``) between its first and its last
journaled input; it prints, as JSON, the wall and CPU time per event and the
microseconds per event of each stage: fetching and unpacking records,
decoding, the checks of a record, the merge, ``Engine.apply``, encoding,
the journal record, building and sending the produce batches, the
transactions' requests, the event loop, and the time spent idle.

It is a diagnostic, not a figure of record: the numbers of record come from
bench_kafka.py. It wraps aiokafka's request handlers to time them, which is
fine for a measurement and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "kafka"))

import broker as kafka_broker
from _stages import Sampler
from aiokafka.producer import sender
from bench_kafka import paced, percentile, publish, stream

from events import InputEvent
from triage._logging import configure_logging
from triage.kafka import KafkaSettings, Topics, _worker
from triage.kafka._admin import create_missing_topics
from triage.kafka._app import collect_less

samples: dict[str, list[float]] = defaultdict(list)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.5), 2),
        "p90": round(percentile(values, 0.9), 2),
        "p99": round(percentile(values, 0.99), 2),
    }


def instrument() -> None:
    """Time aiokafka's transactional requests and the worker's steps."""
    handler_do = sender.BaseHandler.do

    async def do(self: Any, node_id: int) -> bool:
        started = time.perf_counter()
        ok: bool = await handler_do(self, node_id)
        outcome = "ok" if ok else "refused"
        samples[f"{type(self).__name__} {outcome}"].append((time.perf_counter() - started) * 1e3)
        return ok

    sender.BaseHandler.do = do  # type: ignore[method-assign]

    fetched: dict[tuple[str, int, int], float] = {}
    buffer = _worker.Worker._buffer
    commit = _worker.Worker._commit

    def traced_buffer(self: Any, state: Any, topic: str, records: list[Any]) -> None:
        now = time.time()
        for record in records:
            samples["fetch_lag"].append(now * 1e3 - record.timestamp)
            fetched[(topic, record.partition, record.offset)] = now
        buffer(self, state, topic, records)

    async def traced_commit(
        self: Any, state: Any, pending: Sequence[Any], ticks: Sequence[InputEvent]
    ) -> str:
        started = time.time()
        for item in pending:
            at = fetched.pop((item.topic, item.partition, item.offset), None)
            if at is not None:
                samples["buffered"].append((started - at) * 1e3)
        outcome: str = await commit(self, state, pending, ticks)
        if pending:
            samples["commit"].append((time.time() - started) * 1e3)
        return outcome

    _worker.Worker._buffer = traced_buffer  # type: ignore[method-assign]
    _worker.Worker._commit = traced_commit  # type: ignore[method-assign]


async def route(settings: KafkaSettings, stop: asyncio.Event) -> None:
    router = _worker.Worker(settings, on_outputs=None)
    await router.start()
    try:
        await router.run(stop)
    finally:
        await router.stop()


async def profile(settings: KafkaSettings, count: int) -> dict[str, Any]:
    """One worker over ``count`` events published beforehand, its stack sampled while it routes.

    The CPU time is sampled from the worker's start to its last input
    journaled (records fetched and decoded before the first transaction are
    part of the work); the rate is taken between its first and its last
    journaled input, as bench_kafka.py does.
    """
    await create_missing_topics(settings)
    await publish(settings, stream(count))
    gc.collect()  # the events published are garbage now: a worker process never held them
    configure_logging("warning")  # as `triage --log-level warning worker`
    collect_less()  # as the worker's app does
    router = _worker.Worker(settings)  # logging its decisions, as the command does
    sampler = Sampler()
    sampler.start()
    cpu = time.process_time()
    await router.start()
    stop = asyncio.Event()
    running = asyncio.create_task(router.run(stop))

    def done() -> int:
        return sum(state.processed for state in router.owned.values())

    try:
        while done() == 0:
            await asyncio.sleep(0.002)
        wall = time.perf_counter()
        while done() < count:
            await asyncio.sleep(0.002)
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
    finally:
        sampler.stop()
        stop.set()
        await running
        await router.stop()
    return {
        "events": count,
        "events_per_s": round(count / wall),
        "wall_us_per_event": round(wall / count * 1e6, 2),
        "cpu_us_per_event": round(cpu / count * 1e6, 2),
        "samples": sampler.samples,
        "cpu_us_per_event_by_stage": {
            stage: round(share * cpu / count * 1e6, 2) for stage, share in sampler.shares().items()
        },
        "of_which_garbage_collection_us_per_event": {
            f"generation {generation}": round(seconds / count * 1e6, 2)
            for generation, seconds in sorted(sampler.collecting.items())
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    defaults = KafkaSettings(bootstrap="-")
    parser.add_argument("--commit-gap-ms", type=int, default=defaults.commit_gap_ms)
    parser.add_argument("--retry-backoff-ms", type=int, default=defaults.retry_backoff_ms)
    parser.add_argument("--version", default=kafka_broker.DEFAULT_VERSION)
    parser.add_argument("--profile", type=int, metavar="EVENTS", help="time by stage instead")
    parser.add_argument("--pacer", nargs=2, metavar=("BOOTSTRAP", "PREFIX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pacer:  # the publishing side, in a process of its own
        settings = KafkaSettings(bootstrap=args.pacer[0], topics=Topics(args.pacer[1]))
        events = stream(int(args.rate * args.seconds) + 285 * 3)
        timed = asyncio.run(paced(settings, events, args.rate, settings.topics.assignments, True))
        print(json.dumps(timed))
        return
    if args.profile:
        with kafka_broker.Broker(args.version) as broker:
            broker.start()
            settings = KafkaSettings(
                bootstrap=broker.bootstrap,
                topics=Topics("profile."),
                group="profile",
                partitions=8,
                tick_seconds=0,
                commit_gap_ms=args.commit_gap_ms,
                retry_backoff_ms=args.retry_backoff_ms,
            )
            result = asyncio.run(profile(settings, args.profile))
        print(json.dumps(result, indent=2))
        return
    instrument()
    with kafka_broker.Broker(args.version) as broker:
        broker.start()
        settings = KafkaSettings(
            bootstrap=broker.bootstrap,
            topics=Topics("trace."),
            group="trace",
            partitions=8,
            tick_seconds=0,
            commit_gap_ms=args.commit_gap_ms,
            retry_backoff_ms=args.retry_backoff_ms,
        )

        async def run() -> list[float]:
            await create_missing_topics(settings)
            stop = asyncio.Event()
            worker = asyncio.create_task(route(settings, stop))
            await asyncio.sleep(10)  # past the group's first rebalances
            samples.clear()
            pacer = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--pacer",
                broker.bootstrap,
                "trace.",
                "--rate",
                str(args.rate),
                "--seconds",
                str(args.seconds),
                stdout=subprocess.PIPE,
            )
            out, _ = await pacer.communicate()
            stop.set()
            await worker
            return [float(v) for v in json.loads(out)]

        latency = asyncio.run(run())
    result = {
        "rate_per_s": args.rate,
        "commit_gap_ms": args.commit_gap_ms,
        "retry_backoff_ms": args.retry_backoff_ms,
        "latency_ms": summary(latency),
        "fetch_lag_ms": summary(samples.pop("fetch_lag", [])),
        "buffered_ms": summary(samples.pop("buffered", [])),
        "commit_ms": summary(samples.pop("commit", [])),
        "requests": {
            name: {
                "n": len(values),
                "mean": round(sum(values) / len(values), 2),
                "p99": round(percentile(values, 0.99), 2),
            }
            for name, values in sorted(samples.items())
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
