"""Kafka clients around the core: topics, publishing, tailing, reading the journal.

The journal topic is the Kafka runtime's ordered log: one record per
committed batch of a partition, holding the accepted inputs of the batch,
each with the outputs it caused, and the input positions the batch reached.
Everything here that reads Triage's state (dump, report) reads the journal
with ``read_committed``, so it sees exactly the batches that happened.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncGenerator, Iterable, Iterator
from typing import Any, BinaryIO, Final

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

from events import InputEvent, InvalidEvent, LogError, decode_event, decode_input, encode, type_name
from projections import Projections

from ._settings import KafkaSettings

__all__ = [
    "JournalBatch",
    "Published",
    "Publisher",
    "create_topics",
    "dump_kafka",
    "partition_for",
    "publish_lines",
    "read_journal",
    "report_kafka",
    "tail_assignments",
    "topic_for",
]

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


def encode_batch(
    offsets: dict[str, int], entries: list[tuple[bytes, list[bytes]]], deadletters: int
) -> bytes:
    """The journal record of a batch, built from already-encoded events."""
    body = b",".join(b"[" + entry + b",[" + b",".join(outs) + b"]]" for entry, outs in entries)
    return (
        b'{"v":1,"offsets":'
        + msgspec.json.encode(offsets)
        + b',"entries":['
        + body
        + b'],"deadletters":'
        + str(deadletters).encode()
        + b"}"
    )


def decode_batch(raw: bytes) -> JournalBatch:
    """A journal record, or LogError if it is not one."""
    try:
        return _batch_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise LogError(f"journal record is not a batch: {exc}") from None


def partition_for(workspace: str, partitions: int) -> int:
    """The partition of a workspace: Kafka's default partitioner on its UTF-8 key."""
    return int(murmur2(workspace.encode()) & 0x7FFFFFFF) % partitions


def topic_for(settings: KafkaSettings, event_type: str) -> str:
    """The input topic an event type belongs on (the contract's table)."""
    return f"{settings.topics.prefix}{_TOPIC_OF_TYPE.get(event_type, 'tasks')}"


# --- topics --------------------------------------------------------------------


def create_topics(settings: KafkaSettings) -> list[str]:
    """Create the topics that are missing; say what was created and what existed."""
    return asyncio.run(_create_topics(settings))


