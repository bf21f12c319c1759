"""Snapshots on a real broker: a worker killed with SIGKILL restarts from one, exactly;
a damaged one is passed over with a warning, never believed."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from events import InputEvent, to_micros
from tests.integration.conftest import Cluster, wait_until
from tests.integration.test_worker import check_journal
from tests.streams import jsonl, simulated
from triage.kafka import partition_for
from triage.kafka._snapshots import SnapshotManifest, chunk_key, decode_manifest, is_manifest


def projects(count: int) -> list[InputEvent]:
    """A simulated project's inputs, once per workspace, so that several partitions have work."""
    base = simulated(30, 3, 4)
    events = [
        msgspec.structs.replace(e, workspace=f"project-{n}") for n in range(count) for e in base
    ]
    events.sort(key=lambda e: to_micros(e.at))
    return events


def partitions(cluster: Cluster, worker: Any) -> dict[str, dict[str, Any]]:
    status = cluster.status(worker)
    return dict(status["partitions"]) if status else {}


def snapshotted(cluster: Cluster, worker: Any) -> set[str]:
    """The partitions of which this worker has kept (or restored) a snapshot."""
    return {n for n, p in partitions(cluster, worker).items() if p["snapshot_at"] is not None}


def busy(events: list[InputEvent]) -> set[str]:
    """The partitions that have inputs."""
    return {str(partition_for(e.workspace, 4)) for e in events}


def test_a_worker_killed_restarts_from_a_snapshot_and_routes_as_a_full_fold(
    cluster: Cluster,
) -> None:
    events = projects(3)
    half = len(events) // 2
    cluster.env["TRIAGE_SNAPSHOT_EVERY"] = "150"
    cluster.env["TRIAGE_BATCH_MAX"] = "50"  # many transactions, a snapshot every few
    cluster.publish(jsonl(events[:half]))
    worker = cluster.start_worker("w")
    wait_until(lambda: cluster.processed() == half, 120, f"{half} inputs")
    wait_until(lambda: snapshotted(cluster, worker) == busy(events), 60, "snapshots")
    cluster.kill(worker)
    cluster.publish(jsonl(events[half:]))
    # Killed again at random moments of the continuation: some kills land while a
    # snapshot is being written, and leave an aborted one at the end of the topic.
    rng = random.Random(5)
    for _ in range(3):
        worker = cluster.start_worker("w")
        time.sleep(rng.uniform(1.0, 3.0))  # a random moment to crash at, not a wait for a state
        cluster.kill(worker)
    worker = cluster.start_worker("w")
    wait_until(lambda: len(partitions(cluster, worker)) == 4, 90, "every partition taken")
    restored = {n for n, p in partitions(cluster, worker).items() if p["restored_from"] is not None}
    assert restored == busy(events)
    wait_until(lambda: cluster.processed() == len(events), 180, f"{len(events)} inputs")
    # Every output after the restores equals a fold of the whole journal's inputs.
    check_journal(cluster, events, published_first=False)


async def newest_manifest(cluster: Cluster, number: int) -> tuple[SnapshotManifest, int]:
    topic = cluster.env["TRIAGE_TOPIC_PREFIX"] + "snapshots"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=cluster.broker.bootstrap, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, number)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        newest = None
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=1_000)
            for record in batch.get(tp, []):
                if is_manifest(record.key):
                    newest = (decode_manifest(record.value), record.offset)
            if not batch:
                break
        assert newest is not None
        return newest
    finally:
        await consumer.stop()


async def forge(cluster: Cluster, number: int, manifest: SnapshotManifest) -> None:
    """After the real snapshot: garbage and a manifest naming it, then a broken manifest."""
    topic = cluster.env["TRIAGE_TOPIC_PREFIX"] + "snapshots"
    producer = AIOKafkaProducer(bootstrap_servers=cluster.broker.bootstrap)
    await producer.start()
    try:
        key = chunk_key(manifest.slot, 0)
        chunk = await producer.send_and_wait(topic, b"{garbage", key=key, partition=number)
        forged = msgspec.structs.replace(manifest, first=chunk.offset, chunks=1)
        value = msgspec.json.encode(forged)
        await producer.send_and_wait(topic, value, key=b"1", partition=number)
        await producer.send_and_wait(topic, b'{"v":1,"partit', key=b"0", partition=number)
    finally:
        await producer.stop()


def test_a_damaged_snapshot_is_passed_over_with_a_warning(cluster: Cluster) -> None:
    events = projects(1)
    half = len(events) // 2
    cluster.env["TRIAGE_SNAPSHOT_EVERY"] = "100"
    cluster.env["TRIAGE_BATCH_MAX"] = "50"
    cluster.publish(jsonl(events[:half]))
    worker = cluster.start_worker("d")
    wait_until(lambda: cluster.processed() == half, 120, f"{half} inputs")
    (number,) = busy(events)
    wait_until(lambda: number in snapshotted(cluster, worker), 60, "a snapshot")
    cluster.kill(worker)
    real, _ = asyncio.run(newest_manifest(cluster, int(number)))
    asyncio.run(forge(cluster, int(number), real))
    log = cluster.tmp / "d.log"
    log.write_bytes(b"")
    worker = cluster.start_worker("d")
    wait_until(lambda: len(partitions(cluster, worker)) == 4, 90, "every partition taken")
    assert partitions(cluster, worker)[number]["restored_from"] == real.journal
    lines = [line for line in log.read_bytes().splitlines() if b'"snapshot.unusable"' in line]
    warnings = [json.loads(line[line.index(b"{") :]) for line in lines]  # after Faust's spinner
    reasons = [w["reason"] for w in warnings]
    assert len(reasons) == 2, reasons
    assert "not a snapshot manifest" in reasons[0]
    assert "do not hash to its digest" in reasons[1]
    cluster.publish(jsonl(events[half:]))
    wait_until(lambda: cluster.processed() == len(events), 180, f"{len(events)} inputs")
    check_journal(cluster, events, published_first=False)
