"""The Kafka runtime on a real broker: routing, bad input, duplicates, crashes, failover."""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError

from events import InputEvent, decode_event, decode_input, encode, to_micros, type_name
from router import Engine
from tests.integration.conftest import Cluster, wait_until
from tests.rules import Referee
from tests.streams import jsonl, simulated
from triage.kafka import KafkaSettings, Topics, Worker, partition_for

ROOT = Path(__file__).resolve().parent.parent.parent
QUICKSTART = ROOT / "examples" / "quickstart.jsonl"
GOLDEN = ROOT / "tests" / "replay" / "golden" / "quickstart.learned.journal.jsonl"
RANK = {"experts": 0, "tasks": 1, "work": 2}
TOPIC = {
    "expert.profile": "experts",
    "expert.status": "experts",
    "expert.removed": "experts",
    "task.created": "tasks",
    "task.cancelled": "tasks",
    "clock.tick": "tasks",
    "task.declined": "work",
    "task.submitted": "work",
    "task.reviewed": "work",
}


def expected_journal(events: list[InputEvent], partitions: int) -> dict[int, list[InputEvent]]:
    """The order a worker must process pre-published events in, partition by partition.

    Per partition, each input topic's events in publish order, merged by the
    head with the earliest `at` (ties: experts, tasks, work); duplicates by
    (workspace, id) dropped after the merge.
    """
    queues: dict[int, dict[str, list[InputEvent]]] = {}
    for event in events:
        p = partition_for(event.workspace, partitions)
        queues.setdefault(p, {}).setdefault(TOPIC[type_name(event)], []).append(event)
    result: dict[int, list[InputEvent]] = {}
    for p, topics in queues.items():
        heads = {t: 0 for t in topics}
        seen: set[tuple[str, str]] = set()
        merged: list[InputEvent] = []
        while True:
            best = None
            for topic, at in heads.items():
                if at < len(topics[topic]):
                    key = (to_micros(topics[topic][at].at), RANK[topic])
                    if best is None or key < best[0]:
                        best = (key, topic)
            if best is None:
                break
            event = topics[best[1]][heads[best[1]]]
            heads[best[1]] += 1
            if (event.workspace, event.id) not in seen:
                seen.add((event.workspace, event.id))
                merged.append(event)
        result[p] = merged
    return result


