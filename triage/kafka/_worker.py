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
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError, ProducerFenced

from events import (
    InputEvent,
    InvalidEvent,
    OutputEvent,
    clock_ticks,
    decode_input,
    to_micros,
)
from router import DEFAULT_POLICY, Engine, Policy

from .._clock_guard import describe_ahead
from .._logging import log_decisions
from ._admin import create_missing_topics
from ._batch import (
    GROUP_OFFSETS_EVERY,
    PartitionState,
    RoutedBatch,
    group_offsets_due,
    route_batch,
)
from ._merge import FIRST, Pending, merge
from ._records import partition_for
from ._settings import KafkaSettings
from ._transaction import write_transaction

#: Polls in a row that neither return records nor move the position, after which a
#: partition counts as read to its end: offsets of transaction markers and aborted
#: records yield nothing, so the end is not always reached.
_EMPTY_POLLS = 3

#: Revocations within this many seconds that make the group's churn worth a warning.
_CHURN_REVOCATIONS, _CHURN_SECONDS = 3, 30.0

__all__ = ["Worker"]

#: How a partition's commit ended: written; refused because another worker
#: owns the partition now; or not written for any other reason.
Outcome = Literal["ok", "fenced", "failed"]


_log = structlog.get_logger("triage.worker")


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.worker.revoke({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.worker.assign({tp.partition for tp in assigned})


class Worker:
    """One worker of the group: consume, route, write decisions and journal atomically."""

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
        self.owned: dict[int, PartitionState] = {}
        self.parked: dict[int, PartitionState] = {}
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._journal_reader: AIOKafkaConsumer | None = None
        self._partitions: dict[tuple[str, int], int] = {}  # murmur2 is slow in Python
        self._reading = asyncio.Lock()  # one journal reader, shared by catch-ups
        self._inflight: dict[int, asyncio.Task[Outcome]] = {}  # partition -> its commit
        self._unready: set[int] = set()  # assigned, but not taken yet (see _take)
        self._retry_at = 0.0
        self._revoked_at: deque[float] = deque()  # when partitions were last taken from us
        self.started = time.monotonic()

    # --- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Create missing topics, then join the group."""
        settings = self.settings
        await create_missing_topics(settings)
        self._journal_reader = AIOKafkaConsumer(
            client_id=f"{settings.client_id}-journal",
            isolation_level="read_committed",
            enable_auto_commit=False,
            # A fold ends with polls that return nothing (past the last
            # transaction marker); at the default 500 ms each, taking the 8
            # partitions of a restart cost 4 s.
            fetch_max_wait_ms=10,
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
            # Static membership: a restarted worker gets its partitions back
            # at once, without waiting out its former self's session.
            group_instance_id=settings.group_instance_id,
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=min(1_000, settings.session_timeout_ms // 3),
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
    def _lagging(state: PartitionState) -> bool:
        """Are the group's offsets of an idle partition due to catch up with the journal?"""
        return (
            state.group_offsets != state.offsets
            and time.monotonic() - state.group_offsets_at >= GROUP_OFFSETS_EVERY
        )

    def _start_commit(
        self, state: PartitionState, pending: Sequence[Pending], ticks: Sequence[InputEvent]
    ) -> None:
        self._inflight[state.number] = asyncio.create_task(self._settle(state, pending, ticks))

    async def _settle(
        self, state: PartitionState, pending: Sequence[Pending], ticks: Sequence[InputEvent]
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

    def _buffer(self, state: PartitionState, topic: str, records: list[Any]) -> None:
        """Decode fetched records and queue them for the merge."""
        assert self._consumer is not None
        buffer = state.buffers.setdefault(topic, deque())
        partitions = len(self._consumer.partitions_for_topic(topic) or ()) or 1
        limit = self.settings.max_ahead_seconds
        now = to_micros(self.clock())
        latest = now + int(limit * 1_000_000) if limit > 0 else None
        for record in records:
            try:
                event = decode_input(record.value)
            except InvalidEvent as exc:
                buffer.append(Pending(FIRST, topic, record, None, exc.reason))
                continue
            except Exception as exc:  # a decoder bug: one record must not stop the partition
                error = f"could not be decoded: {type(exc).__name__}: {exc}"
                buffer.append(Pending(FIRST, topic, record, None, error))
                continue
            expected = self._partition_of(event.workspace, partitions)
            if record.key != event.workspace.encode() or expected != record.partition:
                error = (
                    f"record key must be the workspace {event.workspace!r} (partition "
                    f"{expected}); got key {record.key!r} in partition {record.partition}"
                )
                buffer.append(Pending(FIRST, topic, record, None, error))
                continue
            at = to_micros(event.at)
            if latest is not None and at > latest:
                ahead = describe_ahead(at, now, limit)
                if ahead is not None:
                    buffer.append(Pending(FIRST, topic, record, None, ahead))
                    continue
            buffer.append(Pending(at, topic, record, event, ""))

    def _partition_of(self, workspace: str, partitions: int) -> int:
        key = (workspace, partitions)
        number = self._partitions.get(key)
        if number is None:
            number = self._partitions[key] = partition_for(workspace, partitions)
        return number

    async def _drain(self, state: PartitionState) -> list[Pending]:
        """Take the partition's next records in merge order (see ``_merge``)."""
        topics = self.settings.topics.inputs
        delivered = {topic: await self._delivered(state, topic) for topic in topics}
        merged = merge(
            state.buffers,
            topics,
            limit=self.settings.batch_max,
            delivered=delivered,
            blocked_since=state.blocked_since,
            now=time.monotonic(),
            wait=self.settings.merge_wait_ms / 1000,
        )
        state.blocked_since = merged.blocked_since
        return merged.taken

    async def _delivered(self, state: PartitionState, topic: str) -> bool:
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
            states.append(parked or PartitionState(number, Engine(self.policy)))
        for state in states:
            await self._close_producer(state)
        # All producers at once: each start fences the former owner's and waits
        # for its open transaction to be aborted, a round trip or more apiece.
        started = await asyncio.gather(
            *(self._producer(state.number) for state in states), return_exceptions=True
        )
        for state, producer in zip(states, started, strict=True):
            number = state.number
            try:
                if isinstance(producer, BaseException):
                    raise producer
                state.producer = producer
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

    async def _close_producer(self, state: PartitionState) -> None:
        if state.producer is not None:
            with contextlib.suppress(KafkaError):
                await state.producer.stop()
            state.producer = None

    async def _catch_up(self, state: PartitionState) -> None:
        """Fold the journal records of the partition that this state has not seen."""
        async with self._reading:
            await self._fold_journal(state)

    async def _fold_journal(self, state: PartitionState) -> None:
        reader = self._journal_reader
        assert reader is not None
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
        _log.info(
            "partition.recovered",
            partition=state.number,
            batches=folded,
            events=len(state.seen),
            offsets=state.offsets,
        )

    async def _seek(self, state: PartitionState) -> None:
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
        self, state: PartitionState, pending: Sequence[Pending], ticks: Sequence[InputEvent]
    ) -> Outcome:
        """Route one batch of a partition and write everything it caused in one transaction."""
        try:
            routed = await self._route(state, pending, ticks)
        except (KafkaError, OSError, TimeoutError) as exc:
            _log.error("partition.reset", partition=state.number, error=str(exc))
            return "failed"
        now = time.monotonic()
        moved = group_offsets_due(state, routed.offsets, now)
        if not (pending or ticks or moved):
            return "ok"
        assert state.producer is not None
        try:
            written = await write_transaction(
                state.producer,
                self.settings,
                state.number,
                routed,
                journal=bool(pending or ticks),  # else only the group's offsets catch up
                group_topics=moved,
            )
        except ProducerFenced:
            _log.warning("partition.fenced", partition=state.number)
            return "fenced"
        except KafkaError as exc:
            _log.error("partition.reset", partition=state.number, error=str(exc))
            return "failed"
        except Exception as exc:  # not the broker's: still, the partition is folded again
            _log.exception("partition.reset", partition=state.number, error=repr(exc))
            return "failed"
        self._record(state, routed, moved, now, written)
        return "ok"

    async def _route(
        self, state: PartitionState, pending: Sequence[Pending], ticks: Sequence[InputEvent]
    ) -> RoutedBatch:
        """Route the batch; an input whose routing raises becomes a dead letter.

        The engine may have been left half-way through that input, so the
        partition folds its journal from the start (which never holds the
        input) and routes the batch again without it. The outcome depends
        only on the inputs, as a recovery's does: the journal stays a
        faithful fold.
        """
        refused: dict[int, str] = {}
        routed = route_batch(state, pending, ticks)
        while routed.failed is not None:
            index, reason = routed.failed
            refused[index] = reason
            _log.error("input.failed", partition=state.number, reason=reason, input=index)
            state.forget(Engine(self.policy))
            await self._catch_up(state)
            routed = route_batch(state, pending, ticks, refused)
        return routed

    def _record(
        self,
        state: PartitionState,
        routed: RoutedBatch,
        moved: set[str],
        now: float,
        written: int | None,
    ) -> None:
        """What a written transaction moves: positions, group offsets, journal mark, counters."""
        state.offsets = routed.offsets
        if moved:
            state.group_offsets, state.group_offsets_at = routed.offsets, now
        if written is not None:
            state.journal_next = written + 1
        state.processed += len(routed.entries)
        state.duplicates += routed.duplicates
        state.deadletters += len(routed.dead)
        if routed.made and self.on_outputs is not None:
            try:
                self.on_outputs(routed.made)
            except Exception:  # the decisions are written; a failed log line must not undo that
                _log.exception("decisions.unlogged", partition=state.number)

    async def _reset(self, state: PartitionState) -> None:
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