async def _create_topics(settings: KafkaSettings) -> list[str]:
    admin = AIOKafkaAdminClient(client_id=settings.client_id, **settings.client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        keep = {"retention.ms": "-1", "min.insync.replicas": str(settings.min_insync)}
        wanted = [
            NewTopic(
                name,
                settings.partitions,
                settings.replication,
                topic_configs=keep
                if name == settings.topics.journal
                else {"min.insync.replicas": str(settings.min_insync)},
            )
            for name in settings.topics.all
            if name not in existing
        ]
        lines = [f"exists {name}" for name in settings.topics.all if name in existing]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker won the race
                await admin.create_topics(wanted)
            lines += [f"created {t.name} ({settings.partitions} partitions)" for t in wanted]
        await _wait_for_topics(admin, settings.topics.all)
        return sorted(lines, key=lambda line: line.split()[-1])
    finally:
        await admin.close()


async def _wait_for_topics(admin: AIOKafkaAdminClient, names: Iterable[str]) -> None:
    """Until every topic has leaders for all its partitions (new topics take a moment)."""
    for _ in range(100):
        described = await admin.describe_topics(list(names))
        if all(
            t.get("partitions") and all(p["leader"] >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        await asyncio.sleep(0.1)
    raise LogError("topics were created but have no leaders yet")


# --- publishing ----------------------------------------------------------------


class Published(msgspec.Struct, frozen=True):
    """What one publish did, with a line per skipped input."""

    published: int
    skipped: int
    problems: list[str]


class Publisher:
    """A small publisher for upstream systems: validated events, keyed by workspace.

    >>> async with Publisher(settings) as publisher:       # doctest: +SKIP
    ...     await publisher.publish(task_created_event)

    Events are checked against the contract before they leave (by
    construction, when they are the ``events`` Structs), go to the topic of
    their type, and use an idempotent producer with ``acks=all``, so a retry
    inside the client never duplicates a record. Resending an event is safe
    too: the engine ignores an id it has seen.
    """

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._producer = AIOKafkaProducer(
            client_id=f"{settings.client_id}-publisher",
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            **settings.client_options(),
        )

    async def __aenter__(self) -> Publisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def publish(self, event: InputEvent) -> None:
        """Send one event and wait until the broker has it."""
        await self.send(event)
        await self._producer.flush()

    async def send(self, event: InputEvent) -> None:
        """Queue one event for sending; ``flush`` or leaving the block waits for it."""
        await self.send_raw(type_name(event), event.workspace, encode(event))

    async def send_raw(
        self, event_type: str, workspace: str, value: bytes, topic: str | None = None
    ) -> None:
        """Queue bytes as they are (for tests of bad input, and for relays)."""
        await self._producer.send(
            topic or topic_for(self.settings, event_type), value=value, key=workspace.encode()
        )

    async def flush(self) -> None:
        """Wait until everything queued is on the broker."""
        await self._producer.flush()


def publish_lines(
    settings: KafkaSettings, source: BinaryIO, *, raw: bool = False, topic: str | None = None
) -> Published:
    """Publish JSON Lines; invalid lines are skipped with a reason unless ``raw``."""
    return asyncio.run(_publish_lines(settings, source, raw=raw, topic=topic))


async def _publish_lines(
    settings: KafkaSettings, source: BinaryIO, *, raw: bool, topic: str | None
) -> Published:
    published = skipped = 0
    problems: list[str] = []
    async with Publisher(settings) as publisher:
        for number, line in enumerate(source, start=1):
            value = line.rstrip(b"\r\n")
            if not value.strip():
                continue
            try:
                event = decode_input(value)
            except InvalidEvent as exc:
                if not raw:
                    skipped += 1
                    problems.append(f"line {number}: {exc.reason}")
                    continue
                kind, space = _probe(value)
                await publisher.send_raw(kind, space, value, topic)
            else:
                payload = value if raw else encode(event)
                kind = type_name(event)
                await publisher.send_raw(kind, event.workspace, payload, topic)
            published += 1
        await publisher.flush()
    return Published(published, skipped, problems)


def _probe(value: bytes) -> tuple[str, str]:
    """Type and workspace of a line that is not a valid event, as far as they can be read."""
    try:
        probe = msgspec.json.decode(value)
    except msgspec.DecodeError:
        return "", ""
    if not isinstance(probe, dict):
        return "", ""
    return str(probe.get("type", "")), str(probe.get("workspace", ""))


# --- reading -------------------------------------------------------------------


async def _partitions(settings: KafkaSettings, topic: str) -> list[int]:
    """The partition numbers of a topic, or LogError if there is no such topic."""
    admin = AIOKafkaAdminClient(
        client_id=f"{settings.client_id}-admin", **settings.client_options()
    )
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    numbers = sorted(p["partition"] for p in described.get("partitions") or ())
    if not numbers:
        raise LogError(f"no topic {topic} on {settings.bootstrap}")
    return numbers


async def _read_to_end(
    settings: KafkaSettings, topic: str, *, follow: bool = False, from_beginning: bool = True
) -> AsyncGenerator[Any, None]:
    """Records of every partition of a topic, committed ones only, up to the end."""
    consumer = AIOKafkaConsumer(
        client_id=f"{settings.client_id}-reader",
        isolation_level="read_committed",
        enable_auto_commit=False,
        **settings.client_options(),
    )
    await consumer.start()
    try:
        partitions = await _partitions(settings, topic)
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
            while idle < 3 and await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1_000, max_records=5_000)
                records = batch.get(tp, [])
                # Offsets of transaction markers and aborted records yield nothing.
                idle = 0 if records else idle + 1
                for record in records:
                    yield record
    finally:
        await consumer.stop()


def read_journal(settings: KafkaSettings) -> Iterator[tuple[int, JournalBatch]]:
    """Every committed journal batch, partition by partition, in order."""
    loop = asyncio.new_event_loop()
    records = _read_to_end(settings, settings.topics.journal)
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
    async for record in _read_to_end(settings, settings.topics.deadletter):
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


def report_kafka(settings: KafkaSettings) -> Any:
    """The projections folded from the journal and the dead letters on Kafka."""
    folded = Projections()
    for _, batch in read_journal(settings):
        for entry, outputs in batch.entries:
            folded.apply(decode_event(bytes(entry)))
            for output in outputs:
                folded.apply(decode_event(bytes(output)))
    for line in asyncio.run(_dead_letters(settings)):
        folded.dead_letter(msgspec.json.decode(line)["source"])
    return folded.report()


def tail_assignments(
    settings: KafkaSettings, out: BinaryIO, *, from_beginning: bool, follow: bool
) -> None:
    """Print decisions from the assignments topic as they come."""

    async def run() -> None:
        async for record in _read_to_end(
            settings, settings.topics.assignments, follow=follow, from_beginning=from_beginning
        ):
            out.write(record.value + b"\n")
            out.flush()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
