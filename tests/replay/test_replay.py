"""The ordered log is the source of truth: replay, recovery and crashes give the same decisions."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest

import router._index
from events import decode_input, encode
from router import BALANCED, DEFAULT_POLICY, LEARNED_1, Engine, Policy
from tests.streams import jsonl, simulated
from triage._policy_file import encode_policy, load_policy
from triage.embedded import EmbeddedRuntime, Journal, ingest_lines

ROOT = Path(__file__).parent.parent.parent
TRIAGE = str(Path(sys.executable).parent / "triage")
QUICKSTART = ROOT / "examples" / "quickstart.jsonl"
GOLDEN = ROOT / "tests" / "replay" / "golden" / "quickstart.journal.jsonl"
QUICKSTART_V1_1 = ROOT / "examples" / "quickstart-v1.1.jsonl"
GOLDEN_V1_1 = ROOT / "tests" / "replay" / "golden" / "quickstart-v1.1.journal.jsonl"
LEARNED = ROOT / "tests" / "replay" / "golden" / "quickstart.learned.journal.jsonl"
LEARNED_V1_1 = ROOT / "tests" / "replay" / "golden" / "quickstart-v1.1.learned.journal.jsonl"
#: The same under the first learned policy (router.LEARNED_1), the default before learned-2.
GOLDEN_LEARNED_1 = ROOT / "tests" / "replay" / "golden" / "quickstart.learned-1.journal.jsonl"
GOLDEN_LEARNED_1_V1_1 = (
    ROOT / "tests" / "replay" / "golden" / "quickstart-v1.1.learned-1.journal.jsonl"
)
#: The default policy as the embedded log recorded it before the learned policy existed.
RECORDED_BALANCED = (
    b'{"name":"balanced","quality":0.4,"load":0.25,"idle":0.15,"fit":0.2,'
    b'"quality_prior":0.75,"quality_prior_reviews":3.0,"idle_horizon_hours":24.0,'
    b'"lease_factor":3.0,"lease_min_minutes":30,"lease_max_minutes":10080}'
)

#: The default policy as the embedded log recorded it from 2026-11 until learned-2.
RECORDED_LEARNED_1 = (
    b'{"name":"learned","quality":0.65,"load":0.15,"idle":0.1,"fit":0.1,'
    b'"quality_prior":0.75,"quality_prior_reviews":3.0,"idle_horizon_hours":24.0,'
    b'"lease_factor":3.0,"lease_min_minutes":30,"lease_max_minutes":10080,"by_kind":true,'
    b'"kind_prior_reviews":2.0,"agreement_share":0.5,"review_kinds":["review","audit"],'
    b'"agreement_prior":0.8,"agreement_prior_pairs":3.0}'
)


def journal_of(events: list, policy: Policy | None = None) -> bytes:  # type: ignore[type-arg]
    """The dump an uninterrupted in-memory run gives: each input, then its outputs."""
    engine = Engine(policy) if policy else Engine()
    lines = []
    for event in events:
        lines.append(encode(event))
        lines.extend(encode(o) for o in engine.apply(event))
    return b"".join(line + b"\n" for line in lines)


def _inputs(path: Path) -> list:  # type: ignore[type-arg]
    seen: set[tuple[str, str]] = set()
    events = []
    for line in path.read_bytes().splitlines():
        event = decode_input(line)
        if (event.workspace, event.id) not in seen:  # the log keeps the first of duplicates
            seen.add((event.workspace, event.id))
            events.append(event)
    return events


def test_golden_log_replays_byte_for_byte() -> None:
    """Recorded under the balanced policy: as the log recorded it, it decides the same."""
    recorded = msgspec.json.decode(RECORDED_BALANCED, type=Policy)
    assert recorded == BALANCED
    assert journal_of(_inputs(QUICKSTART), recorded) == GOLDEN.read_bytes()


def test_v1_1_golden_log_replays_byte_for_byte() -> None:
    """Steps, gates, an allow-list and adaptive overlap: checked by hand once, pinned here."""
    recorded = msgspec.json.decode(RECORDED_BALANCED, type=Policy)
    assert journal_of(_inputs(QUICKSTART_V1_1), recorded) == GOLDEN_V1_1.read_bytes()


@pytest.mark.parametrize(
    ("inputs", "golden"), [(QUICKSTART, LEARNED), (QUICKSTART_V1_1, LEARNED_V1_1)]
)
def test_the_learned_policy_is_the_default_and_pinned(inputs: Path, golden: Path) -> None:
    """Regenerate deliberately, when the default's weights change: ``golden.write_bytes(...)``."""
    assert Engine().policy == DEFAULT_POLICY != BALANCED
    assert DEFAULT_POLICY.name == "learned-2"
    assert journal_of(_inputs(inputs)) == golden.read_bytes()


