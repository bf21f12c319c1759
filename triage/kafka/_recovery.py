"""Snapshots on the broker: write one in its own transaction, find the newest usable one.

The format and its checks are in ``_snapshots``; this module moves the
records. A snapshot is written by the partition's transactional producer
(so a fenced former owner cannot write one) in a transaction of its own,
after the journal record it covers was committed. Loading reads the
snapshots partition from its end backwards, manifest by manifest, newest
first; a manifest that does not lead to a usable snapshot is passed over
with a ``snapshot.unusable`` warning and its reason, and the next older one
is tried. A snapshot is used only if the journal still holds the record it
says it covers, with the same input positions: a journal topic deleted and
made again under the same name does not inherit a stranger's state.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any, Final

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from events import LogError
from router import Policy, SnapshotError

from ._batch import PartitionState
from ._records import decode_batch
from ._settings import KafkaSettings
from ._snapshots import (
    Restored,
    chunk_key,
    decode_manifest,
    encode_snapshot,
    is_manifest,
    manifest_for,
    restore_snapshot,
    snapshot_chunks,
)

__all__ = ["load_snapshot", "snapshot_bounds", "write_snapshot"]

#: Polls in a row that return nothing, after which a range counts as read (offsets of
#: transaction markers and aborted records yield nothing, so its end is not always reached).
_EMPTY_POLLS: Final = 3

#: Records read back from the end of a snapshots partition at first (a manifest, its
#: commit marker, a chunk or two); each further window is four times the last.
_FIRST_WINDOW: Final = 4

_log = structlog.get_logger("triage.worker")


async def write_snapshot(
    producer: AIOKafkaProducer, settings: KafkaSettings, state: PartitionState
) -> int:
    """Write a snapshot of the state's fold (chunks, then manifest) in one transaction.

    The state must have folded exactly the journal up to ``journal_next - 1``
    and must not move until this returns (it runs as the partition's commit).
    Returns the journal offset it covers; raises the client's errors, and
    then nothing is written.
    """
    journal = state.journal_next - 1
    # In a thread: nothing moves this partition's state while its snapshot is its
    # commit in flight, and the event loop keeps the other partitions going
    # meanwhile (but for the stretches the encoder holds the interpreter lock).
    body = await asyncio.to_thread(encode_snapshot, state, journal)
    chunks = snapshot_chunks(body)
    slot, topic, number = state.snapshot_slot, settings.topics.snapshots, state.number
    manifest: bytes | None = None
    async with producer.transaction():
        sent = [
            await producer.send(topic, key=chunk_key(slot, i), value=chunk, partition=number)
            for i, chunk in enumerate(chunks)
        ]
        first = (await sent[0]).offset
        await asyncio.gather(*sent)
        manifest = await asyncio.to_thread(  # the digest of the body releases the lock
            partial(manifest_for, state, slot=slot, journal=journal, body=body, first=first),
            chunks=len(chunks),
        )
        await (await producer.send(topic, key=str(slot).encode(), value=manifest, partition=number))
    state.snapshot_slot, state.snapshot_at = 1 - slot, journal
    _log.info(
        "snapshot.saved",
        partition=number,
        journal=journal,
        slot=slot,
        bytes=len(body),
        chunks=len(chunks),
    )
    return journal


async def snapshot_bounds(
    reader: AIOKafkaConsumer, settings: KafkaSettings, numbers: list[int]
) -> dict[int, tuple[int, int]]:
    """First and end offsets of these snapshots partitions, in two requests for all of them."""
    if not numbers:
        return {}
    tps = [TopicPartition(settings.topics.snapshots, number) for number in numbers]
    begins = await reader.beginning_offsets(tps)
    ends = await reader.end_offsets(tps)
    return {tp.partition: (begins[tp], ends[tp]) for tp in tps}


async def load_snapshot(
    reader: AIOKafkaConsumer,
    settings: KafkaSettings,
    number: int,
    policy: Policy,
    bounds: tuple[int, int] | None = None,
) -> tuple[Restored, int] | None:
    """The newest usable snapshot of a partition and its slot, or None (fold everything).

    ``bounds`` are the partition's first and end offsets if already known
    (:func:`snapshot_bounds`: taking eight partitions costs two requests, not sixteen).
    """
    tp = TopicPartition(settings.topics.snapshots, number)
    if bounds is None:
        bounds = (await snapshot_bounds(reader, settings, [number]))[number]
    begin, end = bounds
    if begin >= end:
        return None
    reader.assign([tp])
    high, window = end, _FIRST_WINDOW
    while high > begin:
        low = max(begin, high - window)
        records = await _read_range(reader, tp, low, high)
        for record in reversed(records):
            if not is_manifest(record.key):
                continue
            try:
                manifest = decode_manifest(record.value)
                chunks = await _chunks(reader, tp, manifest.first, manifest.chunks, manifest.slot)
                restored = restore_snapshot(manifest, chunks, number, policy)
                await _check_journal(reader, settings, number, restored)
            except SnapshotError as exc:
                _log.warning(
                    "snapshot.unusable", partition=number, offset=record.offset, reason=str(exc)
                )
                reader.assign([tp])
                continue
            return restored, manifest.slot
        high, window = low, window * 4
    return None


async def _chunks(
    reader: AIOKafkaConsumer, tp: TopicPartition, first: int, count: int, slot: int
) -> list[bytes]:
    """The values of a snapshot's chunks, in order; SnapshotError if one is missing."""
    if first < 0 or count < 1:
        raise SnapshotError(f"its chunks are at {first} (+{count})")
    records = await _read_range(reader, tp, first, first + count)
    values = []
    for index, record in enumerate(records):
        if record.offset != first + index or record.key != chunk_key(slot, index):
            raise SnapshotError(f"its chunk {index} is not at offset {first + index}")
        values.append(record.value or b"")
    return values


async def _check_journal(
    reader: AIOKafkaConsumer, settings: KafkaSettings, number: int, restored: Restored
) -> None:
    """SnapshotError unless the journal holds the record the snapshot covers, as it saw it."""
    tp = TopicPartition(settings.topics.journal, number)
    reader.assign([tp])
    end = (await reader.end_offsets([tp]))[tp]
    if restored.journal >= end:
        raise SnapshotError(f"it covers journal offset {restored.journal}; the journal ends first")
    records = await _read_range(reader, tp, restored.journal, restored.journal + 1)
    if not records or records[0].offset != restored.journal:
        raise SnapshotError(f"the journal has no record at offset {restored.journal}")
    try:
        offsets = decode_batch(records[0].value).offsets
    except LogError as exc:
        raise SnapshotError(str(exc)) from None
    if offsets != restored.offsets:
        raise SnapshotError(
            f"the journal record at offset {restored.journal} has other input positions"
        )


async def _read_range(
    reader: AIOKafkaConsumer, tp: TopicPartition, low: int, high: int
) -> list[Any]:
    """The committed records of ``tp`` at offsets ``low`` <= offset < ``high``, in order."""
    reader.seek(tp, low)
    found: list[Any] = []
    idle = 0
    position = low
    while idle < _EMPTY_POLLS and position < high:
        batch = await reader.getmany(tp, timeout_ms=1_000, max_records=10_000)
        records = batch.get(tp, [])
        moved, position = position, await reader.position(tp)
        idle = 0 if records or position != moved else idle + 1
        found.extend(r for r in records if low <= r.offset < high)
    return found
