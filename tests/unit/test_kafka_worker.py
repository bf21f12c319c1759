"""The worker's buffering of fetched records, with a stand-in for the consumer."""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition

from router import Engine
from triage.kafka import KafkaSettings, Topics
from triage.kafka._batch import PartitionState
from triage.kafka._merge import FIRST, Pending
from triage.kafka._records import partition_for
from triage.kafka._worker import Worker

SETTINGS = KafkaSettings(bootstrap="127.0.0.1:9", topics=Topics("t."), batch_max=10)


class Consumer:
    """What ``Worker._throttle`` asks of the consumer."""

    def __init__(self, assigned: set[TopicPartition]) -> None:
        self.assigned = assigned
        self.stopped: set[TopicPartition] = set()

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def paused(self) -> set[TopicPartition]:
        return set(self.stopped)

    def pause(self, *tps: TopicPartition) -> None:
        assert all(tp in self.assigned for tp in tps)
        self.stopped.update(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.stopped.difference_update(tps)


def records(count: int) -> deque[Pending]:
    return deque(Pending(FIRST, "t.tasks", 0, n, b"w", b"x", None, "bad") for n in range(count))


def worker(consumer: Any) -> Worker:
    router = Worker(SETTINGS, on_outputs=None)
    router._consumer = consumer
    return router


def test_a_partition_with_two_batches_buffered_is_paused_until_it_has_room() -> None:
    tasks, work = TopicPartition("t.tasks", 0), TopicPartition("t.work", 0)
    consumer = Consumer({tasks, work, TopicPartition("t.tasks", 1)})
    router = worker(consumer)
    state = PartitionState(0, Engine())
    router.owned[0] = state
    state.buffers = {"t.tasks": records(20), "t.work": records(19)}
    router._throttle()
    assert consumer.stopped == {tasks}
    state.buffers["t.tasks"] = records(19)
    router._throttle()
    assert consumer.stopped == set()


def test_a_partition_no_longer_assigned_is_not_paused() -> None:
    consumer = Consumer(set())
    router = worker(consumer)
    router.owned[3] = state = PartitionState(3, Engine())
    state.buffers = {"t.tasks": records(50)}
    router._throttle()
    assert consumer.stopped == set()


def test_fetched_records_are_decoded_at_once_and_refused_one_by_one() -> None:
    home = partition_for("w", 8)
    consumer = Consumer(set())
    consumer.partitions_for_topic = lambda topic: set(range(8))  # type: ignore[attr-defined]
    router = worker(consumer)
    state = PartitionState(home, Engine())
    tick = b'{"type":"clock.tick","id":"k%d","at":"2026-11-02T09:00:00Z","workspace":"w"}'

    def record(offset: int, value: bytes | None, key: bytes = b"w") -> SimpleNamespace:
        return SimpleNamespace(partition=home, offset=offset, key=key, value=value)

    fetched = [
        record(0, tick % 0),
        record(1, b"{"),
        record(2, None),  # a tombstone: the batch is decoded one by one
        record(3, tick % 3, key=b"v"),
        record(4, tick % 4),
    ]
    router._buffer(state, "t.tasks", fetched)
    buffered = list(state.buffers["t.tasks"])
    assert [p.offset for p in buffered] == [0, 1, 2, 3, 4]
    assert [p.event.id if p.event else None for p in buffered] == ["k0", None, None, None, "k4"]
    assert buffered[1].error.startswith("malformed JSON")
    assert buffered[2].error.startswith("could not be decoded: TypeError")
    assert buffered[3].error.startswith("record key must be the workspace 'w'")
    assert buffered[2].value is None and buffered[3].key == b"v"