@pytest.mark.parametrize(
    ("inputs", "golden"), [(QUICKSTART, GOLDEN_LEARNED_1), (QUICKSTART_V1_1, GOLDEN_LEARNED_1_V1_1)]
)
def test_a_log_recorded_under_the_first_learned_policy_replays_as_it_was(
    inputs: Path, golden: Path
) -> None:
    """As the log recorded it (whole, named "learned"), it decodes to LEARNED_1 and decides alike.

    The file of that policy (examples/policy-learned-1.toml, for a Kafka
    worker whose journal was written under it) is the same policy.
    """
    recorded = msgspec.json.decode(RECORDED_LEARNED_1, type=Policy)
    assert recorded == LEARNED_1 != DEFAULT_POLICY
    assert encode_policy(LEARNED_1) == RECORDED_LEARNED_1
    assert load_policy(ROOT / "examples" / "policy-learned-1.toml") == LEARNED_1
    assert journal_of(_inputs(inputs), recorded) == golden.read_bytes()


@pytest.mark.parametrize(
    ("recorded", "policy"),
    [(RECORDED_BALANCED, BALANCED), (RECORDED_LEARNED_1, LEARNED_1)],
    ids=["balanced", "learned-1"],
)
def test_an_old_log_recovers_under_its_recorded_policy_and_carries_on(
    tmp_path: Path, recorded: bytes, policy: Policy
) -> None:
    """A log recorded under an older default, run on without a policy file.

    The older defaults: balanced (recorded before the learned fields
    existed) and the first learned policy. The first half folds under the
    recorded policy, exactly as it was routed; the current default applies
    from the next input on.
    """
    events = _inputs(QUICKSTART)
    half = len(events) // 2
    path = tmp_path / "old.db"
    with Journal(path) as journal:
        journal.append(events[:half])
        EmbeddedRuntime(journal, policy, on_outputs=None).run(until_idle=True)
    with sqlite3.connect(path) as db:  # as the older version wrote it
        db.execute("UPDATE policies SET body = ?", (recorded,))
    with Journal(path) as journal:
        journal.append(events[half:])
        runtime = EmbeddedRuntime(journal, on_outputs=None)
        runtime.recover()
        runtime.run(until_idle=True)
        dumped = b"".join(
            entry.input + b"\n" + b"".join(o + b"\n" for o in entry.outputs)
            for entry in journal.entries()
        )
        epochs = journal.policies()
    assert epochs == [(1, recorded), (half + 1, encode_policy(DEFAULT_POLICY))]
    engine = Engine(policy)
    lines = []
    for number, event in enumerate(events, start=1):
        if number == half + 1:
            engine.policy = DEFAULT_POLICY
        lines.append(encode(event))
        lines.extend(encode(o) for o in engine.apply(event))
    assert dumped == b"".join(line + b"\n" for line in lines)


def test_golden_logs_replay_byte_for_byte_through_the_idle_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The index of large pools, used on every pool here, decides exactly as the scan.

    Under the balanced policy (one order by the steady part per pool) and under
    the learned default (one per pool and kind, with the agreement on review kinds).
    """
    monkeypatch.setattr(router._index, "INDEX_FROM", 1)
    assert journal_of(_inputs(QUICKSTART), BALANCED) == GOLDEN.read_bytes()
    assert journal_of(_inputs(QUICKSTART_V1_1), BALANCED) == GOLDEN_V1_1.read_bytes()
    assert journal_of(_inputs(QUICKSTART)) == LEARNED.read_bytes()
    assert journal_of(_inputs(QUICKSTART_V1_1)) == LEARNED_V1_1.read_bytes()
    events = list(simulated(60, 6, 11))
    indexed = [journal_of(events, policy) for policy in (BALANCED, DEFAULT_POLICY)]
    monkeypatch.setattr(router._index, "INDEX_FROM", 2**62)
    assert indexed == [journal_of(events, policy) for policy in (BALANCED, DEFAULT_POLICY)]


_DIGEST = """
import hashlib, sys
sys.path.insert(0, {root!r})
from tests.streams import simulated
from router import Engine
from events import encode
engine = Engine()
digest = hashlib.sha256()
for event in simulated(60, 6, 11):
    for out in engine.apply(event):
        digest.update(encode(out))
