"""Writing one batch as one Kafka transaction: decisions, dead letters, journal, offsets.

Everything a batch caused is written by the partition's transactional
producer in a single transaction, so that it exists together or not at all:
the decisions on the assignments topic, the dead letters (raw bytes, with
the reason and the source position as headers), the journal record(s) and,
when due, the consumer group's offsets.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from ._batch import RoutedBatch
from ._records import journal_values
from ._settings import KafkaSettings

__all__ = ["write_transaction"]


async def write_transaction(
    producer: AIOKafkaProducer,
    settings: KafkaSettings,
    partition: int,
    routed: RoutedBatch,
    *,
    journal: bool,
    group_topics: set[str],
) -> int | None:
    """Write the batch in one transaction; the offset of its last journal record, if any.

    ``journal`` is False when only the group's offsets catch up (an idle
    partition). Raises the client's errors (``ProducerFenced``, any
    ``KafkaError``): the transaction is then aborted and nothing is written.
    """
    topics = settings.topics
    async with producer.transaction():
        sent = await _send_many(producer, topics.assignments, partition, routed.decisions)
        for topic, record, error in routed.dead:
            sent.append(
                await producer.send(
                    topics.deadletter,
                    value=record.value,
                    key=record.key,
                    partition=partition,
                    headers=[
                        ("triage.error", error.encode()),
                        ("triage.source.topic", topic.encode()),
                        ("triage.source.partition", str(record.partition).encode()),
                        ("triage.source.offset", str(record.offset).encode()),
                    ],
                )
            )
        last = None
        if journal:
            for value in journal_values(routed.offsets, routed.entries, len(routed.dead)):
                last = await producer.send(topics.journal, value=value, partition=partition)
        if group_topics:
            await producer.send_offsets_to_transaction(
                {
                    TopicPartition(t, partition): OffsetAndMetadata(routed.offsets[t], "")
                    for t in sorted(group_topics)
                },
                settings.group,
            )
        await asyncio.gather(*sent)
        written = None if last is None else await last
    return None if written is None else int(written.offset)


async def _send_many(
    producer: AIOKafkaProducer, topic: str, partition: int, records: list[tuple[bytes, bytes]]
) -> list[Any]:
    """Send (key, value) records to one partition in as few batches as they fit in.

    One batch per request instead of one future per record: a batch of
    decisions costs about what a single send does.
    """
    futures: list[Any] = []
    batch = producer.create_batch()
    for key, value in records:
        if batch.append(key=key, value=value, timestamp=None) is None:
            futures.append(await producer.send_batch(batch, topic, partition=partition))
            batch = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None)
    if batch.record_count():
        futures.append(await producer.send_batch(batch, topic, partition=partition))
    return futures
