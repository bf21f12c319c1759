"""A snapshot-restored engine equals a fully folded one: same outputs for any continuation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import router._snapshot
from events import InputEvent, decode_input, encode
from router import Engine, Policy, SnapshotError, restore, snapshot
from tests.streams import crowded_sets, simulated

ROOT = Path(__file__).parent.parent.parent


def state(engine: Engine) -> object:
    """The engine's state, comparable: sets compare as sets whatever their order."""
    return msgspec.json.decode(snapshot(engine), type=router._snapshot._Snapshot)


def fold(engine: Engine, events: tuple[InputEvent, ...]) -> list[bytes]:
    return [encode(o) for event in events for o in engine.apply(event)]


def v1_1() -> tuple[InputEvent, ...]:
    """The v1.1 quickstart: steps, gates, allow-lists, adaptive overlap."""
    seen: set[str] = set()
    events = []
    for line in (ROOT / "examples" / "quickstart-v1.1.jsonl").read_bytes().splitlines():
        event = decode_input(line)
        if event.id not in seen:
            seen.add(event.id)
            events.append(event)
    return tuple(events)


STREAMS = {
    "busy": simulated(30, 4, 3),
    "other seed": simulated(20, 8, 11),
    "v1.1": v1_1(),
}
EXPECTED = {name: fold(Engine(), events) for name, events in STREAMS.items()}


@settings(max_examples=12, deadline=None)
@given(st.sampled_from(sorted(STREAMS)), st.floats(0, 1), st.floats(0, 1))
def test_restored_engine_decides_as_the_folded_one(name: str, first: float, second: float) -> None:
    events = STREAMS[name]
    cut = int(first * len(events))
    expected = EXPECTED[name]
    part = Engine()
    head = fold(part, events[:cut])
    restored = restore(snapshot(part))
    # A second checkpoint later on, restored again: snapshots chain.
    later = cut + int(second * (len(events) - cut))
    middle = fold(restored, events[cut:later])
    again = restore(snapshot(restored))
    tail = fold(again, events[later:])
    assert head + middle + tail == expected
    whole = Engine()
    fold(whole, events)
    assert state(again) == state(whole)


def test_the_same_log_gives_the_same_snapshot() -> None:
    events = STREAMS["busy"]
    one, two = Engine(), Engine()
    fold(one, events)
    fold(two, events)
    assert snapshot(one) == snapshot(two)  # the same history: the same bytes
    assert state(restore(snapshot(one))) == state(one)


def test_the_policy_in_force_is_part_of_the_snapshot() -> None:
    careful = Policy(name="careful", quality=0.9, load=0.1, idle=0.0, fit=0.0)
    engine = Engine(careful)
    fold(engine, STREAMS["busy"][:500])
    assert restore(snapshot(engine)).policy == careful


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"not json",
        msgspec.json.encode({"format": 99}),
    ],
)
def test_a_damaged_or_foreign_snapshot_is_refused(damage: bytes) -> None:
    with pytest.raises(SnapshotError):
        restore(damage)


def test_a_snapshot_of_another_shape_is_refused() -> None:
    engine = Engine()
    fold(engine, STREAMS["busy"][:300])
    saved = msgspec.json.decode(snapshot(engine))
    saved["fingerprint"] = "0" * 16
    with pytest.raises(SnapshotError, match="this engine reads"):
        restore(msgspec.json.encode(saved))
    truncated = snapshot(engine)[:-10]
    with pytest.raises(SnapshotError):
        restore(truncated)


#: The snapshot of a stream whose sets (``tried``, ``exclude``, allow-lists) hold many names.
_SNAPSHOT_DIGEST = """
import hashlib, sys
sys.path.insert(0, {root!r})
from events import decode_input
from router import Engine, snapshot
from tests.streams import crowded_sets, simulated
engine = Engine()
for event in simulated(30, 4, 3) + crowded_sets():
    engine.apply(event)
print(hashlib.sha256(snapshot(engine)).hexdigest())
"""


def test_the_snapshot_bytes_do_not_depend_on_the_hash_seed() -> None:
    """Sets iterate in an order that PYTHONHASHSEED changes; a snapshot writes them sorted."""
    digests = set()
    for seed in ["0", "1", "4242"]:
        result = subprocess.run(
            [sys.executable, "-c", _SNAPSHOT_DIGEST.format(root=str(ROOT))],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        digests.add(result.stdout.strip())
    assert len(digests) == 1


def test_sets_are_written_sorted_and_restore_as_sets() -> None:
    engine = Engine()
    fold(engine, crowded_sets())
    saved = snapshot(engine)
    task = msgspec.json.decode(saved)["workspaces"][0][4][0]
    assert task["tried"] == sorted(task["tried"]) and len(task["tried"]) == 12
    assert task["exclude"] == ["x1", "x2", "x3", "x4", "x5", "x6"]
    assert task["v1_1"]["allowed"] == sorted(task["v1_1"]["allowed"])
    assert task["v1_1"]["ladder"][0]["allowed"] == task["v1_1"]["allowed"]
    restored = restore(saved)
    again = restored.workspaces["crowd"].tasks["t1"]
    assert again.tried == engine.workspaces["crowd"].tasks["t1"].tried
    assert isinstance(again.tried, set) and isinstance(again.exclude, frozenset)
    assert snapshot(restored) == saved
    # The live task is not touched by the writing.
    assert isinstance(engine.workspaces["crowd"].tasks["t1"].tried, set)


def test_a_snapshot_with_its_sets_in_any_order_still_restores() -> None:
    """Snapshots written before the sets were sorted hold them in iteration order."""
    engine = Engine()
    fold(engine, crowded_sets())
    saved = msgspec.json.decode(snapshot(engine))
    task = saved["workspaces"][0][4][0]
    for names in (task["tried"], task["exclude"], task["v1_1"]["allowed"]):
        names.reverse()
    restored = restore(msgspec.json.encode(saved))
    assert state(restored) == state(engine)
    assert snapshot(restored) == snapshot(engine)
