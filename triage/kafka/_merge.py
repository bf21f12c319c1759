"""The time-ordered merge of a partition's three input topics, as a pure function.

Each input topic keeps its own order; across topics the head with the
earliest event time goes first (ties: experts, tasks, work, the order of
``topics``). A head is only taken while every other topic either has a head
to compare with or has delivered everything committed so far, so the order
depends on the records, not on when they were fetched: a backlog, a replay
and a recovery after a crash all merge the same way. A topic that stays
behind for longer than the merge wait is not waited for any more.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

import msgspec

from events import InputEvent

__all__ = ["FIRST", "Merged", "Pending", "merge"]

#: Event time given to records that are not events (dead letters): they go first.
FIRST: Final = -(2**62)


class Pending(msgspec.Struct, gc=False):
    """A fetched record, decoded, waiting for its turn in the merge.

    It keeps of the consumer's record what a batch needs: the position, and
    the raw key and value for a dead letter. Not tracked by the garbage
    collector (it refers to no container that could lead back to it): a
    backlog waits in the buffers long enough to be promoted to the oldest
    generation, and every full collection went over it again.
    """

    at: int  # event time in microseconds; FIRST for a record that is not an event
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None  # None for a tombstone (a dead letter)
    event: InputEvent | None
    error: str  # why it is not an event (a dead letter), or ""


class Merged(NamedTuple):
    """What one merge took, and since when a lagging topic has held it back."""

    taken: list[Pending]
    blocked_since: float | None


def merge(
    buffers: Mapping[str, deque[Pending]],
    topics: Sequence[str],
    *,
    limit: int,
    delivered: Mapping[str, bool],
    blocked_since: float | None,
    now: float,
    wait: float,
) -> Merged:
    """Take up to ``limit`` records from the heads of ``buffers`` in merge order.

    ``delivered[topic]`` says whether the consumer has been given every
    committed record of that topic (an empty buffer of a delivered topic
    holds nothing back). ``blocked_since`` is when a lagging topic first held
    the merge back (None: it is not held), ``now`` the monotonic time and
    ``wait`` the merge wait, both in seconds. The records taken are removed
    from their buffers.
    """
    taken: list[Pending] = []
    while len(taken) < limit:
        best, rank, second, waiting = _heads(buffers, topics, delivered)
        if best is None:
            break
        if waiting:
            if blocked_since is None:
                blocked_since = now
            if now - blocked_since < wait:
                break
        else:
            blocked_since = None
        # Take the best head, and the ones after it that still come before every
        # other topic's head: nothing else changes meanwhile.
        taken.append(best.popleft())
        while best and len(taken) < limit and (second is None or (best[0].at, rank) < second):
            taken.append(best.popleft())
    return Merged(taken, blocked_since)


def _heads(
    buffers: Mapping[str, deque[Pending]], topics: Sequence[str], delivered: Mapping[str, bool]
) -> tuple[deque[Pending] | None, int, tuple[int, int] | None, bool]:
    """The buffer with the earliest head and its rank, the next earliest head, and
    whether a topic with nothing buffered may still have records to deliver."""
    best: deque[Pending] | None = None
    best_key = (0, 0)
    second: tuple[int, int] | None = None
    waiting = False
    for rank, topic in enumerate(topics):
        buffer = buffers.get(topic)
        if buffer:
            key = (buffer[0].at, rank)
            if best is None or key < best_key:
                if best is not None:
                    second = best_key
                best, best_key = buffer, key
            elif second is None or key < second:
                second = key
        elif not delivered.get(topic, False):
            waiting = True
    return best, best_key[1], second, waiting
