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
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from events import InputEvent

__all__ = ["FIRST", "Merged", "Pending", "merge"]

#: Event time given to records that are not events (dead letters): they go first.
FIRST: Final = -(2**62)


@dataclass(slots=True)  # not frozen: a frozen dataclass is 4x slower to build
class Pending:
    """A fetched record, decoded, waiting for its turn in the merge."""

    at: int  # event time in microseconds; FIRST for a record that is not an event
    topic: str
    record: Any  # the consumer's record: offset, key, value, partition
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
        best: Pending | None = None
        best_key: tuple[int, int] | None = None
        waiting = False
        for rank, topic in enumerate(topics):
            buffer = buffers.get(topic)
            if buffer:
                key = (buffer[0].at, rank)
                if best_key is None or key < best_key:
                    best, best_key = buffer[0], key
            elif not delivered.get(topic, False):
                waiting = True
        if best is None:
            break
        if waiting:
            if blocked_since is None:
                blocked_since = now
            if now - blocked_since < wait:
                break
        else:
            blocked_since = None
        taken.append(buffers[best.topic].popleft())
    return Merged(taken, blocked_since)
