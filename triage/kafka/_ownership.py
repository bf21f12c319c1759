"""Partition ownership for the Kafka worker: taking, giving back and recovering partitions.

A worker that gets a partition starts the partition's transactional
producer, whose transactional id belongs to the partition, not the worker:
it fences the former owner's, so a stalled former owner can never write
again. It then folds the partition's journal (read_committed) to rebuild the
engine, the set of event ids seen and the input positions, and seeks the
inputs to where the journal stopped. A revoked partition keeps its state,
parked, in case it comes back. A fresh state starts from the partition's
newest usable snapshot (``_recovery``) and folds only the journal after it;
snapshots are kept every ``snapshot_every`` inputs (:meth:`Ownership._snapshot`).
A partition that cannot be taken now (a
broker down, a coordinator moving) is retried every second. A commit that
was fenced loses its partition; one that failed folds the journal again.

This is the half of :class:`~triage.kafka._worker.Worker` that follows the
group's rebalances, kept apart from the half that consumes, routes and
commits: :class:`Ownership` is a mixin that ``Worker`` inherits, and the
attributes it reads are the worker's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import TYPE_CHECKING, Literal

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError, ProducerFenced

from router import Engine, Policy

from ._batch import PartitionState
from ._recovery import load_snapshot, snapshot_bounds, write_snapshot
from ._settings import KafkaSettings

#: Polls in a row that neither return records nor move the position, after which a
#: partition counts as read to its end: offsets of transaction markers and aborted
#: records yield nothing, so the end is not always reached.
_EMPTY_POLLS = 3

#: The largest record batch a partition's producer builds (the journal's records are
#: up to 512 KiB each; the brokers' default message.max.bytes is 1 MiB).
_RECORD_BATCH_BYTES = 512 * 1024

#: Revocations within this many seconds that make the group's churn worth a warning.
_CHURN_REVOCATIONS, _CHURN_SECONDS = 3, 30.0

__all__ = ["Outcome", "Ownership"]

#: How a partition's commit ended: written; refused because another worker
#: owns the partition now; or not written for any other reason.
Outcome = Literal["ok", "fenced", "failed"]


_log = structlog.get_logger("triage.worker")


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Hands the group's rebalances to the worker: revoke, then assign."""

    def __init__(self, worker: Ownership) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.worker.revoke({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.worker.assign({tp.partition for tp in assigned})


class Ownership:
    """The partitions a worker owns: take them, give them back, recover them from the journal."""

    settings: KafkaSettings
    policy: Policy
    owned: dict[int, PartitionState]
    parked: dict[int, PartitionState]
    _lock: asyncio.Lock
    _consumer: AIOKafkaConsumer | None
    _journal_reader: AIOKafkaConsumer | None
    _reading: asyncio.Lock
    _inflight: dict[int, asyncio.Task[Outcome]]
    _unready: set[int]
    _retry_at: float
    _revoked_at: deque[float]

    if TYPE_CHECKING:  # the worker's, in _worker.py

        def _new_engine(self) -> Engine: ...

    async def _open_journal_reader(self) -> None:
        """Start the one consumer that folds the journals, outside the group."""
        settings = self.settings
        self._journal_reader = AIOKafkaConsumer(
            client_id=f"{settings.client_id}-journal",
            isolation_level="read_committed",
            enable_auto_commit=False,
            # A fold ends with polls that return nothing (past the last
            # transaction marker); at the default 500 ms each, taking the 8
            # partitions of a restart cost 4 s.
            fetch_max_wait_ms=10,
            # A snapshot is hundreds of 512 KiB chunks: a few fetches, not one per chunk.
            max_partition_fetch_bytes=16 * 1024 * 1024,
            **settings.client_options(),
        )
        await self._journal_reader.start()

    async def _close_journal_reader(self) -> None:
        if self._journal_reader is not None:
            await self._journal_reader.stop()

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
            if numbers:
                self._churn()

    def _churn(self) -> None:
        """Warn when partitions keep being taken away: two workers with one instance id."""
        now = time.monotonic()
        self._revoked_at.append(now)
        while now - self._revoked_at[0] > _CHURN_SECONDS:
            self._revoked_at.popleft()
        if len(self._revoked_at) >= _CHURN_REVOCATIONS:
            _log.warning(
                "group.churn",
                revocations=len(self._revoked_at),
                seconds=_CHURN_SECONDS,
                instance_id=self.settings.group_instance_id,
                hint="two workers with the same --instance-id (by default the client id) "
                "take the partitions from each other; give each worker its own",
            )

    async def assign(self, numbers: set[int]) -> None:
        """Take these partitions: fence former owners, fold the journal, seek the inputs."""
        async with self._lock:
            await self._take(numbers)
            for state in self.parked.values():
                await self._close_producer(state)
            _log.info("partitions.assigned", partitions=sorted(self.owned))

    async def _take(self, numbers: set[int]) -> None:
        """Take partitions (producers started together, journals folded in turn).

        One that cannot be taken now is retried later.

        A partition whose producer or journal cannot be reached (a broker
        down, a coordinator moving) is not routed meanwhile: its records are
        left alone and the loop tries again every second. Caller holds ``_lock``.
        """
        states: list[PartitionState] = []
        for number in sorted(numbers):
            parked = self.parked.pop(number, None)
            states.append(parked or PartitionState(number, self._new_engine()))
        for state in states:
            await self._close_producer(state)
        # All producers at once: each start fences the former owner's and waits
        # for its open transaction to be aborted, a round trip or more apiece.
        started = await asyncio.gather(
            *(self._producer(state.number) for state in states), return_exceptions=True
        )
        bounds, ends = await self._known_offsets([s.number for s in states])
        for state, producer in zip(states, started, strict=True):
            number = state.number
            try:
                if isinstance(producer, BaseException):
                    raise producer
                state.producer = producer
                await self._catch_up(state, bounds.get(number), ends.get(number))
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
            # A batch's decisions in one or two record batches, not one per 16 KiB
            # (the client's default): each is an await, futures and a request.
            max_batch_size=_RECORD_BATCH_BYTES,
            retry_backoff_ms=settings.retry_backoff_ms,
            **settings.client_options(),
        )
        await producer.start()  # init_transactions: fences any producer of the former owner
        return producer

    async def _close_producer(self, state: PartitionState) -> None:
        if state.producer is not None:
            with contextlib.suppress(KafkaError):
                await state.producer.stop()
            state.producer = None

    async def _catch_up(
        self,
        state: PartitionState,
        bounds: tuple[int, int] | None = None,
        journal_end: int | None = None,
    ) -> None:
        """Fold the journal records of the partition that this state has not seen.

        A state that has folded nothing starts from the partition's newest
        usable snapshot. ``bounds`` (its snapshots partition's offsets) and
        ``journal_end`` are passed when already known (see ``_known_offsets``).
        """
        async with self._reading:
            await self._fold_journal(state, bounds, journal_end)

    async def _known_offsets(
        self, numbers: list[int]
    ) -> tuple[dict[int, tuple[int, int]], dict[int, int]]:
        """Snapshots partitions' bounds and journal ends of partitions being taken, all at once.

        Asked once for every partition instead of three round trips apiece;
        asked after the partitions' producers have started, so no former
        owner can write to the journal any more. ({}, {}) if they cannot be
        read now: then each partition asks on its own.
        """
        reader = self._journal_reader
        assert reader is not None
        journal = [TopicPartition(self.settings.topics.journal, number) for number in numbers]
        try:
            async with self._reading:
                bounds = await snapshot_bounds(reader, self.settings, numbers)
                ends = await reader.end_offsets(journal) if journal else {}
        except (KafkaError, OSError, TimeoutError, KeyError):
            return {}, {}
        return bounds, {tp.partition: end for tp, end in ends.items()}

    async def _fold_journal(
        self,
        state: PartitionState,
        bounds: tuple[int, int] | None = None,
        journal_end: int | None = None,
    ) -> None:
        reader = self._journal_reader
        assert reader is not None
        if state.journal_next == 0:  # nothing folded yet: start from a snapshot if one is usable
            await self._restore(state, reader, bounds)
        if journal_end is not None and state.journal_next >= journal_end:
            self._recovered(state, 0)  # nothing to fold: an empty partition, or all in the snapshot
            return
        tp = TopicPartition(self.settings.topics.journal, state.number)
        reader.assign([tp])
        reader.seek(tp, state.journal_next)
        end = (await reader.end_offsets([tp]))[tp]
        folded = idle = 0
        position = await reader.position(tp)
        while idle < _EMPTY_POLLS and position < end:
            batch = await reader.getmany(tp, timeout_ms=1_000, max_records=1_000)
            records = batch.get(tp, [])
            moved, position = position, await reader.position(tp)
            idle = 0 if records or position != moved else idle + 1
            for record in records:
                state.fold(record.value, record.offset)
                folded += 1
        state.journal_next = max(state.journal_next, await reader.position(tp))
        self._recovered(state, folded)

    @staticmethod
    def _recovered(state: PartitionState, folded: int) -> None:
        _log.info(
            "partition.recovered",
            partition=state.number,
            batches=folded,
            events=len(state.seen),
            offsets=state.offsets,
            snapshot=state.restored_from,
        )

    async def _restore(
        self, state: PartitionState, reader: AIOKafkaConsumer, bounds: tuple[int, int] | None
    ) -> None:
        """Start the state from the newest usable snapshot of its partition, if any."""
        found = await load_snapshot(reader, self.settings, state.number, self.policy, bounds)
        if found is None:
            return
        restored, slot = found
        state.engine, state.seen, state.offsets = restored.engine, restored.seen, restored.offsets
        state.journal_next = restored.journal + 1
        state.restored_from = state.snapshot_at = restored.journal
        state.snapshot_slot, state.since_snapshot = 1 - slot, 0

    def _snapshot_due(self, state: PartitionState) -> bool:
        every = self.settings.snapshot_every
        return bool(every) and state.since_snapshot >= every and state.journal_next > 0

    async def _snapshot(self, state: PartitionState) -> Outcome:
        """Keep a snapshot of the partition's fold; a failure costs nothing but a warning.

        It runs as the partition's commit would, so that no batch moves the
        state meanwhile; the partition's records wait on the broker for it.
        Its first step (the encoding) holds the event loop; the writing does not.
        """
        state.since_snapshot = 0  # also after a failure: the next try is N inputs later
        assert state.producer is not None
        try:
            await write_snapshot(state.producer, self.settings, state)
        except ProducerFenced:
            _log.warning("partition.fenced", partition=state.number)
            return "fenced"
        except KafkaError as exc:
            _log.warning("snapshot.failed", partition=state.number, error=str(exc))
        return "ok"

    async def _seek(self, state: PartitionState) -> None:
        """Move the inputs to where the journal says this partition stopped."""
        assert self._consumer is not None
        state.buffers.clear()
        state.blocked_since = None
        unread = []
        for topic in self.settings.topics.inputs:
            tp = TopicPartition(topic, state.number)
            if topic in state.offsets:
                self._consumer.seek(tp, state.offsets[topic])
            else:
                unread.append(tp)
        if unread:  # one request for all of them: each call waits for its answer
            await self._consumer.seek_to_beginning(*unread)

    async def _reset(self, state: PartitionState) -> None:
        """After a failed transaction: forget the uncommitted work, fold the journal again."""
        self.owned.pop(state.number, None)
        self.parked.pop(state.number, None)
        await self._take({state.number})