print(digest.hexdigest())
"""


def test_decisions_do_not_depend_on_hash_seeds() -> None:
    """Set and dict order of strings changes with PYTHONHASHSEED; decisions must not."""
    digests = set()
    for seed in ["0", "1", "12345"]:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", _DIGEST.format(root=str(ROOT))],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        digests.add(result.stdout.strip())
    assert len(digests) == 1


def test_recovery_folds_the_log_and_carries_on(tmp_path: Path) -> None:
    events = list(simulated(60, 6, 5))
    half = len(events) // 2
    with Journal(tmp_path / "a.db") as journal:
        journal.append(events[:half])
        first = EmbeddedRuntime(journal, on_outputs=None)
        first.recover()
        first.run(until_idle=True)
    with Journal(tmp_path / "a.db") as journal:
        journal.append(events[half:])
        second = EmbeddedRuntime(journal, on_outputs=None)
        assert second.recover() == half
        second.run(until_idle=True)
        dumped = b"".join(
            entry.input + b"\n" + b"".join(o + b"\n" for o in entry.outputs)
            for entry in journal.entries()
        )
    assert dumped == journal_of(events)


def test_recovery_decides_with_the_policy_that_was_in_force(tmp_path: Path) -> None:
    events = list(simulated(60, 6, 8))
    half = len(events) // 2
    eager = Policy(name="eager", lease_factor=1.5, lease_min_minutes=10, quality=0.9, load=0.1)
    with Journal(tmp_path / "p.db") as journal:
        journal.append(events[:half])
        EmbeddedRuntime(journal, on_outputs=None).run(until_idle=True)
        journal.append(events[half:])
        runtime = EmbeddedRuntime(journal, eager, on_outputs=None)
        runtime.recover()
        runtime.run(until_idle=True)
        assert [pos for pos, _ in journal.policies()] == [1, half + 1]
        recorded = [o for entry in journal.entries() for o in entry.outputs]
    engine = Engine()
    expected = []
    for n, event in enumerate(events):
        if n == half:
            engine.policy = eager
        expected.extend(encode(o) for o in engine.apply(event))
    assert recorded == expected
    assert encode_policy(eager) != encode_policy(Policy())


def _consistent(path: Path) -> None:
    """No output exists beyond the processed mark: batches are all or nothing."""
    with Journal(path) as journal:
        processed = journal.processed()
        beyond = journal._db.execute(
            "SELECT count(*) FROM outputs WHERE input > ?", (processed,)
        ).fetchone()[0]
    assert beyond == 0


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    events = list(simulated(285, 28, 21))
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(events))
    log = tmp_path / "crash.db"
    with Journal(log) as journal:
        ingest_lines(journal, source.open("rb"), "test")
        total = journal.last()
    rng = random.Random(4)
    kills = 0
    for _ in range(40):
        with Journal(log) as journal:
            if journal.processed() == total:
                break
        process = subprocess.Popen(
            [TRIAGE, "--log-level", "warning", "run", "--until-idle", "--log", str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.4, 1.4))  # a random moment to crash at, not a wait for a state
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=30)
        _consistent(log)
    else:
        subprocess.run(
            [TRIAGE, "run", "--until-idle", "--log", str(log)],
            check=True,
            capture_output=True,
            timeout=300,
        )
    assert kills >= 2, "the run was never killed mid-way: make the stream longer"
    dump = subprocess.run(
        [TRIAGE, "dump", "--log", str(log)], capture_output=True, check=True, timeout=120
    ).stdout
    assert hashlib.sha256(dump).hexdigest() == hashlib.sha256(journal_of(events)).hexdigest()
