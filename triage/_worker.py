"""The Kafka runtime: the same engine, one per partition, with exact recovery.

Workers of one consumer group split the partitions of the three input
topics; the range assignor gives partition p of every input topic to the
same worker, and a workspace always lands in the same p (the record key is
the workspace), so each workspace is routed by exactly one worker at a time.

For each partition it owns, a worker keeps an engine and writes one journal
record per batch to partition p of the journal topic: the accepted inputs in
the order it processed them, each with its outputs, and the input positions
reached. The journal record, the decisions on the assignments topic, the
dead letters and the group's offsets are written in one Kafka transaction by
a producer whose transactional id belongs to the partition, not the worker:
a new owner's producer fences the old one, so a stalled former owner can
never write again. The journal is the system of record: a worker that gets a
partition folds its journal (read_committed) to rebuild the engine, the set
of event ids seen and the input positions, and carries on from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError, ProducerFenced
from aiokafka.structs import OffsetAndMetadata

from events import (
    InputEvent,
    InvalidEvent,
    OutputEvent,
    clock_ticks,
    decode_input,
    encode,
    to_micros,
)
from router import DEFAULT_POLICY, Engine, Policy

from ._embedded import log_decisions
from ._kafka import _create_topics, decode_batch, encode_batch, partition_for
from ._settings import KafkaSettings

__all__ = ["Router", "journal_records"]

_GROUP_OFFSETS_EVERY = 1.0  # seconds

#: How a partition's commit ended: written; refused because another worker
#: owns the partition now; or not written for any other reason.
Outcome = Literal["ok", "fenced", "failed"]
_RECORD_BYTES = 512 * 1024  # well under the brokers' default message.max.bytes (1 MiB)


def journal_records(
    offsets: dict[str, int], entries: list[tuple[bytes, list[bytes]]], deadletters: int
) -> list[bytes]:
    """A batch as journal records of at most about 512 KiB each.

    All records of a batch are written in one transaction, so each may carry
    the batch's final positions: recovery sees all of them or none.
    """
    records: list[bytes] = []
    chunk: list[tuple[bytes, list[bytes]]] = []
    size = 0
    for entry in entries:
        weight = len(entry[0]) + sum(len(o) + 1 for o in entry[1]) + 8
        if chunk and size + weight > _RECORD_BYTES:
            records.append(encode_batch(offsets, chunk, 0))
            chunk, size = [], 0
        chunk.append(entry)
        size += weight
    records.append(encode_batch(offsets, chunk, deadletters))
    return records


_log = structlog.get_logger("triage.worker")


@dataclass
class _Partition:
    """What a worker holds for one partition: a fold of its journal, and more."""

    number: int
    engine: Engine
    seen: set[tuple[str, str]] = field(default_factory=set)
    offsets: dict[str, int] = field(default_factory=dict)  # input topic -> next offset
    group_offsets: dict[str, int] = field(default_factory=dict)  # what the group has
    group_offsets_at: float = -1e9  # monotonic time they were last sent
    journal_next: int = 0  # where to read the journal from to catch up
    producer: AIOKafkaProducer | None = None
    last_tick: float = 0.0
    processed: int = 0
    duplicates: int = 0
    deadletters: int = 0
    buffers: dict[str, deque[_Pending]] = field(default_factory=dict)
    blocked_since: float | None = None

    def fold(self, raw: bytes, offset: int) -> None:
        """Fold one journal record into the state (recovery and catch-up)."""
        batch = decode_batch(raw)
        for entry, _ in batch.entries:
            event = decode_input(bytes(entry))
            self.seen.add((event.workspace, event.id))
            self.engine.apply(event)
        self.offsets.update(batch.offsets)
        self.journal_next = offset + 1


@dataclass(slots=True)  # not frozen: a frozen dataclass is 4x slower to build
class _Pending:
    """A fetched record, decoded, waiting for its turn in the merge."""

    at: int  # event time in microseconds; undecodable records go first
    topic: str
    record: Any
    event: InputEvent | None
    error: str


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, router: Router) -> None:
        self.router = router

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.router.revoke({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.router.assign({tp.partition for tp in assigned})


class Router:
    """One worker: consume inputs, route them, write decisions and journal atomically."""

    def __init__(
        self,
        settings: KafkaSettings,
        policy: Policy = DEFAULT_POLICY,
        *,
        on_outputs: Callable[[Sequence[OutputEvent]], None] | None = log_decisions,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.on_outputs = on_outputs
        self.clock = clock
        self.owned: dict[int, _Partition] = {}
        self.parked: dict[int, _Partition] = {}
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._journal_reader: AIOKafkaConsumer | None = None
        self._partitions: dict[tuple[str, int], int] = {}  # murmur2 is slow in Python
        self._reading = asyncio.Lock()  # one journal reader, shared by catch-ups
        self._inflight: dict[int, asyncio.Task[Outcome]] = {}  # partition -> its commit
        self._unready: set[int] = set()  # assigned, but not taken yet (see _take)
        self._retry_at = 0.0
        self.started = time.monotonic()

    # --- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Create missing topics, then join the group."""
        settings = self.settings
        await _create_topics(settings)
        self._journal_reader = AIOKafkaConsumer(
            client_id=f"{settings.client_id}-journal",
            isolation_level="read_committed",
            enable_auto_commit=False,
            **settings.client_options(),
        )
        await self._journal_reader.start()
        self._consumer = AIOKafkaConsumer(
            group_id=settings.group,
            client_id=settings.client_id,
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            partition_assignment_strategy=(RangePartitionAssignor,),
            fetch_max_wait_ms=50,
            max_poll_interval_ms=300_000,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            **settings.client_options(),
        )
        await self._consumer.start()
        self._consumer.subscribe(list(settings.topics.inputs), listener=_Rebalance(self))

    async def stop(self) -> None:
        """Leave the group and close every client; committed work is kept."""
        async with self._lock:
            await self._reap(block=True)
            for state in [*self.owned.values(), *self.parked.values()]:
                await self._close_producer(state)
            self.owned.clear()
            self.parked.clear()
        if self._consumer is not None:
            await self._consumer.stop()
        if self._journal_reader is not None:
            await self._journal_reader.stop()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume, route and commit until ``stop`` is set (or the task is cancelled).

        Each partition commits in a task of its own, so fetching and routing
        go on while transactions are in flight, and a slow transaction holds
        up only its own partition. A partition with a commit in flight keeps
        buffering; its next batch is taken when the commit is done.
        """
        assert self._consumer is not None
        consumer = self._consumer
        wait_ms = max(1, self.settings.batch_ms)
        try:
            while not stop.is_set():
                # Up to a full batch for every partition in one fetch.
                most = self.settings.batch_max * max(1, len(self.owned))
                batch = await consumer.getmany(timeout_ms=wait_ms, max_records=most)
                async with self._lock:
                    await self._reap(block=False)
                    await self._retry_unready()
                    for tp, records in batch.items():
                        state = self.owned.get(tp.partition)
                        if state is not None:
                            self._buffer(state, tp.topic, records)
                    for number in sorted(self.owned):
                        state = self.owned[number]
                        if number in self._inflight:
                            continue
                        ready = await self._drain(state)
                        if ready or self._lagging(state):
                            self._start_commit(state, ready, ())
                    self._tick()
        finally:
            async with self._lock:
                await self._reap(block=True)

    @staticmethod
    def _lagging(state: _Partition) -> bool:
        """Are the group's offsets of an idle partition due to catch up with the journal?"""
        return (
            state.group_offsets != state.offsets
            and time.monotonic() - state.group_offsets_at >= _GROUP_OFFSETS_EVERY
        )

    def _start_commit(
        self, state: _Partition, pending: Sequence[_Pending], ticks: Sequence[InputEvent]
    ) -> None:
        self._inflight[state.number] = asyncio.create_task(self._settle(state, pending, ticks))

    async def _settle(
        self, state: _Partition, pending: Sequence[_Pending], ticks: Sequence[InputEvent]
    ) -> Outcome:
        """Commit, then keep the partition busy for ``commit_gap_ms``.

        Right after a commit the coordinator is still writing its markers; a
        transaction started then begins with a refused request and a retry.
        The pause costs less, and the next batch is the larger for it.
        """
        outcome = await self._commit(state, pending, ticks)
        if outcome == "ok" and self.settings.commit_gap_ms:
            await asyncio.sleep(self.settings.commit_gap_ms / 1000)
        return outcome

    async def _reap(self, *, block: bool, numbers: set[int] | None = None) -> None:
        """Settle finished commits (or wait for them): handle fencing and failures.

        A commit that failed has left its partition's engine ahead of what was
        written, so that state is dropped: a fenced partition is no longer
        ours; after any other error the partition folds its journal again.
        Caller holds ``_lock``.
        """
        chosen = sorted(self._inflight if numbers is None else numbers & set(self._inflight))
        if block:
            await asyncio.gather(*(self._inflight[n] for n in chosen), return_exceptions=True)
        for number in chosen:
            task = self._inflight[number]
            if not task.done():
                continue
            del self._inflight[number]
            outcome = task.result()  # a bug in _commit is raised here, not lost
            if outcome == "ok":
                continue
            state = self.owned.pop(number, None) or self.parked.pop(number, None)
            if state is None:
                continue
            await self._close_producer(state)
            if outcome == "failed" and block is False:
                await self._reset(state)

    @staticmethod
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

    def _buffer(self, state: _Partition, topic: str, records: list[Any]) -> None:
        """Decode fetched records and queue them for the merge."""
        assert self._consumer is not None
        buffer = state.buffers.setdefault(topic, deque())
        partitions = len(self._consumer.partitions_for_topic(topic) or ()) or 1
        for record in records:
            try:
                event = decode_input(record.value)
            except InvalidEvent as exc:
                buffer.append(_Pending(-(2**62), topic, record, None, exc.reason))
                continue
            expected = self._partition_of(event.workspace, partitions)
            if record.key != event.workspace.encode() or expected != record.partition:
                error = (
                    f"record key must be the workspace {event.workspace!r} (partition "
                    f"{expected}); got key {record.key!r} in partition {record.partition}"
                )
                buffer.append(_Pending(-(2**62), topic, record, None, error))
                continue
            buffer.append(_Pending(to_micros(event.at), topic, record, event, ""))

    def _partition_of(self, workspace: str, partitions: int) -> int:
        key = (workspace, partitions)
        number = self._partitions.get(key)
        if number is None:
            number = self._partitions[key] = partition_for(workspace, partitions)
        return number

    async def _drain(self, state: _Partition) -> list[_Pending]:
        """Take fetched records in one order that does not depend on fetch timing.

        Each input topic keeps its own order; across topics the head with the
        earliest event time goes first (ties: experts, tasks, work). A head is
        only taken while every other topic either has a head to compare with
        or has nothing more to deliver, so a backlog, a replay and a recovery
        after a crash all merge the same way. A topic that stays behind for
        longer than ``merge_wait_ms`` is not waited for any more.
        """
        assert self._consumer is not None
        taken: list[_Pending] = []
        topics = self.settings.topics.inputs
        limit = self.settings.batch_max
        delivered: dict[str, bool] = {}  # positions do not move during a drain
        while len(taken) < limit:
            best: _Pending | None = None
            best_key: tuple[int, int] | None = None
            waiting = False
            for rank, topic in enumerate(topics):
                buffer = state.buffers.get(topic)
                if buffer:
                    key = (buffer[0].at, rank)
                    if best_key is None or key < best_key:
                        best, best_key = buffer[0], key
                    continue
                done = delivered.get(topic)
                if done is None:
                    done = delivered[topic] = await self._delivered(state, topic)
                if not done:
                    waiting = True
            if best is None:
                break
            if waiting:
                now = time.monotonic()
                if state.blocked_since is None:
                    state.blocked_since = now
                if now - state.blocked_since < self.settings.merge_wait_ms / 1000:
                    break
            else:
                state.blocked_since = None
            taken.append(state.buffers[best.topic].popleft())
        return taken

    async def _delivered(self, state: _Partition, topic: str) -> bool:
        """Has this worker been given every committed record of the topic's partition?"""
        assert self._consumer is not None
        tp = TopicPartition(topic, state.number)
        stable = self._consumer.last_stable_offset(tp)
        if stable is None:
            return False
        return bool(await self._consumer.position(tp) >= stable)

    # --- ownership ---------------------------------------------------------------

    async def revoke(self, numbers: set[int]) -> None:
        """Stop routing these partitions; keep their state in case they come back."""
        async with self._lock:
            await self._reap(block=True, numbers=numbers)
            self._unready -= numbers
            for number in sorted(numbers):
                state = self.owned.pop(number, None)
                if state is not None:
                    self.parked[number] = state
            _log.info("partitions.revoked", partitions=sorted(numbers))

    async def assign(self, numbers: set[int]) -> None:
        """Take these partitions: fence former owners, fold the journal, seek the inputs."""
        async with self._lock:
            await self._take(numbers)
            for state in self.parked.values():
                await self._close_producer(state)
            _log.info("partitions.assigned", partitions=sorted(self.owned))

    async def _take(self, numbers: set[int]) -> None:
        """Take partitions one by one; one that cannot be taken now is retried later.

        A partition whose producer or journal cannot be reached (a broker
        down, a coordinator moving) is not routed meanwhile: its records are
        left alone and the loop tries again every second. Caller holds ``_lock``.
        """
        for number in sorted(numbers):
            state = self.parked.pop(number, None) or _Partition(number, Engine(self.policy))
            try:
                await self._close_producer(state)
                state.producer = await self._producer(number)
                await self._catch_up(state)
                await self._seek(state)
            except (KafkaError, OSError, TimeoutError) as exc:
                _log.warning("partition.unready", partition=number, error=str(exc))
                await self._close_producer(state)
                self._unready.add(number)
                continue
            self._unready.discard(number)
            self.owned[number] = state
        self._retry_at = time.monotonic() + 1.0

    async def _retry_unready(self) -> None:
        """Take again the partitions the group gave us that could not be taken. Holds _lock."""
        assert self._consumer is not None
        if not self._unready or time.monotonic() < self._retry_at:
            return
        first = self.settings.topics.inputs[0]
        ours = {tp.partition for tp in self._consumer.assignment() if tp.topic == first}
        self._unready &= ours
        if self._unready:
            await self._take(set(self._unready))
            _log.info("partitions.assigned", partitions=sorted(self.owned))

    async def _producer(self, number: int) -> AIOKafkaProducer:
        settings = self.settings
        producer = AIOKafkaProducer(
            client_id=f"{settings.client_id}-p{number}",
            transactional_id=f"{settings.group}.{settings.topics.journal}.{number}",
            enable_idempotence=True,
            acks="all",
            linger_ms=0,
            retry_backoff_ms=settings.retry_backoff_ms,
            **settings.client_options(),
        )
        await producer.start()  # init_transactions: fences any producer of the former owner
        return producer

    async def _close_producer(self, state: _Partition) -> None:
        if state.producer is not None:
            with contextlib.suppress(KafkaError):
                await state.producer.stop()
            state.producer = None

    async def _catch_up(self, state: _Partition) -> None:
        """Fold the journal records of the partition that this state has not seen."""
        async with self._reading:
            await self._fold_journal(state)

    async def _fold_journal(self, state: _Partition) -> None:
        reader = self._journal_reader
        assert reader is not None
        tp = TopicPartition(self.settings.topics.journal, state.number)
        reader.assign([tp])
        reader.seek(tp, state.journal_next)
        end = (await reader.end_offsets([tp]))[tp]
        folded = idle = 0
        while idle < 3 and await reader.position(tp) < end:
            batch = await reader.getmany(tp, timeout_ms=1_000, max_records=1_000)
            records = batch.get(tp, [])
            idle = 0 if records else idle + 1
            for record in records:
                state.fold(record.value, record.offset)
                folded += 1
        state.journal_next = max(state.journal_next, await reader.position(tp))
        _log.info(
            "partition.recovered",
            partition=state.number,
            batches=folded,
            events=len(state.seen),
            offsets=state.offsets,
        )

    async def _seek(self, state: _Partition) -> None:
        """Move the inputs to where the journal says this partition stopped."""
        assert self._consumer is not None
        state.buffers.clear()
        state.blocked_since = None
        for topic in self.settings.topics.inputs:
            tp = TopicPartition(topic, state.number)
            if topic in state.offsets:
                self._consumer.seek(tp, state.offsets[topic])
            else:
                await self._consumer.seek_to_beginning(tp)

    # --- routing -------------------------------------------------------------------

    def _tick(self) -> None:
        interval = self.settings.tick_seconds
        if interval <= 0:
            return
        now = time.monotonic()
        for number in sorted(self.owned):
            state = self.owned[number]
            if now - state.last_tick < interval or number in self._inflight:
                continue
            state.last_tick = now
            ticks = clock_ticks(self.clock(), state.engine.workspaces)
            if ticks:
                self._start_commit(state, (), ticks)

    async def _commit(
        self, state: _Partition, pending: Sequence[_Pending], ticks: Sequence[InputEvent]
    ) -> Outcome:
        """Route one batch of a partition and write everything it caused in one transaction."""
        topics = self.settings.topics
        entries: list[tuple[bytes, list[bytes]]] = []
        decisions: list[tuple[bytes, bytes]] = []  # (key, value) for the assignments topic
        dead: list[tuple[str, Any, str]] = []
        made: list[OutputEvent] = []
        offsets = dict(state.offsets)
        inputs: list[InputEvent] = []
        for item in pending:
            offsets[item.topic] = item.record.offset + 1
            if item.event is None:
                dead.append((item.topic, item.record, item.error))
            else:
                inputs.append(item.event)
        inputs.extend(ticks)
        for event in inputs:
            key = (event.workspace, event.id)
            if key in state.seen:
                state.duplicates += 1
                continue
            state.seen.add(key)
            outputs = state.engine.apply(event)
            encoded = [encode(o) for o in outputs]
            entries.append((encode(event), encoded))
            workspace = event.workspace.encode()
            decisions.extend((workspace, value) for value in encoded)
            made.extend(outputs)
        # The group's offsets are for lag monitoring only (positions are read
        # from the journal); sending them costs two more round trips, so they
        # ride along at most once a second.
        now = time.monotonic()
        moved: set[str] = set()
        if now - state.group_offsets_at >= _GROUP_OFFSETS_EVERY:
            moved = {t for t in offsets if offsets[t] != state.group_offsets.get(t)}
        if not (pending or ticks or moved):
            return "ok"
        producer = state.producer
        assert producer is not None
        try:
            async with producer.transaction():
                sent = await self._send_many(producer, topics.assignments, state.number, decisions)
                for topic, record, error in dead:
                    sent.append(
                        await producer.send(
                            topics.deadletter,
                            value=record.value,
                            key=record.key,
                            partition=state.number,
                            headers=[
                                ("triage.error", error.encode()),
                                ("triage.source.topic", topic.encode()),
                                ("triage.source.partition", str(record.partition).encode()),
                                ("triage.source.offset", str(record.offset).encode()),
                            ],
                        )
                    )
                journal = None
                if pending or ticks:  # else only the group's offsets catch up
                    for value in journal_records(offsets, entries, len(dead)):
                        journal = await producer.send(
                            topics.journal, value=value, partition=state.number
                        )
                if moved:
                    await producer.send_offsets_to_transaction(
                        {
                            TopicPartition(t, state.number): OffsetAndMetadata(offsets[t], "")
                            for t in sorted(moved)
                        },
                        self.settings.group,
                    )
                await asyncio.gather(*sent)
                written = None if journal is None else await journal
        except ProducerFenced:
            _log.warning("partition.fenced", partition=state.number)
            return "fenced"
        except KafkaError as exc:
            _log.error("partition.reset", partition=state.number, error=str(exc))
            return "failed"
        state.offsets = offsets
        if moved:
            state.group_offsets, state.group_offsets_at = offsets, now
        if written is not None:
            state.journal_next = written.offset + 1
        state.processed += len(entries)
        state.deadletters += len(dead)
        if made and self.on_outputs is not None:
            self.on_outputs(made)
        return "ok"

    async def _reset(self, state: _Partition) -> None:
        """After a failed transaction: forget the uncommitted work, fold the journal again."""
        self.owned.pop(state.number, None)
        self.parked.pop(state.number, None)
        await self._take({state.number})

    # --- status ----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What this worker owns and has done, for the web views."""
        return {
            "group": self.settings.group,
            "client_id": self.settings.client_id,
            "uptime_seconds": round(time.monotonic() - self.started, 1),
            "partitions": {
                str(n): {
                    "workspaces": len(s.engine.workspaces),
                    "processed": s.processed,
                    "duplicates": s.duplicates,
                    "deadletters": s.deadletters,
                    "offsets": s.offsets,
                    "journal_next": s.journal_next,
                }
                for n, s in sorted(self.owned.items())
            },
        }
