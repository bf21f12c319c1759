"""A partition's state, and the routing of one batch: dedupe, apply, encode; no Kafka.

A worker keeps one :class:`PartitionState` per partition it owns: the
engine folded from the partition's journal, the event ids it has seen, and
the input positions reached. :func:`route_batch` is everything a commit
does before it talks to the broker, so that it can be read and tested on
its own; :func:`group_offsets_due` decides whether the consumer group's
offsets ride along.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from aiokafka import AIOKafkaProducer

from events import EventRejected, InputEvent, OutputEvent, encode
from router import Engine

from .._logged import decode_logged
from ._merge import Pending
from ._records import decode_batch, frame_entry

__all__ = [
    "GROUP_OFFSETS_EVERY",
    "PartitionState",
    "RoutedBatch",
    "group_offsets_due",
    "route_batch",
]

#: Seconds between two sendings of a partition's offsets to the consumer group.
GROUP_OFFSETS_EVERY: Final = 1.0

_NONE_REFUSED: Final[Mapping[int, str]] = {}


@dataclass
class PartitionState:
    """What a worker holds for one partition: a fold of its journal, and more."""

    number: int
    engine: Engine
    #: The (workspace, id) of every input in the journal, in journal order (a dict
    #: as an ordered set, so that a snapshot of it is the same bytes on every run).
    seen: dict[tuple[str, str], None] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)  # input topic -> next offset
    group_offsets: dict[str, int] = field(default_factory=dict)  # what the group has
    group_offsets_at: float = -1e9  # monotonic time they were last sent
    journal_next: int = 0  # where to read the journal from to catch up
    producer: AIOKafkaProducer | None = None
    last_tick: float = 0.0
    processed: int = 0
    duplicates: int = 0
    deadletters: int = 0
    buffers: dict[str, deque[Pending]] = field(default_factory=dict)
    blocked_since: float | None = None
    since_snapshot: int = 0  # inputs folded or routed since the last snapshot
    snapshot_slot: int = 0  # the slot the next snapshot goes to (two alternate)
    snapshot_at: int | None = None  # journal offset the newest snapshot known covers
    restored_from: int | None = None  # journal offset of the snapshot recovery began at

    def forget(self, engine: Engine) -> None:
        """Drop the fold (engine, seen ids, positions) to fold the journal from its start."""
        self.engine, self.seen, self.offsets, self.journal_next = engine, {}, {}, 0
        self.restored_from, self.since_snapshot = None, 0

    def fold(self, raw: bytes, offset: int) -> None:
        """Fold one journal record into the state (recovery and catch-up)."""
        batch = decode_batch(raw)
        for entry, _ in batch.entries:
            event = decode_logged(bytes(entry))
            if isinstance(event, EventRejected):  # refused when it was written: no state
                self.seen[event.workspace, event.cause] = None
                continue
            self.seen[event.workspace, event.id] = None
            self.engine.apply(event)
        self.offsets.update(batch.offsets)
        self.journal_next = offset + 1
        self.since_snapshot += len(batch.entries)


@dataclass(slots=True)
class RoutedBatch:
    """One batch, routed: what its transaction must write."""

    offsets: dict[str, int]  # input positions after the batch
    entries: list[bytes]  # each new input with its outputs, encoded (``frame_entry``)
    decisions: list[tuple[bytes, bytes]]  # (workspace key, output) for the assignments topic
    dead: list[tuple[str, Pending, str]]  # (source topic, record, reason)
    made: list[OutputEvent]  # the outputs, for the decision log
    duplicates: int
    #: The input (index among the batch's events, then ticks) whose routing or
    #: encoding raised, and why; routing stopped there, the rest is not valid.
    failed: tuple[int, str] | None = None
    #: Ticks refused because their routing raised (they have no record to dead-letter).
    dropped: int = 0


def route_batch(
    state: PartitionState,
    pending: Sequence[Pending],
    ticks: Sequence[InputEvent],
    refused: Mapping[int, str] = _NONE_REFUSED,
) -> RoutedBatch:
    """Apply a batch to the partition's engine: skip seen ids, encode what it decided.

    The engine and ``state.seen`` move on at once; the positions, counters
    and journal mark move only when the transaction is written
    (:meth:`Worker._record`). If it is not, the worker folds the journal
    again, so the engine never stays ahead of what was written.

    An input whose routing or encoding raises stops the batch: the result
    names it in ``failed``, and the engine may be half-way through it. The
    worker then folds the journal again and routes the batch once more with
    that input in ``refused`` (index -> reason): it becomes a dead letter
    with the reason (a tick is dropped), is not marked seen, and the journal
    never holds it, so a recovery folds what the live engine did.
    """
    offsets = dict(state.offsets)
    dead: list[tuple[str, Pending, str]] = []
    inputs: list[tuple[InputEvent, Pending | None]] = []
    for item in pending:
        offsets[item.topic] = item.offset + 1
        if item.event is None:
            dead.append((item.topic, item, item.error))
        else:
            inputs.append((item.event, item))
    inputs.extend((tick, None) for tick in ticks)
    routed = RoutedBatch(offsets, [], [], dead, [], 0)
    seen, apply = state.seen, state.engine.apply
    entries, decisions, made = routed.entries, routed.decisions, routed.made
    for index, (event, source) in enumerate(inputs):
        key = (event.workspace, event.id)
        if key in seen:
            routed.duplicates += 1
            continue
        if refused and index in refused:
            if source is None:
                routed.dropped += 1
            else:
                dead.append((source.topic, source, refused[index]))
            continue
        seen[key] = None
        try:
            outputs = apply(event)
            encoded = [encode(o) for o in outputs]
            entries.append(frame_entry(encode(event), encoded))
        except Exception as exc:  # a bug met by one input must not stop the partition
            routed.failed = (index, f"routing failed: {type(exc).__name__}: {exc}")
            return routed
        if outputs:
            workspace = event.workspace.encode()
            decisions += [(workspace, value) for value in encoded]
            made += outputs
    return routed


def group_offsets_due(state: PartitionState, offsets: dict[str, int], now: float) -> set[str]:
    """The input topics whose group offsets are to be sent with this transaction.

    The group's offsets are for lag monitoring only (positions are read
    from the journal); sending them costs two more round trips, so they
    ride along at most once every :data:`GROUP_OFFSETS_EVERY` seconds.
    """
    if now - state.group_offsets_at < GROUP_OFFSETS_EVERY:
        return set()
    return {t for t in offsets if offsets[t] != state.group_offsets.get(t)}
