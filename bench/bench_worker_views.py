"""What a worker's web views cost its routing: `--web-views all` against `probes`.

    python bench/bench_worker_views.py [--events 100000] [--rounds 3] [--rate 1000] [--seconds 20]

Starts a local Kafka (tools/kafka/broker.py), then, in one run, on the
events of bench/bench_kafka.py (the demo month over workspaces):

1. throughput: one `triage worker` routing events published beforehand,
   rounds alternating `--web-views probes` (no follower) and `all` (a
   follower thread folds the whole journal into the views as the worker
   writes it), each on fresh topics and group; medians and their ratio;
2. latency at a paced rate, publish to decision readable, for each;
3. while the `all` worker of the latency run routes, its dashboard is
   fetched once a second, as a wall screen refreshes it (more often than
   the page's own 10 s), so the figure includes the reports built for it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import bench_kafka as bench

from events import InputEvent
from triage.kafka import KafkaSettings, Topics
from triage.kafka._admin import create_missing_topics

VIEWS = ("probes", "all")


def refresh(port: int, stop: threading.Event) -> list[float]:
    """Fetch the dashboard's data once a second until ``stop``; milliseconds per fetch."""
    took: list[float] = []
    while not stop.wait(1.0):
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/api/v1/dashboard", timeout=10
            ) as response:
                response.read()
        except OSError:
            continue
        took.append((time.perf_counter() - started) * 1000)
    return took


def latency(
    broker: str, views: str, events: list[InputEvent], rate: float, port: int, log: Path
) -> dict[str, float]:
    settings = KafkaSettings(
        bootstrap=broker, topics=Topics(f"lat-{views}."), group=f"lat-{views}", partitions=8
    )
    asyncio.run(create_missing_topics(settings))
    worker = bench.start_worker(settings, port, log, views)
    stop = threading.Event()
    fetches: list[float] = []
    screen = threading.Thread(target=lambda: fetches.extend(refresh(port, stop)), daemon=True)
    try:
        while not bench.status(port).get("partitions"):
            time.sleep(0.2)
        time.sleep(5)  # past the group's first rebalances
        if views == "all":
            screen.start()
        ms = asyncio.run(bench.paced(settings, events, rate, settings.topics.assignments, True))
    finally:
        stop.set()
        if screen.is_alive():
            screen.join(timeout=15)
        worker.terminate()
        worker.wait(timeout=30)
    result = {
        "p50": round(bench.percentile(ms, 0.5), 1),
        "p99": round(bench.percentile(ms, 0.99), 1),
        "decisions": len(ms),
    }
    if fetches:
        result["dashboard_fetch_ms_p50"] = round(bench.percentile(fetches, 0.5), 1)
    bench.say(f"{views}: latency {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--version", default=bench.kafka_broker.DEFAULT_VERSION)
    args = parser.parse_args()
    events = bench.stream(args.events)
    paced_events = bench.stream(int(args.rate * args.seconds) + 285 * 3)
    rates: dict[str, list[float]] = {views: [] for views in VIEWS}
    with tempfile.TemporaryDirectory() as tmp, bench.kafka_broker.Broker(args.version) as broker:
        broker.start()
        log = Path(tmp) / "worker.log"
        port = bench.kafka_broker._bind(0)
        for number in range(args.rounds):
            for views in VIEWS:
                settings = KafkaSettings(
                    bootstrap=broker.bootstrap,
                    topics=Topics(f"b{number}{views}."),
                    group=f"b{number}{views}",
                    partitions=8,
                )

                async def prepare(settings: KafkaSettings = settings) -> None:
                    await create_missing_topics(settings)
                    await bench.publish(settings, events)

                asyncio.run(prepare())
                rates[views].append(
                    bench.throughput(settings, len(events), port, log, web_views=views)
                )
                bench.say(f"round {number + 1}: {views} {rates[views][-1]:.0f}/s")
        latencies = {
            views: latency(broker.bootstrap, views, paced_events, args.rate, port, log)
            for views in VIEWS
        }
    medians = {views: statistics.median(values) for views, values in rates.items()}
    print(
        json.dumps(
            {
                "date": datetime.now(UTC).strftime("%Y-%m-%d"),
                "machine": f"{platform.machine()}, Python {platform.python_version()}",
                "kafka": args.version,
                "events": len(events),
                "events_per_s": {views: round(m) for views, m in medians.items()},
                "rounds": {views: [round(r) for r in values] for views, values in rates.items()},
                "all_vs_probes": round(medians["all"] / medians["probes"], 3),
                # Each round's pair ran back to back, so its ratio shares the machine's state.
                "all_vs_probes_by_round": [
                    round(a / p, 3) for a, p in zip(rates["all"], rates["probes"], strict=True)
                ],
                "rate_per_s": args.rate,
                "latency_ms": latencies,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
