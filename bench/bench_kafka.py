"""One worker on a local broker: sustained throughput and end-to-end latency.

    python bench/bench_kafka.py [--events 200000] [--rounds 3] [--rate 1000] [--seconds 30]

Starts a local Kafka (tools/kafka/broker.py), then, in the same run:

1. passthrough: a plain aiokafka consumer that produces every record it
   reads to another topic (the floor of any Kafka consume-and-produce
   service in Python), over the same events;
2. throughput: the events published beforehand to the input topics, one
   `triage worker` process routing them; the rate is journaled inputs per
   second between the first and the last journal batch. Passthrough and
   worker alternate for ``--rounds`` rounds; the figures are the medians;
3. latency at a paced rate: events published at ``--rate`` per second while
   a worker runs; for each decision, the time from the publish of its cause
   to the decision being readable (read_committed) on the assignments topic.
   The passthrough is paced and timed the same way.

The events are the demo's simulated month, repeated over workspaces so that
every partition has work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "kafka"))

import broker as kafka_broker
import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from events import InputEvent, encode, type_name
from router import Engine
from triage.kafka import KafkaSettings, Topics, topic_for
from triage.kafka._admin import create_missing_topics
from triage.sim import Scenario, simulate

TRIAGE = str(Path(sys.executable).parent / "triage")


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def stream(count: int) -> list[InputEvent]:
    """The simulated month, over as many workspaces as it takes to reach ``count``."""
    engine = Engine()
    month: list[InputEvent] = []

    def process(event: InputEvent) -> list:  # type: ignore[type-arg]
        month.append(event)
        return engine.apply(event)

    simulate(Scenario(experts=285, days=28), process)
    copies = max(1, -(-count // len(month)))
    events = [
        msgspec.structs.replace(event, workspace=f"project-{n}")
        for event in month
        for n in range(copies)
    ]
    return events[:count]


async def publish(settings: KafkaSettings, events: list[InputEvent]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap, linger_ms=20, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        for event in events:
            await producer.send(
                topic_for(settings, type_name(event)),
                value=encode(event),
                key=event.workspace.encode(),
            )
        await producer.flush()
    finally:
        await producer.stop()


async def passthrough(
    settings: KafkaSettings, source: str, sink: str, count: int, *, group: str
) -> float:
    """Events/s of a plain consume-and-produce loop over ``count`` records."""
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=settings.bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=True,
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, linger_ms=5, acks="all")
    await consumer.start()
    await producer.start()
    seen = 0
    started = 0.0
    try:
        while seen < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=2_000)
            for records in batch.values():
                for record in records:
                    if not started:
                        started = time.perf_counter()
                    await producer.send(sink, value=record.value, key=record.key)
                    seen += 1
        await producer.flush()
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


def status(port: int) -> dict[str, Any]:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except OSError:
        return {}


def processed(port: int) -> int:
    return sum(p["processed"] for p in status(port).get("partitions", {}).values())


def start_worker(
    settings: KafkaSettings, port: int, log: Path, web_views: str = "all"
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            TRIAGE,
            "--log-level",
            "warning",
            "worker",
            "--broker",
            f"kafka://{settings.bootstrap}",
            "--topic-prefix",
            settings.topics.prefix,
            "--group",
            settings.group,
            "--partitions",
            str(settings.partitions),
            "--tick",
            "0",
            "--web-port",
            str(port),
            "--web-views",
            web_views,
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def throughput(
    settings: KafkaSettings, count: int, port: int, log: Path, web_views: str = "all"
) -> float:
    worker = start_worker(settings, port, log, web_views)
    try:
        first = last = 0.0
        done = 0
        deadline = time.monotonic() + 600
        while done < count and time.monotonic() < deadline:
            now = processed(port)
            if now and not first:
                first = time.perf_counter()
            if now != done:
                last = time.perf_counter()
            done = now
            time.sleep(0.05)
        return done / (last - first) if last > first else 0.0
    finally:
        worker.terminate()
        worker.wait(timeout=30)


async def paced(
    settings: KafkaSettings,
    events: list[InputEvent],
    rate: float,
    sink: str,
    follow_decisions: bool,
) -> list[float]:
    """Publish at ``rate``/s; milliseconds from publish to the record seen on ``sink``."""
    consumer = AIOKafkaConsumer(
        sink,
        bootstrap_servers=settings.bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="latest",
        fetch_max_wait_ms=5,
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, linger_ms=0, acks="all")
    await consumer.start()
    await producer.start()
    await consumer.seek_to_end()
    sent: dict[tuple[str, str], float] = {}
    seen: list[float] = []

    async def read() -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    data = msgspec.json.decode(record.value)
                    key = (data["workspace"], data["cause"] if follow_decisions else data["id"])
                    if key in sent:
                        seen.append((now - sent.pop(key)) * 1000)

    reader = asyncio.create_task(read())
    try:
        started = time.perf_counter()
        for n, event in enumerate(events):
            due = started + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[(event.workspace, event.id)] = time.perf_counter()
            topic = topic_for(settings, type_name(event))
            if not follow_decisions:
                topic = f"{settings.topics.prefix}lat-tasks"
            await producer.send(topic, value=encode(event), key=event.workspace.encode())
        await asyncio.sleep(3)
    finally:
        reader.cancel()
        await consumer.stop()
        await producer.stop()
    return seen


async def pace_passthrough(settings: KafkaSettings, stop: asyncio.Event) -> None:
    source = f"{settings.topics.prefix}lat-tasks"
    sink = f"{settings.topics.prefix}lat-assignments"
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=settings.bootstrap,
        group_id="bench-latency",
        auto_offset_reset="latest",
        fetch_max_wait_ms=5,
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, linger_ms=0, acks="all")
    await consumer.start()
    await producer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=50)
            for records in batch.values():
                for record in records:
                    await producer.send(sink, value=record.value, key=record.key)
    finally:
        await consumer.stop()
        await producer.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def latency_passthrough(
    settings: KafkaSettings, events: list[InputEvent], rate: float
) -> list[float]:
    stop = asyncio.Event()
    relay = asyncio.create_task(pace_passthrough(settings, stop))
    await asyncio.sleep(5)
    try:
        return await paced(
            settings, events, rate, f"{settings.topics.prefix}lat-assignments", False
        )
    finally:
        stop.set()
        await relay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (median)")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--version", default=kafka_broker.DEFAULT_VERSION)
    parser.add_argument(
        "--web-views",
        choices=("all", "probes"),
        default="all",
        help="what the worker's web port serves (all: it also follows the journal)",
    )
    args = parser.parse_args()
    events = stream(args.events)
    paced_events = stream(int(args.rate * args.seconds) + 285 * 3)
    plains: list[float] = []
    routeds: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, kafka_broker.Broker(args.version) as broker:
        broker.start()
        log = Path(tmp) / "worker.log"
        port = kafka_broker._bind(0)
        relay = KafkaSettings(bootstrap=broker.bootstrap, topics=Topics("bench.pt-"), partitions=8)
        tags = (type_name(e) for e in events)
        relayed = sum(1 for tag in tags if topic_for(relay, tag) == relay.topics.tasks)

        async def prepare() -> None:
            await create_missing_topics(relay)
            await publish(relay, events)

        asyncio.run(prepare())
        # Rounds alternate the passthrough and the worker, each on fresh
        # topics or a fresh group, so that both see the same machine state.
        for number in range(args.rounds):
            settings = KafkaSettings(
                bootstrap=broker.bootstrap,
                topics=Topics(f"bench{number}."),
                group=f"bench{number}",
                partitions=8,
            )

            async def publish_round(settings: KafkaSettings = settings) -> None:
                await create_missing_topics(settings)
                await publish(settings, events)

            asyncio.run(publish_round())
            say(f"round {number + 1}: published {len(events)} events")
            plains.append(
                asyncio.run(
                    passthrough(
                        settings,
                        relay.topics.tasks,
                        relay.topics.assignments,
                        relayed,
                        group=f"bench-passthrough{number}",
                    )
                )
            )
            say(f"round {number + 1}: passthrough {plains[-1]:.0f}/s")
            routeds.append(throughput(settings, len(events), port, log, args.web_views))
            say(f"round {number + 1}: worker {routeds[-1]:.0f}/s")
        plain, routed = statistics.median(plains), statistics.median(routeds)

        lat_settings = KafkaSettings(
            bootstrap=broker.bootstrap, topics=Topics("lat."), group="bench-lat", partitions=8
        )

        async def prepare_latency() -> None:
            await create_missing_topics(lat_settings)
            await create_missing_topics(
                KafkaSettings(bootstrap=broker.bootstrap, topics=Topics("lat.lat-"), partitions=8)
            )

        asyncio.run(prepare_latency())
        worker = start_worker(lat_settings, port, log, args.web_views)
        try:
            while not status(port).get("partitions"):
                time.sleep(0.2)
            time.sleep(5)  # past the group's first rebalances, as the passthrough's warm-up
            routed_ms = asyncio.run(
                paced(lat_settings, paced_events, args.rate, lat_settings.topics.assignments, True)
            )
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        say(
            f"worker latency p50 {percentile(routed_ms, 0.5):.1f} ms, "
            f"p99 {percentile(routed_ms, 0.99):.1f} ms over {len(routed_ms)} decisions"
        )
        plain_ms = asyncio.run(latency_passthrough(lat_settings, paced_events, args.rate))
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "kafka": args.version,
        "web_views": args.web_views,
        "events": len(events),
        "rounds": args.rounds,
        "worker_events_per_s": round(routed),
        "passthrough_events_per_s": round(plain),
        "worker_vs_passthrough": round(routed / plain, 3) if plain else None,
        "worker_rounds": [round(r) for r in routeds],
        "passthrough_rounds": [round(p) for p in plains],
        "rate_per_s": args.rate,
        "decisions_timed": len(routed_ms),
        "worker_latency_ms": {
            "p50": round(percentile(routed_ms, 0.5), 1),
            "p99": round(percentile(routed_ms, 0.99), 1),
            "mean": round(statistics.fmean(routed_ms), 1) if routed_ms else None,
        },
        "passthrough_latency_ms": {
            "p50": round(percentile(plain_ms, 0.5), 1),
            "p99": round(percentile(plain_ms, 0.99), 1),
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
