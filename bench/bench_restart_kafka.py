"""Restart time of `triage worker` on a long history: a full fold against a snapshot.

    python bench/bench_restart_kafka.py [--experts 285] [--days 271] [--snapshot-every 100000]
                                        [--broker kafka://HOST:PORT]

The Kafka side of bench_restart.py. Starts a local Kafka (tools/kafka/broker.py)
unless given one, and writes a long history straight into the journal topic:
the demo's simulation of a project (a year of the case study's project is
about a million inputs) routed by the engine, each batch of 2,000 inputs
framed by the worker's own record function (``journal_records``) and written
to the workspace's partition, as a worker would have written it; routing it
through a real worker first would take many minutes on a small machine, for
the same bytes (the records are kept in the temporary directory,
``triage-bench-history-E-D.msgpack``, for the next run of that size). Then
it times, from process start to owning every partition (`/status`), with
nothing pending:

- a worker with ``--snapshot-every 0`` and no snapshot: a fold of the whole
  journal, which is what every start cost before snapshots;
- a worker with ``--snapshot-every`` (default 100,000): again a full fold, after
  which it keeps a snapshot at once (its write time is reported);
- three restarts, each restoring that snapshot and folding what follows it.

Workers are killed (SIGKILL) between runs, as after a crash. Figures are
wall time of the real command, process start-up included, and the worker's
CPU time up to the same moment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from aiokafka import AIOKafkaProducer

from events import InputEvent, OutputEvent, encode, type_name
from router import Engine
from triage.kafka import KafkaSettings, Topics, partition_for, topic_for
from triage.kafka._records import journal_records
from triage.sim import Scenario, simulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools" / "kafka"))

import broker as kafka_broker

TRIAGE = str(Path(sys.executable).parent / "triage")
PARTITIONS = 8
BATCH = 2_000


def history(experts: int, days: int) -> tuple[int, int, list[bytes]]:
    """The simulated project's journal: (partition, inputs, records)."""
    engine = Engine()
    scenario = Scenario(experts=experts, days=days)
    settings = KafkaSettings(bootstrap="-", topics=Topics("bench."))
    offsets: dict[str, int] = {}
    records: list[bytes] = []
    batch: list[tuple[bytes, list[bytes]]] = []
    count = 0

    def process(event: InputEvent) -> list[OutputEvent]:
        nonlocal batch, count
        outputs = engine.apply(event)
        topic = topic_for(settings, type_name(event))
        offsets[topic] = offsets.get(topic, 0) + 1
        batch.append((encode(event), [encode(o) for o in outputs]))
        count += 1
        if len(batch) == BATCH:
            records.extend(journal_records(dict(offsets), batch, 0))
            batch = []
        return outputs

    simulate(scenario, process)
    if batch:
        records.extend(journal_records(dict(offsets), batch, 0))
    return partition_for(scenario.workspace, PARTITIONS), count, records


def cached_history(experts: int, days: int) -> tuple[int, int, list[bytes]]:
    """The history, kept in the temporary directory for the next run of the same size."""
    cache = Path(tempfile.gettempdir()) / f"triage-bench-history-{experts}-{days}.msgpack"
    if cache.exists():
        number, inputs, records = msgspec.msgpack.decode(cache.read_bytes())
        return number, inputs, records
    made = history(experts, days)
    cache.write_bytes(msgspec.msgpack.encode(made))
    return made


