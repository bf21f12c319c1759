"""Snapshots of a Kafka partition's fold, without a broker: exact, and refused when damaged."""

from __future__ import annotations

import hashlib

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import router._snapshot
from events import InputEvent, encode
from router import DEFAULT_POLICY, Engine, SnapshotError, snapshot
from tests.streams import simulated
from triage.kafka import _snapshots
from triage.kafka._batch import PartitionState, route_batch
from triage.kafka._snapshots import (
    chunk_key,
    decode_manifest,
    encode_snapshot,
    is_manifest,
    manifest_for,
    restore_snapshot,
    snapshot_chunks,
)

EVENTS = simulated(30, 4, 3)


def route(state: PartitionState, events: tuple[InputEvent, ...]) -> list[bytes]:
    """Route events as a batch would (as ticks: no source records), as the journal had them."""
    routed = route_batch(state, (), events)
    assert routed.failed is None
    state.offsets = {"t.tasks": state.offsets.get("t.tasks", 0) + len(events)}
    state.journal_next += 1
    return [encode(output) for output in routed.made]


def saved(state: PartitionState, slot: int = 0) -> tuple[_snapshots.SnapshotManifest, list[bytes]]:
    journal = state.journal_next - 1
    body = encode_snapshot(state, journal)
    chunks = snapshot_chunks(body)
    raw = manifest_for(state, slot=slot, journal=journal, body=body, first=10, chunks=len(chunks))
    return decode_manifest(raw), chunks


def restored_state(manifest: _snapshots.SnapshotManifest, chunks: list[bytes]) -> PartitionState:
    restored = restore_snapshot(manifest, chunks, 3, DEFAULT_POLICY)
    state = PartitionState(3, restored.engine, seen=restored.seen, offsets=restored.offsets)
    state.journal_next = restored.journal + 1
    return state


@settings(max_examples=10, deadline=None)
@given(st.floats(0, 1))
def test_a_restored_partition_routes_as_the_folded_one(cut_at: float) -> None:
    cut = int(cut_at * len(EVENTS))
    folded = PartitionState(3, Engine())
    route(folded, EVENTS[:cut])
    restored = restored_state(*saved(folded))
    assert list(restored.seen) == list(folded.seen)  # the order too: same bytes next time
    assert restored.offsets == folded.offsets
    # The continuation, with every input before the cut sent again: all duplicates.
    continuation = EVENTS[:cut] + EVENTS[cut:]
    assert route(restored, continuation) == route(folded, continuation)
    assert list(restored.seen) == list(folded.seen)
    assert engine_state(restored) == engine_state(folded)


def engine_state(state: PartitionState) -> object:
    """The engine's state, comparable: its sets compare as sets whatever their order."""
    return msgspec.json.decode(snapshot(state.engine), type=router._snapshot._Snapshot)


def test_a_big_snapshot_is_cut_into_chunks_and_put_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_snapshots, "CHUNK_BYTES", 1_000)
    folded = PartitionState(3, Engine())
    route(folded, EVENTS)
    manifest, chunks = saved(folded)
    assert len(chunks) > 10 and all(len(chunk) <= 1_000 for chunk in chunks)
    assert manifest.chunks == len(chunks)
    assert restored_state(manifest, chunks).seen == folded.seen
    assert is_manifest(b"0") and not is_manifest(chunk_key(0, 3)) and not is_manifest(None)


def refusal(manifest: _snapshots.SnapshotManifest, chunks: list[bytes], **kw: object) -> str:
    with pytest.raises(SnapshotError) as caught:
        restore_snapshot(manifest, chunks, kw.get("partition", 3), kw.get("policy", DEFAULT_POLICY))  # type: ignore[arg-type]
    return str(caught.value)


def test_a_damaged_foreign_or_other_policy_snapshot_is_refused_with_its_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_snapshots, "CHUNK_BYTES", 1_000)
    folded = PartitionState(3, Engine())
    route(folded, EVENTS)
    manifest, chunks = saved(folded)
    flipped = [chunks[0], bytes([chunks[1][0] ^ 1]) + chunks[1][1:], *chunks[2:]]
    assert "do not hash" in refusal(manifest, flipped)
    assert "chunks are there" in refusal(manifest, chunks[:-1])
    assert "of partition 3, not 4" in refusal(manifest, chunks, partition=4)
    assert "another policy" in refusal(
        manifest, chunks, policy=msgspec.structs.replace(DEFAULT_POLICY, lease_factor=2.0)
    )
    # A body of another engine version (its fingerprint), digest and all consistent.
    body = b"".join(chunks).replace(b'"fingerprint":"', b'"fingerprint":"0', 1)
    digest = hashlib.blake2b(body, digest_size=16).hexdigest()
    foreign = msgspec.structs.replace(manifest, size=len(body), digest=digest, chunks=1)
    assert "snapshot format" in refusal(foreign, [body])
    # A manifest that says it covers another journal record than its body does.
    other = msgspec.structs.replace(manifest, journal=manifest.journal + 1)
    assert "not the one its manifest describes" in refusal(other, chunks)
    with pytest.raises(SnapshotError, match="not a snapshot manifest"):
        decode_manifest(b"\x00garbage")
    with pytest.raises(SnapshotError, match="not a snapshot manifest"):
        decode_manifest(None)
