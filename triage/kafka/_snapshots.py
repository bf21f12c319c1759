"""Snapshots of a partition's fold, as records of the snapshots topic; no broker here.

A snapshot is a cache of the journal's fold: the engine (``router.snapshot``),
the event ids seen and the input positions, as they were after one journal
record. It lives in partition *p* of the compacted snapshots topic, written
by the transactional producer of partition *p*, in a transaction of its own
after the journal record it covers was committed, so it is never ahead of
the journal:

- the body, cut into chunks of at most 512 KiB (under the brokers' default
  ``message.max.bytes``), keys ``{slot}/{i}``;
- then one manifest (:class:`SnapshotManifest`), key ``{slot}``: the
  journal offset covered, the input positions, where the chunks are, their
  number, size and digest.

Two slots alternate, so compaction keeps the newest two snapshots of a
partition and drops the older ones. Everything a loader finds is checked
before it is believed (:func:`restore_snapshot`): the manifest decodes, the
chunks are all there and hash to the digest, the body decodes under this
engine's format and fingerprint, its policy is the worker's, and (by the
caller) the journal holds the record it names with the same positions. Any
failure is a :class:`router.SnapshotError` with the reason; the loader then
tries the next older snapshot, and at last folds the whole journal.
"""

from __future__ import annotations

import hashlib
from itertools import repeat
from typing import Final, NamedTuple

import msgspec

from router import Engine, Policy, SnapshotError, restore, snapshot

from ._batch import PartitionState

__all__ = [
    "CHUNK_BYTES",
    "Restored",
    "SnapshotManifest",
    "chunk_key",
    "decode_manifest",
    "encode_snapshot",
    "is_manifest",
    "manifest_for",
    "restore_snapshot",
    "snapshot_chunks",
]

#: The most bytes of a snapshot in one record: well under the brokers' default 1 MiB.
CHUNK_BYTES: Final = 512 * 1024


class SnapshotManifest(msgspec.Struct, frozen=True, kw_only=True):
    """Where a partition's snapshot is and what it covers; written after its chunks."""

    v: int = 1
    partition: int
    slot: int
    journal: int  # offset of the last journal record it covers
    offsets: dict[str, int]  # input topic -> next offset, as in that journal record
    first: int  # offset of its first chunk in the snapshots topic
    chunks: int
    size: int
    digest: str  # blake2b of the whole body, hex


class _Body(msgspec.Struct, frozen=True, kw_only=True):
    v: int = 1
    partition: int
    journal: int
    offsets: dict[str, int]
    # The ids seen, in the order they were first seen, as runs of one workspace.
    seen: list[tuple[str, list[str]]]
    engine: msgspec.Raw


class Restored(NamedTuple):
    """A partition's fold as a snapshot saved it."""

    engine: Engine
    seen: dict[tuple[str, str], None]
    offsets: dict[str, int]
    journal: int


_manifest_decoder: Final = msgspec.json.Decoder(SnapshotManifest)
_body_decoder: Final = msgspec.json.Decoder(_Body)
_encoder: Final = msgspec.json.Encoder()


def _digest(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def encode_snapshot(state: PartitionState, journal: int) -> bytes:
    """The body of a snapshot of ``state``, which has folded the journal up to ``journal``."""
    runs: list[tuple[str, list[str]]] = []
    current: str | None = None
    ids: list[str] = []
    for workspace, event_id in state.seen:
        if workspace != current:
            current, ids = workspace, []
            runs.append((workspace, ids))
        ids.append(event_id)
    return _encoder.encode(
        _Body(
            partition=state.number,
            journal=journal,
            offsets=state.offsets,
            seen=runs,
            engine=msgspec.Raw(snapshot(state.engine)),
        )
    )


def snapshot_chunks(body: bytes) -> list[bytes]:
    """The body cut into record values of at most :data:`CHUNK_BYTES`."""
    return [body[i : i + CHUNK_BYTES] for i in range(0, len(body), CHUNK_BYTES)] or [b""]


def chunk_key(slot: int, index: int) -> bytes:
    """The record key of a chunk: compaction keeps the newest of each."""
    return f"{slot}/{index}".encode()


def is_manifest(key: bytes | None) -> bool:
    """Is a record of the snapshots topic with this key a manifest (not a chunk)?"""
    return key is not None and b"/" not in key


def manifest_for(
    state: PartitionState, *, slot: int, journal: int, body: bytes, first: int, chunks: int
) -> bytes:
    """The manifest record of a snapshot whose chunks begin at offset ``first``."""
    return _encoder.encode(
        SnapshotManifest(
            partition=state.number,
            slot=slot,
            journal=journal,
            offsets=state.offsets,
            first=first,
            chunks=chunks,
            size=len(body),
            digest=_digest(body),
        )
    )


def decode_manifest(raw: bytes | None) -> SnapshotManifest:
    """A manifest record, or SnapshotError if it is not one."""
    try:
        return _manifest_decoder.decode(raw or b"")
    except msgspec.DecodeError as exc:
        raise SnapshotError(f"not a snapshot manifest: {exc}") from None


def restore_snapshot(
    manifest: SnapshotManifest, chunks: list[bytes], partition: int, policy: Policy
) -> Restored:
    """The fold a snapshot saved, checked against its manifest; SnapshotError if not usable.

    ``chunks`` are the values of the manifest's chunk records, in order.
    A snapshot of another partition, one whose chunks are missing or do
    not hash to the manifest's digest, one this engine cannot read, and
    one taken under another policy than ``policy`` are all refused.
    """
    if manifest.partition != partition:
        raise SnapshotError(f"it is of partition {manifest.partition}, not {partition}")
    if len(chunks) != manifest.chunks:
        raise SnapshotError(f"{len(chunks)} of its {manifest.chunks} chunks are there")
    body = b"".join(chunks)
    if len(body) != manifest.size or _digest(body) != manifest.digest:
        raise SnapshotError("its chunks do not hash to its digest")
    try:
        saved = _body_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise SnapshotError(f"not a snapshot: {exc}") from None
    if (saved.partition, saved.journal, saved.offsets) != (
        manifest.partition,
        manifest.journal,
        manifest.offsets,
    ):
        raise SnapshotError("its body is not the one its manifest describes")
    engine = restore(bytes(saved.engine))
    if engine.policy != policy:
        raise SnapshotError("it was taken under another policy than this worker's")
    seen: dict[tuple[str, str], None] = {}
    for workspace, ids in saved.seen:
        seen.update(dict.fromkeys(zip(repeat(workspace), ids, strict=False)))
    return Restored(engine, seen, dict(saved.offsets), saved.journal)
