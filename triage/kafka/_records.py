"""What the Kafka runtime writes and where: journal records, topics of events, partitions.

The journal topic is the Kafka runtime's ordered log: one record per
committed batch of a partition (or a few, for a large batch), holding the
accepted inputs of the batch, each with the outputs it caused, and the input
positions the batch reached. A record is plain JSON that needs no framework
to read.
"""

from __future__ import annotations

from typing import Final

import msgspec
from aiokafka.partitioner import murmur2

from events import LogError

from .._dead_letters import Retry
from ._settings import KafkaSettings

__all__ = [
    "JournalBatch",
    "RetryMarks",
    "decode_batch",
    "encode_batch",
    "frame_entry",
    "journal_records",
    "journal_values",
    "partition_for",
    "topic_for",
]

_RECORD_BYTES: Final = 512 * 1024  # well under the brokers' default message.max.bytes (1 MiB)
_TOPIC_OF_TYPE: Final = {
    "task.created": "tasks",
    "task.cancelled": "tasks",
    "clock.tick": "tasks",
    "expert.profile": "experts",
    "expert.status": "experts",
    "expert.removed": "experts",
    "task.declined": "work",
    "task.submitted": "work",
    "task.reviewed": "work",
}


class JournalBatch(msgspec.Struct, frozen=True, kw_only=True):
    """One committed batch of a partition: inputs with their outputs, and positions.

    ``entries`` holds, for each accepted input in processing order, the
    input and the outputs it caused, as raw canonical JSON. ``offsets`` maps
    each input topic to the next offset to read in this partition.
    """

    v: int = 1
    offsets: dict[str, int]
    entries: list[tuple[msgspec.Raw, list[msgspec.Raw]]]
    deadletters: int = 0


_batch_decoder: Final = msgspec.json.Decoder(JournalBatch)


class RetryMarks(msgspec.Struct, frozen=True):
    """Every retry marked on one dead letter so far, oldest first (the value on the
    compacted retried topic, keyed by ``dead_letter``: the latest record is the whole story)."""

    dead_letter: str
    retries: list[Retry]


def frame_entry(entry: bytes, outputs: list[bytes]) -> bytes:
    """One entry of a journal record, from an encoded input and its encoded outputs."""
    return b"".join((b"[", entry, b",[", b",".join(outputs), b"]]"))


def encode_batch(
    offsets: dict[str, int], entries: list[tuple[bytes, list[bytes]]], deadletters: int
) -> bytes:
    """The journal record of a batch, built from already-encoded events."""
    return _record(offsets, [frame_entry(entry, outs) for entry, outs in entries], deadletters)


def _record(offsets: dict[str, int], framed: list[bytes], deadletters: int) -> bytes:
    return b"".join(
        (
            b'{"v":1,"offsets":',
            msgspec.json.encode(offsets),
            b',"entries":[',
            b",".join(framed),
            b'],"deadletters":',
            str(deadletters).encode(),
            b"}",
        )
    )


def decode_batch(raw: bytes) -> JournalBatch:
    """A journal record, or LogError if it is not one."""
    try:
        return _batch_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise LogError(f"journal record is not a batch: {exc}") from None


def journal_records(
    offsets: dict[str, int], entries: list[tuple[bytes, list[bytes]]], deadletters: int
) -> list[bytes]:
    """A batch as journal records of at most about 512 KiB each.

    All records of a batch are written in one transaction, so each may carry
    the batch's final positions: recovery sees all of them or none.
    """
    return journal_values(
        offsets, [frame_entry(entry, outs) for entry, outs in entries], deadletters
    )


def journal_values(offsets: dict[str, int], framed: list[bytes], deadletters: int) -> list[bytes]:
    """:func:`journal_records` of entries already framed by :func:`frame_entry`."""
    records: list[bytes] = []
    start = size = 0
    for index, entry in enumerate(framed):
        # What an entry has always weighed (its input, each output and a comma,
        # and 8), so that a large batch splits where it always did: a framed
        # entry is 4 bytes lighter, or 3 without outputs (no comma between them).
        weight = len(entry) + (3 if entry.endswith(b",[]]") else 4)
        if index > start and size + weight > _RECORD_BYTES:
            records.append(_record(offsets, framed[start:index], 0))
            start, size = index, 0
        size += weight
    records.append(_record(offsets, framed[start:], deadletters))
    return records


def partition_for(workspace: str, partitions: int) -> int:
    """The partition of a workspace: Kafka's default partitioner on its UTF-8 key."""
    return int(murmur2(workspace.encode()) & 0x7FFFFFFF) % partitions


def topic_for(settings: KafkaSettings, event_type: str) -> str:
    """The input topic an event type belongs on (the contract's table)."""
    return f"{settings.topics.prefix}{_TOPIC_OF_TYPE.get(event_type, 'tasks')}"