async def send_with_key(cluster: Cluster, value: bytes, key: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=cluster.broker.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(cluster.env["TRIAGE_TOPIC_PREFIX"] + "tasks", value, key=key)
    finally:
        await producer.stop()


def journal_lines(cluster: Cluster) -> list[bytes]:
    return cluster.triage("dump").stdout.splitlines()


def fold(events: list[InputEvent]) -> list[bytes]:
    engine = Engine()
    lines = []
    for event in events:
        lines.append(encode(event))
        lines.extend(encode(o) for o in engine.apply(event))
    return lines


def check_journal(cluster: Cluster, events: list[InputEvent], *, published_first: bool) -> None:
    """No input lost or doubled, decisions exact, rules 1-4 hold, every decision published.

    When every input was on the broker before the first worker started, the
    journal must equal an uninterrupted run exactly, order included. When
    inputs arrived while workers ran, the order across topics is the order
    they arrived in; then the journal must equal an uninterrupted run of its
    own inputs in that order.
    """
    got = journal_lines(cluster)
    if published_first:
        expected = expected_journal(events, 4)
        want = [line for p in sorted(expected) for line in fold(expected[p])]
    else:
        inputs = [decode_input(line) for line in got if b'"cause"' not in line]
        unique = {(e.workspace, e.id) for e in events}
        assert len(inputs) == len(unique) == len({(e.workspace, e.id) for e in inputs})
        by_partition: dict[int, list[InputEvent]] = {}
        for event in inputs:
            by_partition.setdefault(partition_for(event.workspace, 4), []).append(event)
        want = [line for p in sorted(by_partition) for line in fold(by_partition[p])]
    assert len(got) == len(want)
    assert got == want
    if len(got) < 5_000:  # the referee is quadratic: keep it to small streams
        referees: dict[str, Referee] = {}
        current: InputEvent | None = None
        outputs: list[Any] = []
        end = b'{"type":"clock.tick","id":"end","at":"2099-12-31T00:00:00Z","workspace":"-"}'
        for line in [*got, end]:
            event = decode_event(line)
            if hasattr(event, "cause"):
                outputs.append(event)
                continue
            if current is not None:
                referees.setdefault(current.workspace, Referee()).step(current, outputs)
            current, outputs = event, []  # type: ignore[assignment]
    published = cluster.triage("tail", "--from-beginning", "--no-follow").stdout.splitlines()
    decisions = [line for line in got if b'"cause"' in line]
    unique = {(json.loads(line)["workspace"], json.loads(line)["id"]): line for line in published}
    assert sorted(unique.values()) == sorted(decisions)


def test_worker_routes_as_the_embedded_log_does(cluster: Cluster) -> None:
    cluster.publish(QUICKSTART.read_bytes())
    cluster.start_worker("w1")
    wait_until(lambda: cluster.processed() == 20, 90, "20 inputs in the journal")
    assert b"\n".join(journal_lines(cluster)) + b"\n" == GOLDEN.read_bytes()
    report = json.loads(cluster.triage("report", "--json").stdout)
    assert report["acme-llm"]["tasks"]["completed"] == 3


async def test_a_partition_that_cannot_be_taken_yet_is_taken_later(cluster: Cluster) -> None:
    """A producer that cannot start (broker unreachable) leaves its partition for a retry."""
    cluster.publish(QUICKSTART.read_bytes())
    settings = KafkaSettings(
        bootstrap=cluster.broker.bootstrap,
        topics=Topics(cluster.env["TRIAGE_TOPIC_PREFIX"]),
        group=cluster.env["TRIAGE_GROUP"],
        partitions=4,
        tick_seconds=0,
    )
    router = Worker(settings, on_outputs=None)
    real = router._producer
    refusals = dict.fromkeys(range(4), 2)  # every partition: refused twice, then fine

    async def flaky(number: int) -> AIOKafkaProducer:
        if refusals[number]:
            refusals[number] -= 1
            raise KafkaConnectionError(f"cannot reach the broker (partition {number})")
        return await real(number)

    router._producer = flaky  # type: ignore[method-assign]
    await router.start()
    stop = asyncio.Event()
    running = asyncio.create_task(router.run(stop))
    try:
        for _ in range(240):
            if len(router.owned) == 4 and not any(refusals.values()):
                break
            await asyncio.sleep(0.25)
        await asyncio.to_thread(
            wait_until, lambda: cluster.processed() == 20, 60, "20 inputs in the journal"
        )
    finally:
        stop.set()
        await running
        await router.stop()
    assert not any(refusals.values())
    assert b"\n".join(journal_lines(cluster)) + b"\n" == GOLDEN.read_bytes()


def test_bad_records_become_dead_letters_and_nothing_stops(cluster: Cluster) -> None:
    bad = (
        b'{"type":"task.created"\nnot json\n'
        b'{"type":"task.exploded","id":"x","at":"2026-11-02T09:00:00Z","workspace":"acme-llm"}\n'
    )
    cluster.publish(bad, "--raw", "--topic", cluster.env["TRIAGE_TOPIC_PREFIX"] + "tasks")
    good = [decode_input(line) for line in QUICKSTART.read_bytes().splitlines()]
    misplaced = encode(msgspec.structs.replace(good[6], id="t-misplaced"))
    asyncio.run(send_with_key(cluster, misplaced, b"not-the-workspace"))
    cluster.publish(QUICKSTART.read_bytes())
    cluster.start_worker("w1")
    wait_until(lambda: cluster.processed() == 20, 90, "20 inputs in the journal")
    letters = [
        json.loads(line) for line in cluster.triage("dump", "--deadletters").stdout.splitlines()
    ]
    assert len(letters) == 4
    assert {d["source"] for d in letters} == {cluster.env["TRIAGE_TOPIC_PREFIX"] + "tasks"}
    assert any("malformed JSON" in d["error"] for d in letters)
    assert any("unknown event type 'task.exploded'" in d["error"] for d in letters)
    assert all(
        d["location"].startswith("partition ") and " offset " in d["location"] for d in letters
    )
    assert "not json" in [d["raw"] for d in letters]
    assert any("record key must be the workspace 'acme-llm'" in d["error"] for d in letters)
    assert b"\n".join(journal_lines(cluster)) + b"\n" == GOLDEN.read_bytes()


async def group_lag(cluster: Cluster) -> int:
    """Records of the input topics past the group's committed offsets (what lag tools show)."""
    prefix = cluster.env["TRIAGE_TOPIC_PREFIX"]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=cluster.broker.bootstrap, group_id=cluster.env["TRIAGE_GROUP"]
    )
    await consumer.start()
    try:
        topics = (prefix + t for t in ("experts", "tasks", "work"))
        tps = [TopicPartition(topic, p) for topic in topics for p in range(4)]
        ends = await consumer.end_offsets(tps)
        lag = 0
        for tp in tps:
            lag += ends[tp] - ((await consumer.committed(tp)) or 0)
        return lag
    finally:
        await consumer.stop()


