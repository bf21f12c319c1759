"""The ops commands' speed, each measured side by side with its reference in the same run.

    python bench/bench_ops.py [--rounds 5] [--clock wall|cpu] [--kafka] [--version 3.9.2]

On the demo's month (``triage demo``: 285 experts, 28 days, about 71,000
inputs and 46,000 outputs) written to a fresh embedded log:

1. report rebuild: ``report_of`` (what ``triage report`` does) and the
   ``report --at`` path (the journal folded up to a moment), in
   events (inputs + outputs) per second, reading the SQLite file included;
2. replay with verification against the routing core: ``Engine.apply``
   alone over the same events, decoded beforehand (the core's own rate, as
   bench_core.py measures it), ``Engine.apply`` over the same inputs decoded
   as it goes (what recovery does), then ``replay`` over the same entries in
   memory (decode, apply, encode, compare), then ``replay`` reading the log
   (the command's path). The ratio is replay / core;
3. with ``--kafka``: the same journal written to a local broker's journal
   topic (tools/kafka/broker.py), then read by Triage's reader
   (``read_journal``, every entry as bytes, as replay and report read it)
   and by ``kcat -C -e`` (raw records to /dev/null), alternating; the ratio
   is Triage's rate / kcat's. ``--kafka-copies N`` writes the journal N
   times over, so that fixed costs (start-up, metadata) weigh less.

The machine is shared, so rounds alternate the contenders and every figure
is the best of ``--rounds`` (the least disturbed run); the load average at
the start and the end is printed with the figures. ``--clock cpu`` times the
embedded contenders in the process's CPU time instead of wall time: each of
them is one thread in this process, so on a machine others are loading it
leaves out the time spent waiting for a core, the same way for every one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "kafka"))

import msgspec

from events import decode_input
from projections import fold
from router import DEFAULT_POLICY, Engine, Policy
from triage.embedded import Journal, report_of
from triage.ops import Recorded, at_of, replay
from triage.sim import Scenario, run_demo


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], object], clock: Callable[[], float] = time.perf_counter) -> float:
    started = clock()
    fn()
    return clock() - started


def entries_of(journal: Journal) -> Iterator[Recorded]:
    # As `triage replay` and `report --at` read the embedded log (triage/cli/_history.py).
    for inputs, caused in journal.pages():
        outputs_of = caused.get
        for pos, body in inputs:
            yield pos, body, outputs_of(pos, [])


def embedded(
    path: Path, rounds: int, clock: Callable[[], float] = time.perf_counter
) -> dict[str, float]:
    journal = Journal(path, create=False)
    entries = list(entries_of(journal))
    epochs = [(p, msgspec.json.decode(b, type=Policy)) for p, b in journal.policies()]
    events = len(entries) + sum(len(outputs) for _, _, outputs in entries)
    decoded = [decode_input(raw) for _, raw, _ in entries]
    end = at_of(entries[-1][1]) + timedelta(seconds=1)

    def core() -> None:
        engine = Engine(epochs[0][1] if epochs else DEFAULT_POLICY)
        apply = engine.apply
        for event in decoded:
            apply(event)

    def recover() -> None:
        engine = Engine(epochs[0][1] if epochs else DEFAULT_POLICY)
        apply = engine.apply
        for _, raw, _ in entries:
            apply(decode_input(raw))

    def verify_memory() -> None:
        assert replay(entries, epochs).identical

    def verify_log() -> None:
        assert replay(entries_of(journal), epochs).identical

    def report() -> None:
        report_of(journal)

    def report_at() -> None:
        fold(
            ((raw, outputs) for _, raw, outputs in entries_of(journal)),
            (letter.source for letter in journal.dead_letters()),
            until=end,
        )

    times: dict[str, list[float]] = {
        k: [] for k in ("core", "recover", "memory", "log", "report", "report_at")
    }
    for n in range(rounds):
        times["core"].append(timed(core, clock))
        times["recover"].append(timed(recover, clock))
        times["memory"].append(timed(verify_memory, clock))
        times["log"].append(timed(verify_log, clock))
        times["report"].append(timed(report, clock))
        times["report_at"].append(timed(report_at, clock))
        say(f"round {n + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()))
    median = {k: min(v) for k, v in times.items()}
    inputs = len(entries)
    return {
        "inputs": inputs,
        "events": events,
        "report_events_per_s": events / median["report"],
        "report_at_events_per_s": events / median["report_at"],
        "core_inputs_per_s": inputs / median["core"],
        "decode_and_apply_inputs_per_s": inputs / median["recover"],
        "replay_memory_inputs_per_s": inputs / median["memory"],
        "replay_log_inputs_per_s": inputs / median["log"],
        "ratio_memory": median["core"] / median["memory"],
        "ratio_log": median["core"] / median["log"],
        "ratio_memory_to_decode_and_apply": median["recover"] / median["memory"],
    }


def kafka(path: Path, rounds: int, version: str, copies: int) -> dict[str, float]:
    import broker as kafka_broker
    from aiokafka import AIOKafkaProducer

    from triage.kafka import KafkaSettings, Topics, partition_for, read_journal
    from triage.kafka._admin import create_missing_topics
    from triage.kafka._records import journal_records

    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        raise SystemExit("kcat is not installed (Debian: apt-get install kcat)")
    journal = Journal(path, create=False)
    entries = [(entry.input, entry.outputs) for entry in journal.entries()] * copies
    with kafka_broker.Broker(version) as running:
        running.start()
        settings = KafkaSettings(
            bootstrap=running.bootstrap, topics=Topics("bench.ops-"), partitions=4
        )
        asyncio.run(create_missing_topics(settings))
        records = 0

        async def write() -> int:
            producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, acks="all")
            await producer.start()
            written = 0
            try:
                # One workspace: one partition, in batches like a worker's.
                partition = partition_for("llm-finetune", settings.partitions)
                for start in range(0, len(entries), 2_000):
                    chunk = entries[start : start + 2_000]
                    for record in journal_records({}, chunk, 0):
                        await producer.send(
                            settings.topics.journal, value=record, partition=partition
                        )
                        written += 1
                await producer.flush()
            finally:
                await producer.stop()
            return written

        records = asyncio.run(write())
        say(f"wrote {len(entries):,} entries in {records} journal records")

        def ours() -> None:
            count = 0
            for _, batch in read_journal(settings):
                for raw, outputs in batch.entries:
                    bytes(raw)
                    [bytes(o) for o in outputs]
                    count += 1
            assert count == len(entries), count

        def theirs() -> None:
            subprocess.run(
                [
                    kcat,
                    "-C",
                    "-b",
                    settings.bootstrap,
                    "-t",
                    settings.topics.journal,
                    "-o",
                    "beginning",
                    "-e",
                    "-q",
                    "-X",
                    "isolation.level=read_committed",
                ],
                stdout=subprocess.DEVNULL,
                check=True,
            )

        mine: list[float] = []
        raw: list[float] = []
        for n in range(rounds):
            mine.append(timed(ours))
            raw.append(timed(theirs))
            say(f"kafka round {n + 1}: triage {mine[-1]:.2f}s, kcat {raw[-1]:.2f}s")
    ours_s, kcat_s = min(mine), min(raw)
    return {
        "entries": len(entries),
        "records": records,
        "triage_seconds": ours_s,
        "kcat_seconds": kcat_s,
        "triage_entries_per_s": len(entries) / ours_s,
        "kcat_entries_per_s": len(entries) / kcat_s,
        "ratio": kcat_s / ours_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kafka", action="store_true", help="also Kafka against kcat")
    parser.add_argument("--version", default="3.9.2", help="Kafka version for --kafka")
    parser.add_argument("--kafka-copies", type=int, default=5, help="journal written N times")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="embedded figures in wall time, or in the process's CPU time (a shared machine)",
    )
    args = parser.parse_args()
    start_load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.db"
        say("simulating the demo month into a fresh log")
        run_demo(Scenario(), log_path=path, policy=DEFAULT_POLICY)
        figures: dict[str, object] = {
            "date": datetime.now(UTC).date().isoformat(),
            "machine": f"{platform.machine()}, Python {platform.python_version()}",
            "clock": args.clock,
            "embedded": embedded(
                path, args.rounds, time.process_time if args.clock == "cpu" else time.perf_counter
            ),
        }
        if args.kafka:
            figures["kafka"] = kafka(path, args.rounds, args.version, args.kafka_copies)
    figures["load_average"] = [round(start_load, 2), round(os.getloadavg()[0], 2)]
    print(msgspec.json.format(msgspec.json.encode(figures)).decode())


if __name__ == "__main__":
    main()
