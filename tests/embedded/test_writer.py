"""One writer per log: the writer lock between processes, and the fence inside each write."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import LogError, decode_input
from tests.embedded.cli import GOLDEN, QUICKSTART, TRIAGE, one_error_line, triage
from tests.replay.test_replay import journal_of
from tests.streams import simulated
from triage.embedded import EmbeddedRuntime, Journal, WriterLock


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def dump(log: Path) -> bytes:
    return triage("dump", "--log", log).stdout


def test_a_second_run_is_refused_naming_the_first_and_a_killed_one_lets_go(
    tmp_path: Path,
) -> None:
    log = tmp_path / "triage.db"
    triage("ingest", "--log", log, QUICKSTART)
    first = subprocess.Popen(
        [TRIAGE, "--log-level", "warning", "run", "--log", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lock = Path(f"{log}.lock")
    try:
        wait_until(
            lambda: lock.exists() and f'"pid":{first.pid},'.encode() in lock.read_bytes(),
            "the first run to hold the lock",
        )
        line = one_error_line(triage("run", "--until-idle", "--log", log, check=False))
        assert f"the log {log} is in use by pid {first.pid} on " in line
        assert "(triage run, since " in line
        first.send_signal(signal.SIGKILL)  # the kernel releases a killed holder's lock
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    again = triage("run", "--until-idle", "--log", log).stdout.decode()
    assert "processed 0" in again or "recovered 0" in again
    assert dump(log) == GOLDEN.read_bytes()  # every output once


def test_the_lock_is_per_log_and_released_on_exit(tmp_path: Path) -> None:
    log = tmp_path / "a.db"
    with WriterLock(log, "test one"):
        held = rf"in use by pid {os.getpid()} on .*\(test one, since"
        with pytest.raises(LogError, match=held), WriterLock(tmp_path / "a.db", "test two"):
            pass
        with WriterLock(tmp_path / "b.db", "another log"):
            pass
    with WriterLock(log, "test three"):
        assert b'"command":"test three"' in Path(f"{log}.lock").read_bytes()
    assert Path(f"{log}.lock").read_bytes() == b""  # the holder's details go with it


def test_the_demo_takes_the_lock(tmp_path: Path) -> None:
    log = tmp_path / "demo.db"
    with WriterLock(log, "a test"):
        line = one_error_line(triage("demo", "--quiet", "--days", "1", "--log", log, check=False))
    assert f"in use by pid {os.getpid()}" in line and "(a test, since" in line


def quickstart() -> list:  # type: ignore[type-arg]
    """The quickstart's events, each once, in order (as the log keeps them)."""
    firsts: dict[tuple[str, str], object] = {}
    for line in QUICKSTART.read_bytes().splitlines():
        event = decode_input(line)
        firsts.setdefault((event.workspace, event.id), event)
    return list(firsts.values())


def test_two_runtimes_without_the_lock_write_no_output_twice(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with Journal(path) as journal:
        journal.append(quickstart())
    with Journal(path) as one, Journal(path) as two:
        first = EmbeddedRuntime(one, batch=5, on_outputs=None)
        second = EmbeddedRuntime(two, batch=5, on_outputs=None)
        first.recover()
        second.recover()
        assert first.step() == 5
        with pytest.raises(LogError, match=r"another writer has processed the log .* up to 5"):
            second.step()
        first.run(until_idle=True)
        assert [o for e in one.entries() for o in e.outputs] == [
            o for e in two.entries() for o in e.outputs
        ]
    assert dump(path) == GOLDEN.read_bytes()


EVENTS = simulated(12, 1, 5)


@settings(max_examples=25)
@given(turns=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 60)), min_size=1, max_size=40))
def test_any_interleaving_of_unlocked_writers_writes_each_output_once(
    tmp_path_factory: pytest.TempPathFactory, turns: list[tuple[int, int]]
) -> None:
    """Three runtimes step in turn at random; one that is fenced off starts again from the log."""
    path = tmp_path_factory.mktemp("fence") / "a.db"
    with Journal(path, check=False) as journal:
        journal.append(EVENTS)
    journals = [Journal(path, check=False) for _ in range(3)]
    runtimes = [EmbeddedRuntime(j, on_outputs=None) for j in journals]
    try:
        for who, batch in turns:
            runtimes[who].batch = batch
            try:
                runtimes[who].step()
            except LogError:
                runtimes[who] = EmbeddedRuntime(journals[who], on_outputs=None)
        runtimes[0] = EmbeddedRuntime(journals[0], on_outputs=None)
        runtimes[0].run(until_idle=True)
        written = b"".join(
            e.input + b"\n" + b"".join(o + b"\n" for o in e.outputs) for e in journals[0].entries()
        )
    finally:
        for journal in journals:
            journal.close()
    assert written == journal_of(list(EVENTS))


def test_commit_is_fenced_too(tmp_path: Path) -> None:
    events = quickstart()
    with Journal(tmp_path / "c.db") as journal:
        mark = journal.commit([(events[0], [])], after=0)
        assert mark == 1
        with pytest.raises(LogError, match="another writer"):
            journal.commit([(events[1], [])], after=0)
        journal.append([events[1]])  # an input the committing writer has not processed
        with pytest.raises(LogError, match="has inputs after 1"):
            journal.commit([(events[2], [])], after=1)
        assert journal.counts() == {"inputs": 2, "outputs": 0, "deadletters": 0, "processed": 1}
