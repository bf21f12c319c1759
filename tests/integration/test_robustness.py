"""Robustness on a real broker: failover in seconds, a broker down at start-up,
poison records, a clock that jumps, and kill -9 over and over (the soak, small)."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from events import InputEvent, decode_input
from router import Engine
from tests.integration.conftest import Cluster, wait_until
from tests.integration.test_worker import GOLDEN, QUICKSTART, expected_journal, fold, journal_lines
from triage.kafka import KafkaSettings, Topics, Worker

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import bench_failover  # noqa: E402
import soak  # noqa: E402

#: The failover target: from the kill of a worker to the next decision of its restart.
FAILOVER_TARGET_S = 10.0


def letters(cluster: Cluster) -> list[dict[str, Any]]:
    dump = cluster.triage("dump", "--deadletters").stdout
    return [json.loads(line) for line in dump.splitlines()]


async def test_a_worker_restarted_after_kill_9_routes_again_within_seconds(
    cluster: Cluster, tmp_path: Path
) -> None:
    figures = await bench_failover.measure(
        cluster.env, trials=2, rate=50, log=tmp_path / "failover.log", settle=(0.5, 2.0)
    )
    assert len(figures) == 2
    assert max(figures) < FAILOVER_TARGET_S, figures


def test_the_survivor_takes_over_within_the_session_timeout(cluster: Cluster) -> None:
    first = cluster.start_worker("s1")
    second = cluster.start_worker("s2")

    def owned(worker: Any) -> set[str]:
        status = cluster.status(worker)
        return set(status["partitions"]) if status else set()

    wait_until(lambda: bool(owned(first)) and bool(owned(second)), 90, "a split")
    killed = time.monotonic()
    cluster.kill(first)
    wait_until(lambda: owned(second) == {"0", "1", "2", "3"}, 60, "the survivor to own all")
    took = time.monotonic() - killed
    print(f"the survivor owned every partition {took:.1f} s after the kill")
    # The group's session is 10 s; then a rebalance, and the partitions' recovery.
    assert took < 10 + 10, took


def test_a_worker_started_while_the_broker_is_down_waits_for_it(cluster: Cluster) -> None:
    cluster.publish(QUICKSTART.read_bytes())
    cluster.broker.stop()
    try:
        worker = cluster.start_worker("early")
        log = cluster.tmp / "early.log"
        wait_until(lambda: log.read_bytes().count(b'"broker.unreachable"') >= 2, 60, "retries")
        assert worker.poll() is None, "the worker exited while the broker was down"
    finally:
        cluster.broker.start()
    wait_until(lambda: cluster.processed() == 20, 120, "20 inputs in the journal")
    assert b"\n".join(journal_lines(cluster)) + b"\n" == GOLDEN.read_bytes()
    assert worker.poll() is None


async def test_an_input_whose_routing_raises_is_a_dead_letter_and_the_rest_is_routed(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Poisoned(Engine):
        def apply(self, event: InputEvent) -> list:  # type: ignore[type-arg]
            if event.id == "t-3":
                raise ZeroDivisionError("a bug met by this task")
            return super().apply(event)

    monkeypatch.setattr("triage.kafka._worker.Engine", Poisoned)
    cluster.publish(QUICKSTART.read_bytes())
    settings = KafkaSettings(
        bootstrap=cluster.broker.bootstrap,
        topics=Topics(cluster.env["TRIAGE_TOPIC_PREFIX"]),
        group=cluster.env["TRIAGE_GROUP"],
        partitions=4,
        tick_seconds=0,
    )
    router = Worker(settings, on_outputs=None)
    await router.start()
    stop = asyncio.Event()
    running = asyncio.create_task(router.run(stop))
    try:
        await asyncio.to_thread(wait_until, lambda: cluster.processed() == 19, 90, "19 inputs")
        assert not running.done()
    finally:
        stop.set()
        await running
        await router.stop()
    events = [decode_input(line) for line in QUICKSTART.read_bytes().splitlines()]
    rest = [e for e in events if e.id != "t-3"]
    expected = expected_journal(rest, 4)
    assert journal_lines(cluster) == [line for p in sorted(expected) for line in fold(expected[p])]
    (letter,) = letters(cluster)
    assert letter["error"] == "routing failed: ZeroDivisionError: a bug met by this task"
    assert '"id":"t-3"' in letter["raw"]


FUTURE = (
    b'{"type":"task.created","id":"t-future","at":"2062-11-02T09:00:00Z",'
    b'"workspace":"acme-llm","task":"future-001","kind":"write","domain":"stem",'
    b'"language":"en","minutes":45}\n'
)
REASON = re.compile(
    r"at 2062-11-02T09:00:00Z is 35y \d+d ahead of the wall clock \(more than 1d\); "
    r"raise --max-ahead-seconds to allow it"
)


def test_an_input_far_ahead_of_the_clock_is_a_dead_letter_unless_allowed(
    cluster: Cluster, broker: Any, tmp_path: Path
) -> None:
    cluster.publish(QUICKSTART.read_bytes() + FUTURE)
    allowed = Cluster(broker, "allowed", tmp_path)
    allowed.env["TRIAGE_MAX_AHEAD_SECONDS"] = "0"
    allowed.triage("topics")
    try:
        allowed.publish(QUICKSTART.read_bytes() + FUTURE)
        cluster.start_worker("guarded")
        allowed.start_worker("unguarded")
        wait_until(lambda: cluster.processed() == 20, 90, "20 inputs in the journal")
        wait_until(lambda: allowed.processed() == 21, 90, "21 inputs in the journal")
        assert b"\n".join(journal_lines(cluster)) + b"\n" == GOLDEN.read_bytes()
        (letter,) = letters(cluster)
        assert REASON.fullmatch(letter["error"]), letter["error"]
        assert any(b'"id":"t-future"' in line for line in journal_lines(allowed))
        assert letters(allowed) == []
    finally:
        allowed.close()


def test_the_soak_runs_small(cluster: Cluster) -> None:
    result = soak.run(cluster, trials=2, seed=5)
    assert result["kills"] == 2
    assert (result["lost"], result["doubled"], result["decisions_doubled"]) == (0, 0, 0)
