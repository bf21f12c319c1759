"""The time-ordered merge of the input topics and the routing of a batch, without a broker."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from events import ClockTick, InputEvent, to_micros
from router import Engine
from triage.kafka._batch import PartitionState, group_offsets_due, route_batch
from triage.kafka._merge import FIRST, Pending, merge

TOPICS = ("experts", "tasks", "work")
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def pending(topic: str, offset: int, minute: int, *, workspace: str = "w") -> Pending:
    at = T0 + timedelta(minutes=minute)
    event = ClockTick(f"{topic}-{offset}", at, workspace)
    return Pending(to_micros(at), topic, 0, offset, workspace.encode(), b"{}", event, "")


def buffers(**records: list[int]) -> dict[str, deque[Pending]]:
    return {
        topic: deque(pending(topic, n, minute) for n, minute in enumerate(minutes))
        for topic, minutes in records.items()
    }


def ids(taken: list[Pending]) -> list[str]:
    return [p.event.id for p in taken if p.event is not None]


ALL = dict.fromkeys(TOPICS, True)


def test_heads_go_by_event_time_then_topic_order() -> None:
    got = merge(
        buffers(experts=[5, 9], tasks=[1, 5], work=[5]),
        TOPICS,
        limit=100,
        delivered=ALL,
        blocked_since=None,
        now=0.0,
        wait=0.5,
    )
    assert ids(got.taken) == ["tasks-0", "experts-0", "tasks-1", "work-0", "experts-1"]
    assert got.blocked_since is None


def test_a_topic_with_undelivered_records_holds_the_merge_back() -> None:
    source = buffers(experts=[1], tasks=[2])
    delivered = {"experts": True, "tasks": True, "work": False}
    got = merge(
        source, TOPICS, limit=100, delivered=delivered, blocked_since=None, now=10.0, wait=0.5
    )
    assert got.taken == [] and got.blocked_since == 10.0
    assert len(source["experts"]) == 1  # nothing was taken out
    later = merge(
        source, TOPICS, limit=100, delivered=delivered, blocked_since=10.0, now=10.4, wait=0.5
    )
    assert later.taken == []
    expired = merge(
        source, TOPICS, limit=100, delivered=delivered, blocked_since=10.0, now=10.5, wait=0.5
    )
    assert ids(expired.taken) == ["experts-0", "tasks-0"]


def test_an_empty_delivered_topic_holds_nothing_back_and_the_limit_holds() -> None:
    got = merge(
        buffers(tasks=[1, 2, 3, 4]),
        TOPICS,
        limit=3,
        delivered=ALL,
        blocked_since=7.0,
        now=0.0,
        wait=0.5,
    )
    assert ids(got.taken) == ["tasks-0", "tasks-1", "tasks-2"]
    assert got.blocked_since is None


def test_records_that_are_not_events_go_first() -> None:
    source = buffers(tasks=[1])
    source["work"] = deque([Pending(FIRST, "work", 0, 0, None, b"bad", None, "bad")])
    got = merge(source, TOPICS, limit=10, delivered=ALL, blocked_since=None, now=0, wait=0)
    assert [p.error for p in got.taken] == ["bad", ""]


@given(
    st.lists(st.tuples(st.sampled_from(TOPICS), st.integers(0, 30)), max_size=40),
    st.integers(1, 50),
)
def test_merge_order_does_not_depend_on_how_records_were_fetched(
    records: list[tuple[str, int]], cut: int
) -> None:
    """Merging all at once equals merging in two fetches: the order is the records'."""
    per_topic: dict[str, list[int]] = {t: [] for t in TOPICS}
    for topic, minute in records:
        per_topic[topic].append(minute)
    for minutes in per_topic.values():
        minutes.sort()  # each topic is in event-time order, as producers publish it
    whole = merge(
        buffers(**per_topic), TOPICS, limit=1000, delivered=ALL, blocked_since=None, now=0, wait=0
    )
    # The same records, fetched in two parts: the first part of each topic, then the rest.
    split = {t: m[: cut % (len(m) + 1)] for t, m in per_topic.items()}
    source = buffers(**split)
    first = merge(
        source,
        TOPICS,
        limit=1000,
        delivered=dict.fromkeys(TOPICS, False),
        blocked_since=None,
        now=0,
        wait=1,
    )
    for topic, minutes in per_topic.items():
        offset = len(split[topic])
        source.setdefault(topic, deque()).extend(
            pending(topic, offset + n, minute) for n, minute in enumerate(minutes[offset:])
        )
    rest = merge(source, TOPICS, limit=1000, delivered=ALL, blocked_since=None, now=0, wait=1)
    assert ids(first.taken) + ids(rest.taken) == ids(whole.taken)


def test_a_batch_routes_new_events_once_and_moves_positions_only_on_record() -> None:
    state = PartitionState(0, Engine())
    batch = [pending("tasks", 0, 1), pending("tasks", 1, 2)]
    tick: list[InputEvent] = [ClockTick("k", T0 + timedelta(minutes=3), "w")]
    routed = route_batch(state, batch, tick)
    assert routed.entries[0].startswith(b'[{"type":"clock.tick","id":"tasks-0"')
    assert len(routed.entries) == 3 and routed.duplicates == 0
    assert routed.offsets == {"tasks": 2}
    assert state.offsets == {}  # positions move when the transaction is written
    again = route_batch(state, batch, ())
    assert again.entries == [] and again.duplicates == 2


def test_group_offsets_ride_along_at_most_once_a_second() -> None:
    state = PartitionState(0, Engine(), group_offsets={"tasks": 1}, group_offsets_at=10.0)
    assert group_offsets_due(state, {"tasks": 5}, 10.5) == set()
    assert group_offsets_due(state, {"tasks": 5, "work": 0}, 11.0) == {"tasks", "work"}
    assert group_offsets_due(state, {"tasks": 1}, 11.0) == set()


def test_an_input_whose_routing_raises_stops_the_batch_then_is_a_dead_letter() -> None:
    class Poisoned(Engine):
        def apply(self, event: InputEvent) -> list:  # type: ignore[type-arg]
            if event.id == "tasks-1":
                raise ZeroDivisionError("division by zero")
            return super().apply(event)

    state = PartitionState(0, Poisoned())
    batch = [pending("tasks", 0, 1), pending("tasks", 1, 2), pending("tasks", 2, 3)]
    tick: list[InputEvent] = [ClockTick("k", T0 + timedelta(minutes=4), "w")]
    failed = route_batch(state, batch, tick)
    assert failed.failed == (1, "routing failed: ZeroDivisionError: division by zero")
    state.forget(Poisoned())
    routed = route_batch(state, batch, tick, {1: failed.failed[1]})
    assert routed.failed is None
    assert [entry[:41] for entry in routed.entries] == [
        b'[{"type":"clock.tick","id":"tasks-0","at"',
        b'[{"type":"clock.tick","id":"tasks-2","at"',
        b'[{"type":"clock.tick","id":"k","at":"2026',
    ]
    ((topic, record, reason),) = routed.dead
    assert (topic, record.offset) == ("tasks", 1) and reason.startswith("routing failed:")
    assert ("w", "tasks-1") not in state.seen  # the journal will not hold it either
    assert routed.offsets == {"tasks": 3}
    dropped = route_batch(PartitionState(0, Engine()), (), tick, {0: "routing failed: x"})
    assert dropped.dropped == 1 and dropped.entries == []
