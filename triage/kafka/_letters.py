"""The dead letters on Kafka: reading them with their retries, and retrying them.

A dead letter is a record of the dead-letter topic; its id is that record's
place, ``TOPIC:PARTITION:OFFSET`` (``triage.deadletter:0:17``), and its
receive time is the record's timestamp (when the worker wrote it). Retries
are marked on the compacted topic ``triage.deadletter.retried``: one record
per retry, keyed by the dead letter's id, whose value carries every retry
of that letter so far, so that compaction keeps the whole history::

    {"dead_letter": "triage.deadletter:0:17",
     "retries": [{"event": "t-9", "workspace": "acme", "at": "2026-12-01T12:00:00Z"}]}

A retry publishes each corrected event as the publisher does (to the topic
of its type, keyed by its workspace) and waits for the broker to have them,
then writes the marks, both with ``acks=all``. A retry cut off in between
has published events and marked nothing: running it again publishes them
again, which the workers ignore as duplicates (same id), and marks them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from events import InputEvent

from .._dead_letters import Kept, Retry
from ._admin import create_missing_topics, partitions_of
from ._errors import kafka_errors, start_or_close
from ._publish import Publisher
from ._read import read_marks, read_to_end
from ._records import RetryMarks
from ._settings import KafkaSettings

__all__ = ["read_dead_letter", "read_dead_letters", "retry_on_kafka"]

_FETCH_POLLS = 5


_encoder = msgspec.json.Encoder()


@kafka_errors
def read_dead_letters(
    settings: KafkaSettings, progress: Callable[[int, int | None], None] | None = None
) -> list[Kept]:
    """Every dead letter, partition by partition, oldest first, with its retries.

    ``progress(count, None)`` is called every 1,000 letters.
    """

    async def read() -> list[Kept]:
        marks = await read_marks(settings)
        letters = []
        async for record in read_to_end(settings, settings.topics.deadletter):
            letters.append(_kept(record, marks))
            if progress is not None and len(letters) % 1_000 == 0:
                progress(len(letters), None)
        return letters

    return asyncio.run(read())


@kafka_errors
def read_dead_letter(settings: KafkaSettings, ids: Iterable[str]) -> dict[str, Kept | None]:
    """The dead letters of these ids (``None``: no such letter), each read where it is."""
    return asyncio.run(_fetch(settings, list(ids)))


@kafka_errors
def retry_on_kafka(
    settings: KafkaSettings, retries: Sequence[tuple[Kept, InputEvent]], at: datetime
) -> None:
    """Publish each corrected event, then mark its dead letter retried at ``at``."""
    asyncio.run(_retry(settings, retries, at))


# --- reading -------------------------------------------------------------------------


def _kept(record: Any, marks: dict[str, tuple[Retry, ...]]) -> Kept:
    headers = {k: v.decode("utf-8", errors="replace") for k, v in record.headers or ()}
    letter = f"{record.topic}:{record.partition}:{record.offset}"
    return Kept(
        id=letter,
        received=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        source=headers.get("triage.source.topic", ""),
        location=(
            f"partition {headers.get('triage.source.partition', '?')} "
            f"offset {headers.get('triage.source.offset', '?')}"
        ),
        error=headers.get("triage.error", ""),
        raw=record.value or b"",
        key=record.key,
        retries=marks.get(letter, ()),
    )


def _place(settings: KafkaSettings, letter: str) -> tuple[int, int] | None:
    """The partition and offset of a dead letter's id on this broker's dead-letter topic."""
    topic, _, rest = letter.partition(":")
    partition, _, offset = rest.partition(":")
    if topic != settings.topics.deadletter:
        return None
    if not (partition.isascii() and partition.isdigit() and offset.isascii() and offset.isdigit()):
        return None
    return int(partition), int(offset)


async def _fetch(settings: KafkaSettings, ids: list[str]) -> dict[str, Kept | None]:
    found: dict[str, Kept | None] = dict.fromkeys(ids)
    places = {letter: _place(settings, letter) for letter in ids}
    wanted = {letter: place for letter, place in places.items() if place is not None}
    if not wanted:
        return found
    marks = await read_marks(settings)
    partitions = set(await partitions_of(settings, settings.topics.deadletter))
    consumer = AIOKafkaConsumer(
        client_id=f"{settings.client_id}-reader",
        isolation_level="read_committed",
        enable_auto_commit=False,
        **settings.client_options(),
    )
    await start_or_close(consumer)
    topic = settings.topics.deadletter
    try:
        for letter, (partition, offset) in sorted(wanted.items()):
            if partition not in partitions:
                continue
            async for record in _records_at(consumer, topic, partition, offset):
                found[letter] = _kept(record, marks)
    finally:
        await consumer.stop()
    return found


async def _records_at(
    consumer: AIOKafkaConsumer, topic: str, partition: int, offset: int
) -> AsyncIterator[Any]:
    """The committed record at ``offset`` of a partition, if there is one there."""
    tp = TopicPartition(topic, partition)
    consumer.assign([tp])
    end = (await consumer.end_offsets([tp]))[tp]
    if offset >= end:
        return
    consumer.seek(tp, offset)
    for _ in range(_FETCH_POLLS):
        batch = await consumer.getmany(tp, timeout_ms=1_000, max_records=1)
        for record in batch.get(tp, []):
            if record.offset == offset:
                yield record
            return  # a later offset: the one asked for is a marker or aborted
        if await consumer.position(tp) >= end:
            return


# --- retrying --------------------------------------------------------------------------


async def _retry(
    settings: KafkaSettings, retries: Sequence[tuple[Kept, InputEvent]], at: datetime
) -> None:
    await create_missing_topics(settings)  # the marks' topic, on a cluster older than it
    async with Publisher(settings) as publisher:
        for _, event in retries:
            await publisher.send(event)
        await publisher.flush()
    producer = AIOKafkaProducer(
        client_id=f"{settings.client_id}-retry",
        enable_idempotence=True,
        acks="all",
        **settings.client_options(),
    )
    await start_or_close(producer)
    try:
        marked: dict[str, list[Retry]] = {}
        for letter, event in retries:
            history = marked.setdefault(letter.id, list(letter.retries))
            history.append(Retry(event=event.id, workspace=event.workspace, at=at))
            await producer.send(
                settings.topics.retried,
                key=letter.id.encode(),
                value=_encoder.encode(RetryMarks(dead_letter=letter.id, retries=history)),
            )
        await producer.flush()
    finally:
        await producer.stop()
