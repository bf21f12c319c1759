"""Recovery from a snapshot equals recovery by a full fold; a bad snapshot falls back to one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import structlog

from router import DEFAULT_POLICY, Engine, Policy, snapshot
from tests.streams import jsonl, simulated
from triage.embedded import EmbeddedRuntime, Journal, ingest_lines

EVENTS = simulated(30, 6, 5)


def dump(path: Path) -> list[bytes]:
    with Journal(path, readonly=True) as journal:
        return [line for e in journal.entries() for line in (e.input, *e.outputs)]


def log_with(path: Path, events: tuple, every: int) -> None:  # type: ignore[type-arg]
    with Journal(path) as journal:
        ingest_lines(journal, jsonl(events).splitlines(keepends=True), "test")
        EmbeddedRuntime(journal, on_outputs=None, batch=100, snapshot_every=every).run(
            until_idle=True
        )


def recovered(path: Path, policy: Policy | None = None, every: int = 200) -> EmbeddedRuntime:
    journal = Journal(path)
    runtime = EmbeddedRuntime(
        journal, policy or DEFAULT_POLICY, on_outputs=None, snapshot_every=every
    )
    runtime.recover()
    return runtime


def state(engine: Engine) -> object:
    import router._snapshot

    return msgspec.json.decode(snapshot(engine), type=router._snapshot._Snapshot)


def test_a_restart_from_a_snapshot_carries_on_exactly(tmp_path: Path) -> None:
    whole = tmp_path / "whole.db"
    log_with(whole, EVENTS, every=0)
    split = tmp_path / "split.db"
    half = len(EVENTS) // 2
    log_with(split, EVENTS[:half], every=200)
    runtime = recovered(split)
    assert runtime.restored_from > 0  # it started from a snapshot
    assert runtime.position == half
    full = Engine()
    for event in EVENTS[:half]:
        full.apply(event)
    assert state(runtime.engine) == state(full)
    ingest_lines(runtime.journal, jsonl(EVENTS[half:]).splitlines(keepends=True), "test")
    runtime.run(until_idle=True)
    runtime.journal.close()
    assert dump(split) == dump(whole)


def test_a_damaged_or_foreign_snapshot_falls_back_to_a_full_fold(tmp_path: Path) -> None:
    log = tmp_path / "t.db"
    log_with(log, EVENTS, every=200)
    reference = dump(log)
    with sqlite3.connect(log) as db:
        assert db.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 2
        db.execute(
            "UPDATE snapshots SET body = ? WHERE pos = (SELECT max(pos) FROM snapshots)", (b"{",)
        )
    with structlog.testing.capture_logs() as logs:
        runtime = recovered(log)
    older = runtime.restored_from
    assert 0 < older < len(EVENTS)  # the damaged one was passed over for the older one
    assert any(entry["event"] == "snapshot.unusable" for entry in logs)
    runtime.journal.close()
    with sqlite3.connect(log) as db:
        db.execute("UPDATE snapshots SET body = ?", (b"not a snapshot",))
    runtime = recovered(log, every=0)
    assert runtime.restored_from == 0 and runtime.position == len(EVENTS)
    runtime.run(until_idle=True)
    runtime.journal.close()
    assert dump(log) == reference


def test_a_snapshot_of_another_policy_than_the_log_had_is_passed_over(tmp_path: Path) -> None:
    log = tmp_path / "t.db"
    log_with(log, EVENTS, every=200)
    other = Engine(Policy(name="other", quality=1.0, load=0.0, idle=0.0, fit=0.0))
    with sqlite3.connect(log) as db:
        db.execute("UPDATE snapshots SET body = ?", (snapshot(other),))
    with structlog.testing.capture_logs() as logs:
        runtime = recovered(log, every=0)
    assert runtime.restored_from == 0
    assert any("policy" in str(entry.get("reason")) for entry in logs)
    runtime.journal.close()


def test_an_older_log_without_snapshots_recovers_by_a_fold(tmp_path: Path) -> None:
    log = tmp_path / "t.db"
    log_with(log, EVENTS[:200], every=0)
    runtime = recovered(log, every=0)
    assert runtime.restored_from == 0 and runtime.position == 200
    runtime.journal.close()
