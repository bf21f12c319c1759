"""Reading what the Kafka runtime wrote: the journal, the dead letters, the decisions.

Everything here that reads Triage's state (dump, report) reads the journal
with ``read_committed``, so it sees exactly the batches that happened.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
from collections.abc import AsyncGenerator, Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO, Protocol

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from events import LogError
from projections import Report, fold

from .._dead_letters import Retry
from ._admin import partitions_of
from ._errors import kafka_errors, start_or_close
from ._records import JournalBatch, RetryMarks, decode_batch
from ._settings import KafkaSettings

#: Empty polls in a row after which a partition counts as read to its end: offsets of
#: transaction markers and aborted records yield nothing, so the end is not reached.
_EMPTY_POLLS = 3
_marks_decoder = msgspec.json.Decoder(RetryMarks)

__all__ = [
    "JournalSink",
    "dump_kafka",
    "follow_journal",
    "read_journal",
    "read_marks",
    "read_to_end",
    "report_kafka",
    "tail_assignments",
]


async def read_to_end(
    settings: KafkaSettings, topic: str, *, follow: bool = False, from_beginning: bool = True
) -> AsyncGenerator[Any, None]:
    """Records of every partition of a topic, committed ones only, up to the end."""
    consumer = AIOKafkaConsumer(
        client_id=f"{settings.client_id}-reader",
        isolation_level="read_committed",
        enable_auto_commit=False,
        **settings.client_options(),
    )
    await start_or_close(consumer)
    try:
        partitions = await partitions_of(settings, topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            await consumer.seek_to_end(*tps)
        if follow:
            while True:
                batch = await consumer.getmany(timeout_ms=1_000)
                for tp in sorted(batch, key=lambda t: t.partition):
                    for record in batch[tp]:
                        yield record
        ends = await consumer.end_offsets(tps)
        for tp in tps:  # one partition after another: each is one ordered log
            idle = 0
            while idle < _EMPTY_POLLS and await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1_000, max_records=5_000)
                records = batch.get(tp, [])
                # Offsets of transaction markers and aborted records yield nothing.
                idle = 0 if records else idle + 1
                for record in records:
                    yield record
    finally:
        await consumer.stop()


async def _topic_exists(settings: KafkaSettings, topic: str) -> bool:
    admin = AIOKafkaAdminClient(
        client_id=f"{settings.client_id}-admin", **settings.client_options()
    )
    await start_or_close(admin)
    try:
        return topic in set(await admin.list_topics())
    finally:
        await admin.close()


async def read_marks(settings: KafkaSettings) -> dict[str, tuple[Retry, ...]]:
    """The retries marked on every dead letter, by its id: the latest record of each key.

    A cluster whose topics were made by a Triage older than the retried topic has none.
    """
    topic = settings.topics.retried
    if not await _topic_exists(settings, topic):
        return {}
    marks: dict[str, tuple[Retry, ...]] = {}
    async for record in read_to_end(settings, topic):
        if record.value is None:
            continue  # Triage writes no tombstones; one written by hand removes nothing here
        try:
            found = _marks_decoder.decode(record.value)
        except msgspec.DecodeError as exc:
            raise LogError(
                f"{topic} partition {record.partition} offset {record.offset} "
                f"is not a retry mark: {exc}"
            ) from None
        marks[found.dead_letter] = tuple(found.retries)
    return marks


@kafka_errors
def read_journal(settings: KafkaSettings) -> Iterator[tuple[int, JournalBatch]]:
    """Every committed journal batch, partition by partition, in order."""
    loop = asyncio.new_event_loop()
    records = read_to_end(settings, settings.topics.journal)
    try:
        while True:
            try:
                record = loop.run_until_complete(records.__anext__())
            except StopAsyncIteration:
                return
            yield record.partition, decode_batch(record.value)
    finally:
        loop.run_until_complete(records.aclose())
        loop.close()


@kafka_errors
def dump_kafka(settings: KafkaSettings, out: BinaryIO, *, deadletters: bool = False) -> None:
    """Print the journal (or the dead letters) as JSON Lines."""
    if deadletters:
        for line in asyncio.run(_dead_letters(settings)):
            out.write(line + b"\n")
        return
    for _, batch in read_journal(settings):
        for entry, outputs in batch.entries:
            out.write(bytes(entry) + b"\n")
            for output in outputs:
                out.write(bytes(output) + b"\n")


async def _dead_letters(settings: KafkaSettings) -> list[bytes]:
    lines = []
    async for record in read_to_end(settings, settings.topics.deadletter):
        headers = {k: v.decode() for k, v in record.headers or ()}
        lines.append(
            msgspec.json.encode(
                {
                    "source": headers.get("triage.source.topic", ""),
                    "location": (
                        f"partition {headers.get('triage.source.partition', '?')} "
                        f"offset {headers.get('triage.source.offset', '?')}"
                    ),
                    "error": headers.get("triage.error", ""),
                    "raw": record.value.decode("utf-8", errors="replace"),
                    "raw_base64": base64.b64encode(record.value).decode(),
                }
            )
        )
    return lines


@kafka_errors
def report_kafka(settings: KafkaSettings) -> Report:
    """The projections folded from the journal and the dead letters on Kafka."""
    entries = (
        (bytes(entry), [bytes(o) for o in outputs])
        for _, batch in read_journal(settings)
        for entry, outputs in batch.entries
    )
    sources = [msgspec.json.decode(line)["source"] for line in asyncio.run(_dead_letters(settings))]
    retried = sum(1 for retries in asyncio.run(read_marks(settings)).values() if retries)
    return fold(entries, sources, retried=retried)


@kafka_errors
def tail_assignments(
    settings: KafkaSettings, out: BinaryIO, *, from_beginning: bool, follow: bool
) -> None:
    """Print decisions from the assignments topic as they come."""

    async def run() -> None:
        async for record in read_to_end(
            settings, settings.topics.assignments, follow=follow, from_beginning=from_beginning
        ):
            out.write(record.value + b"\n")
            out.flush()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


class JournalSink(Protocol):
    """What :func:`follow_journal` feeds: entries, dead letters, and the first catch-up."""

    def entry(self, raw: bytes, outputs: list[bytes]) -> None:
        """One accepted input (canonical JSON) and the outputs it caused."""

    def dead_letter(
        self,
        source: str,
        location: str,
        error: str,
        *,
        letter: str = "",
        received: datetime | None = None,
    ) -> None:
        """One record of an input topic that never became an event; ``letter``: its id."""

    def retried(self, letter: str, event: str, at: datetime) -> None:
        """The latest retry marked on the dead letter ``letter``: by ``event``, at ``at``."""

    def caught_up(self) -> None:
        """Everything committed when following began has been fed."""


@kafka_errors
def follow_journal(settings: KafkaSettings, sink: JournalSink, stop: threading.Event) -> None:
    """Feed ``sink`` every committed journal entry and dead letter, then those to come.

    Partitions are read side by side: each is one ordered log, and a
    workspace lives in one partition, so the folds see each workspace in
    order. Stops within half a second of ``stop``.
    """
    asyncio.run(_follow(settings, sink, stop))


async def _follow(settings: KafkaSettings, sink: JournalSink, stop: threading.Event) -> None:
    topics = settings.topics
    consumer = AIOKafkaConsumer(
        client_id=f"{settings.client_id}-serve",
        isolation_level="read_committed",
        enable_auto_commit=False,
        **settings.client_options(),
    )
    await start_or_close(consumer)
    try:
        followed = [topics.journal, topics.deadletter]
        if await _topic_exists(settings, topics.retried):
            followed.append(topics.retried)
        tps = [
            TopicPartition(topic, number)
            for topic in followed
            for number in sorted(await partitions_of(settings, topic))
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        idle, ready = 0, False
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=500, max_records=5_000)
            for tp in sorted(batch, key=lambda t: (t.topic, t.partition)):
                for record in batch[tp]:
                    if tp.topic == topics.journal:
                        for raw, outputs in decode_batch(record.value).entries:
                            sink.entry(bytes(raw), [bytes(output) for output in outputs])
                    elif tp.topic == topics.retried:
                        marks = _marks_decoder.decode(record.value) if record.value else None
                        if marks is not None and marks.retries:
                            last = marks.retries[-1]
                            sink.retried(marks.dead_letter, last.event, last.at)
                    else:
                        headers = {k: v.decode() for k, v in record.headers or ()}
                        sink.dead_letter(
                            headers.get("triage.source.topic", ""),
                            f"partition {headers.get('triage.source.partition', '?')} "
                            f"offset {headers.get('triage.source.offset', '?')}",
                            headers.get("triage.error", ""),
                            letter=f"{record.topic}:{record.partition}:{record.offset}",
                            received=datetime.fromtimestamp(record.timestamp / 1000, UTC),
                        )
            if not ready:
                # Transaction markers yield no records: an idle run also means the end.
                idle = 0 if batch else idle + 1
                positions = [await consumer.position(tp) for tp in tps]
                if idle >= _EMPTY_POLLS or all(
                    p >= ends[tp] for p, tp in zip(positions, tps, strict=True)
                ):
                    ready = True
                    sink.caught_up()
    finally:
        await consumer.stop()
