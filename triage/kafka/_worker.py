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
of event ids seen and the input positions, and carries on from there; a
snapshot of that fold, kept every ``snapshot_every`` inputs, lets it fold
only the journal after the snapshot (``_snapshots``, ``_recovery``).

This module holds the worker's lifecycle and its routing loop: consume,
decode, merge, route and commit. Taking and giving back partitions, their
producers and the journal fold are in ``_ownership`` (:class:`Ownership`,
which ``Worker`` inherits).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError, ProducerFenced

from events import (
    InputEvent,
    OutputEvent,
    clock_ticks,
    to_micros,
)
from router import DEFAULT_POLICY, Engine, Policy

from .._logging import log_decisions
from ._admin import create_missing_topics
from ._batch import (
    GROUP_OFFSETS_EVERY,
    PartitionState,
    RoutedBatch,
    group_offsets_due,
    route_batch,
)
from ._intake import Homes, intake, throttle
from ._merge import Pending, merge
from ._ownership import Outcome, Ownership, _Rebalance
from ._settings import KafkaSettings
from ._transaction import write_transaction

__all__ = ["Worker"]

_log = structlog.get_logger("triage.worker")

#: Batches of one input topic's partition held in its buffer, at most, before its
#: fetching is paused: one for the next transaction, one to fill meanwhile.
_AHEAD_BATCHES = 2


class Worker(Ownership):
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
        #: For each partition count, each workspace's key and partition: murmur2 is
        #: slow in Python, and the key is checked on every record.
        self._homes: dict[int, Homes] = {}
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
        await self._open_journal_reader()
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
        await self._close_journal_reader()

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
                        if self._snapshot_due(state):
                            self._inflight[number] = asyncio.create_task(self._snapshot(state))
                            continue
                        ready = await self._drain(state)
                        if ready or self._lagging(state):
                            self._start_commit(state, ready, ())
                    self._tick()
                    self._throttle()
        finally:
            async with self._lock:
                await self._reap(block=True)

    def _throttle(self) -> None:
        """Pause the input partitions that have two batches buffered; resume the others."""
        assert self._consumer is not None
        throttle(self._consumer, self.owned, _AHEAD_BATCHES * self.settings.batch_max)

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

    def _buffer(self, state: PartitionState, topic: str, records: list[Any]) -> None:
        """Decode fetched records and queue them for the merge (see ``_intake``)."""
        assert self._consumer is not None
        partitions = len(self._consumer.partitions_for_topic(topic) or ()) or 1
        intake(
            state.buffers.setdefault(topic, deque()),
            topic,
            records,
            homes=self._homes.setdefault(partitions, {}),
            partitions=partitions,
            now=to_micros(self.clock()),
            max_ahead_seconds=self.settings.max_ahead_seconds,
        )

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

    # --- routing -------------------------------------------------------------------

    def _new_engine(self) -> Engine:
        """A fresh engine under this worker's policy (for both halves: one ``Engine`` name)."""
        return Engine(self.policy)

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
            state.forget(self._new_engine())
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
        if written is not None:
            state.since_snapshot += len(routed.entries)
        state.duplicates += routed.duplicates
        state.deadletters += len(routed.dead)
        if routed.made and self.on_outputs is not None:
            try:
                self.on_outputs(routed.made)
            except Exception:  # the decisions are written; a failed log line must not undo that
                _log.exception("decisions.unlogged", partition=state.number)

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
                    "snapshot_at": s.snapshot_at,
                    "restored_from": s.restored_from,
                }
                for n, s in sorted(self.owned.items())
            },
        }