def test_every_input_sent_twice_is_decided_once(cluster: Cluster) -> None:
    events = list(simulated(40, 4, 9))
    lines = jsonl(events)
    cluster.publish(lines)
    cluster.publish(lines)
    cluster.start_worker("w1")
    wait_until(lambda: cluster.processed() == len(events), 120, f"{len(events)} inputs")
    check_journal(cluster, events, published_first=True)
    # The group's offsets (for lag monitoring) catch up once the worker is idle.
    wait_until(lambda: asyncio.run(group_lag(cluster)) == 0, 30, "no lag left for the group")


def test_kill_9_at_random_moments_then_exact_recovery(cluster: Cluster) -> None:
    events = list(simulated(200, 21, 13))
    cluster.publish(jsonl(events))
    cluster.env["TRIAGE_BATCH_MAX"] = "200"  # more transactions to crash in, a longer run
    rng = random.Random(7)
    kills = 0
    for _ in range(6):
        # The same client id each time: static membership gives the restarted
        # worker its partitions at once, so the kills land while it routes.
        worker = cluster.start_worker("w")
        time.sleep(rng.uniform(0.5, 2.5))  # a random moment to crash at, not a wait for a state
        if cluster.processed() >= len(events):
            break
        cluster.kill(worker)
        kills += 1
    cluster.start_worker("w")
    wait_until(lambda: cluster.processed() == len(events), 180, f"{len(events)} inputs")
    assert kills >= 1
    check_journal(cluster, events, published_first=True)


def test_two_workers_share_partitions_and_take_over(cluster: Cluster) -> None:
    base = list(simulated(30, 3, 4))
    events = [msgspec.structs.replace(e, workspace=f"project-{n}") for n in range(6) for e in base]
    events.sort(key=lambda e: to_micros(e.at))
    first = cluster.start_worker("w1")
    second = cluster.start_worker("w2")

    def split() -> bool:
        owned = [cluster.status(w) for w in (first, second)]
        if None in owned:
            return False
        parts = [set(s["partitions"]) for s in owned if s]  # type: ignore[union-attr]
        return all(parts) and set.union(*parts) == {"0", "1", "2", "3"}

    wait_until(split, 90, "two workers to split the partitions")
    cluster.publish(jsonl(events[: len(events) // 2]))
    cluster.kill(first)

    def alone() -> bool:
        status = cluster.status(second)
        return bool(status) and set(status["partitions"]) == {"0", "1", "2", "3"}  # type: ignore[index]

    wait_until(alone, 90, "the second worker to take over every partition")
    cluster.publish(jsonl(events[len(events) // 2 :]))
    wait_until(lambda: cluster.processed() == len(events), 180, f"{len(events)} inputs")
    check_journal(cluster, events, published_first=False)


def test_broker_stop_and_restart_mid_stream(cluster: Cluster) -> None:
    events = list(simulated(60, 6, 17))
    half = len(events) // 2
    cluster.publish(jsonl(events[:half]))
    cluster.start_worker("w1")
    wait_until(lambda: cluster.processed() >= half // 4, 90, "some progress")
    cluster.broker.stop()
    cluster.broker.start()
    cluster.publish(jsonl(events[half:]))
    wait_until(lambda: cluster.processed() == len(events), 240, f"{len(events)} inputs")
    check_journal(cluster, events, published_first=False)


def test_ticks_end_leases_with_no_traffic(cluster: Cluster, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("lease_factor = 0.01\nlease_min_minutes = 1\n")
    cluster.env["TRIAGE_POLICY"] = str(policy)
    cluster.env["TRIAGE_TICK_SECONDS"] = "1"
    at = datetime.now(UTC) - timedelta(minutes=5)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        {
            "type": "expert.profile",
            "id": "p",
            "at": stamp,
            "workspace": "live",
            "expert": "ana",
            "domains": {"stem": 3},
            "languages": {"en": "C1"},
            "education": "master",
            "weekly_hours": 20,
        },
        {
            "type": "expert.status",
            "id": "s",
            "at": stamp,
            "workspace": "live",
            "expert": "ana",
            "status": "available",
        },
        {
            "type": "task.created",
            "id": "t",
            "at": stamp,
            "workspace": "live",
            "task": "w-1",
            "kind": "write",
            "domain": "stem",
            "language": "en",
            "minutes": 30,
        },
    ]
    cluster.publish(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    cluster.start_worker("ticking")

    def expired() -> bool:
        dump = cluster.triage("dump").stdout
        return b'"reason":"expired"' in dump

    wait_until(expired, 90, "a tick to end the lease")
    requeued = [json.loads(line) for line in journal_lines(cluster) if b'"expired"' in line]
    assert requeued[0]["cause"].startswith("tick:") and requeued[0]["task"] == "w-1"
