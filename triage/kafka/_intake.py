"""Fetched records into a partition's buffers: decoded, checked, and no further ahead than needed.

Every record of an input topic becomes a :class:`~triage.kafka._merge.Pending`
in its topic's buffer: an event with its event time, or a refusal with the
reason it will be dead-lettered for (not an event of the contract, a key
that is not its workspace or a partition that is not the workspace's, an
event time too far ahead of the wall clock). A fetch is decoded at once
(``decode_received``). :func:`throttle` pauses the fetching of a topic's
partition whose buffer holds enough, so that a backlog waits on the broker.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from events import InputEvent, InvalidEvent, decode_input, decode_received, to_micros

from .._clock_guard import describe_ahead
from ._batch import PartitionState
from ._merge import FIRST, Pending
from ._records import partition_for

__all__ = ["Homes", "intake", "throttle"]

#: Each workspace's record key and partition, for one partition count (murmur2 is
#: slow in Python, and the key is checked on every record).
Homes = dict[str, tuple[bytes, int]]


def intake(
    buffer: deque[Pending],
    topic: str,
    records: list[Any],
    *,
    homes: Homes,
    partitions: int,
    now: int,
    max_ahead_seconds: float,
) -> None:
    """Decode the consumer's ``records`` of ``topic`` and append them to its buffer.

    ``partitions`` is the topic's partition count, ``now`` the wall clock in
    microseconds, ``max_ahead_seconds`` how far an event time may be ahead
    of it (0: any).
    """
    append = buffer.append
    limit = max_ahead_seconds
    latest = now + int(limit * 1_000_000) if limit > 0 else None
    values = [record.value for record in records]
    try:
        decoded = decode_received(values)
    except Exception:  # a decoder bug, or a value that is not bytes: one by one
        decoded = [_decode_one(value) for value in values]
    for record, event in zip(records, decoded, strict=True):
        partition, offset, key, value = record.partition, record.offset, record.key, record.value
        if isinstance(event, InvalidEvent):
            append(Pending(FIRST, topic, partition, offset, key, value, None, event.reason))
            continue
        workspace = event.workspace
        home = homes.get(workspace)
        if home is None:
            home = homes[workspace] = (workspace.encode(), partition_for(workspace, partitions))
        if key != home[0] or partition != home[1]:
            error = (
                f"record key must be the workspace {workspace!r} (partition "
                f"{home[1]}); got key {key!r} in partition {partition}"
            )
            append(Pending(FIRST, topic, partition, offset, key, value, None, error))
            continue
        at = to_micros(event.at)
        if latest is not None and at > latest:
            ahead = describe_ahead(at, now, limit)
            if ahead is not None:
                append(Pending(FIRST, topic, partition, offset, key, value, None, ahead))
                continue
        append(Pending(at, topic, partition, offset, key, value, event, ""))


def _decode_one(value: Any) -> InputEvent | InvalidEvent:
    """``decode_input``, its refusal returned; a decoder bug is a refusal too, with its name."""
    try:
        return decode_input(value)
    except InvalidEvent as exc:
        return exc
    except Exception as exc:  # a decoder bug: one record must not stop the partition
        return InvalidEvent(f"could not be decoded: {type(exc).__name__}: {exc}")


def throttle(consumer: AIOKafkaConsumer, owned: Mapping[int, PartitionState], most: int) -> None:
    """Pause the input partitions with ``most`` records or more buffered; resume the others.

    Without it a backlog is fetched, unpacked and decoded into the buffers
    as fast as the broker sends it, far ahead of the routing: a backlog of
    ten million records would all sit in memory, gigabytes of it. A paused
    partition's fetched records are dropped by the client and fetched again
    from the same position once it is resumed.
    """
    paused = consumer.paused()
    assigned = consumer.assignment()
    full, room = [], []
    for number, state in owned.items():
        for topic, buffer in state.buffers.items():
            tp = TopicPartition(topic, number)
            if len(buffer) >= most:
                if tp not in paused and tp in assigned:
                    full.append(tp)
            elif tp in paused:
                room.append(tp)
    consumer.pause(*full)
    consumer.resume(*room)