async def write_journal(bootstrap: str, topic: str, partition: int, records: list[bytes]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        sent = [await producer.send(topic, value=r, partition=partition) for r in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def status(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except OSError:
        return None


#: The worker's web views: ``probes`` times the recovery alone; with ``all`` the
#: views' follower folds the whole journal at start too, in the same interpreter.
VIEWS = "probes"


def start(env: dict[str, str], log: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    port = kafka_broker._bind(0)
    process = subprocess.Popen(
        [
            TRIAGE,
            "worker",
            "--client-id",
            "bench",
            "--web-port",
            str(port),
            "--tick",
            "0",
            "--web-views",
            VIEWS,
            *extra,
        ],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    return process, port


def until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {what}")


def ready(port: int) -> dict[str, Any] | None:
    owned = status(port)
    return owned if owned and len(owned["partitions"]) == PARTITIONS else None


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used (user and system): what the machine's load does not inflate."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_start(
    env: dict[str, str], log: Path, *extra: str
) -> tuple[tuple[float, float], Any, Any]:
    """(wall, CPU) seconds from process start to owning every partition; process; status."""
    started = time.perf_counter()
    process, port = start(env, log, *extra)
    try:
        owned = until(lambda: ready(port), 600, "a worker to own every partition")
    except BaseException:
        stop(process)
        raise
    wall = time.perf_counter() - started
    return (wall, cpu_seconds(process.pid)), (process, port), owned


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: the restart after a crash, and no wait for a graceful shutdown."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experts", type=int, default=285)
    parser.add_argument("--days", type=int, default=271)
    parser.add_argument("--snapshot-every", default="100000")
    parser.add_argument("--version", default=kafka_broker.DEFAULT_VERSION)
    parser.add_argument("--web-views", choices=("probes", "all"), default="probes")
    parser.add_argument("--broker", help="use this running broker (kafka://HOST:PORT) instead")
    args = parser.parse_args()
    global VIEWS  # noqa: PLW0603 - one setting for every start of the run
    VIEWS = args.web_views
    made = time.perf_counter()
    number, inputs, records = cached_history(args.experts, args.days)
    made = time.perf_counter() - made
    with contextlib.ExitStack() as stack:
        if args.broker:
            bootstrap = args.broker.removeprefix("kafka://")
        else:
            bootstrap = stack.enter_context(kafka_broker.Broker(args.version)).bootstrap
        prefix = f"restart{os.getpid()}."
        env = {
            **os.environ,
            "TRIAGE_BROKER": f"kafka://{bootstrap}",
            "TRIAGE_TOPIC_PREFIX": prefix,
            "TRIAGE_GROUP": f"restart{os.getpid()}",
            "TRIAGE_PARTITIONS": str(PARTITIONS),
            "TRIAGE_LOG_LEVEL": "info",  # for snapshot.saved; there are no decisions to log
        }
        subprocess.run([TRIAGE, "topics"], env=env, check=True, capture_output=True)
        written = time.perf_counter()
        asyncio.run(write_journal(bootstrap, f"{prefix}journal", number, records))
        written = time.perf_counter() - written
        log = Path(tempfile.mkdtemp()) / "worker.log"
        full, (process, _), _ = timed_start(env, log, "--snapshot-every", "0")
        stop(process)
        env["TRIAGE_SNAPSHOT_EVERY"] = args.snapshot_every
        first, (process, port), _ = timed_start(env, log)
        kept = time.perf_counter()
        with contextlib.ExitStack() as running:
            running.callback(stop, process)
            until(
                lambda: (
                    (s := status(port))
                    and s["partitions"].get(str(number), {}).get("snapshot_at") is not None
                ),
                600,
                "the snapshot",
            )
        kept = time.perf_counter() - kept
        stop(process)
        restarts = []
        for _ in range(3):
            seconds, (process, _), owned = timed_start(env, log)
            stop(process)
            restarts.append(seconds)
            assert owned["partitions"][str(number)]["restored_from"] is not None, owned
    saved = [
        json.loads(line[line.index(b"{") :])
        for line in log.read_bytes().splitlines()
        if b'"snapshot.saved"' in line
    ]
    median = sorted(restarts)[1]
    figures = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}",
        "inputs": inputs,
        "journal_records": len(records),
        "journal_bytes": sum(len(r) for r in records),
        "history_seconds": round(made, 1),
        "journal_write_seconds": round(written, 1),
        "full_fold_start_seconds": round(full[0], 2),
        "full_fold_start_cpu_seconds": round(full[1], 2),
        "first_start_seconds": round(first[0], 2),
        "snapshot_write_seconds": round(kept, 2),
        "snapshot_bytes": saved[0]["bytes"] if saved else None,
        "snapshot_chunks": saved[0]["chunks"] if saved else None,
        "restart_seconds": [round(wall, 2) for wall, _ in restarts],
        "restart_cpu_seconds": [round(cpu, 2) for _, cpu in restarts],
        "restart_median_seconds": round(median[0], 2),
        "ratio": round(full[0] / median[0], 1),
        "cpu_ratio": round(full[1] / median[1], 1),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
