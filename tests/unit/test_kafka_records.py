"""Journal records of the Kafka runtime: framing and size, without a broker."""

from __future__ import annotations

from triage.kafka import decode_batch, encode_batch, partition_for
from triage.kafka._records import frame_entry, journal_records, journal_values


def test_a_batch_round_trips() -> None:
    entries = [(b'{"type":"clock.tick","id":"k","at":"2026-11-02T09:00:00Z","workspace":"w"}', [])]
    batch = decode_batch(encode_batch({"triage.tasks": 7}, entries, 2))
    assert batch.offsets == {"triage.tasks": 7} and batch.deadletters == 2
    assert [(bytes(e), [bytes(o) for o in outs]) for e, outs in batch.entries] == entries


def test_big_batches_split_into_records_under_the_broker_limit() -> None:
    entry = b'{"type":"clock.tick","id":"%d","at":"2026-11-02T09:00:00Z","workspace":"w"}'
    output = b'{"type":"task.completed","id":"x/1","cause":"x","task":"' + b"t" * 900 + b'"}'
    entries = [(entry % n, [output] * 3) for n in range(2_000)]
    records = journal_records({"triage.tasks": 2_000}, entries, 5)
    assert len(records) > 1
    assert all(len(r) <= 600 * 1024 for r in records)
    batches = [decode_batch(r) for r in records]
    assert [bytes(e) for b in batches for e, _ in b.entries] == [e for e, _ in entries]
    assert all(b.offsets == {"triage.tasks": 2_000} for b in batches)
    assert sum(b.deadletters for b in batches) == 5


def test_workspaces_spread_over_partitions_by_their_key() -> None:
    # murmur2 of the UTF-8 key (aiokafka's, which equals the Java client's)
    assert {partition_for(f"project-{n}", 4) for n in range(50)} == {0, 1, 2, 3}
    assert all(0 <= partition_for(f"w{n}", 7) < 7 for n in range(100))


def test_a_raw_line_nested_past_any_limit_is_probed_without_a_traceback() -> None:
    from triage.kafka._publish import _probe

    assert _probe(b"[" * 100_000) == ("", "")
    assert _probe(b'{"type":"task.created","workspace":"w"') == ("", "")
    assert _probe(b'{"type":"task.created","workspace":"w","x":' + b"[" * 100_000) == ("", "")


def test_framed_entries_make_the_records_and_splits_they_always_made() -> None:
    def framed_before(entry: bytes, outs: list[bytes]) -> bytes:
        return b"[" + entry + b",[" + b",".join(outs) + b"]]"

    def split_before(entries: list[tuple[bytes, list[bytes]]]) -> list[int]:
        sizes, size, count = [], 0, 0
        for entry, outs in entries:
            weight = len(entry) + sum(len(o) + 1 for o in outs) + 8
            if count and size + weight > 512 * 1024:
                sizes.append(count)
                size = count = 0
            size += weight
            count += 1
        return [*sizes, count]

    entry = b'{"type":"clock.tick","id":"%d","at":"2026-11-02T09:00:00Z","workspace":"w"}'
    output = b'{"type":"task.completed","id":"x/1","cause":"x","task":"' + b"t" * 300 + b'"}'
    entries = [(entry % n, [output] * (n % 3)) for n in range(4_000)]
    assert [frame_entry(e, o) for e, o in entries] == [framed_before(e, o) for e, o in entries]
    records = journal_records({"t": 1}, entries, 0)
    assert [len(decode_batch(r).entries) for r in records] == split_before(entries)
    framed = [frame_entry(e, o) for e, o in entries]
    assert journal_values({"t": 1}, framed, 0) == records
