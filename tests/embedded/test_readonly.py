"""``dump`` and ``report`` on a log the user may only read: it is never changed.

The log and its directory are made read-only (``chmod``). Root ignores file
modes through two capabilities, so when the tests run as root the commands
run without them (``setpriv --bounding-set=-dac_override,-dac_read_search``)
and the modes hold for them as for anyone; either way the test then proves
that nothing was written: same bytes, same mtime, no ``-wal`` or ``-shm``.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.embedded.cli import GOLDEN, INVALID, QUICKSTART, ROOT, one_error_line, triage
from triage.embedded import EmbeddedRuntime, Journal, ingest_lines

READERS = [("dump",), ("dump", "--deadletters"), ("report",), ("report", "--json")]


@pytest.fixture
def reader() -> list[str]:
    """The command prefix that makes file modes apply to the command."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file modes cannot be made to hold")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def make_log(path: Path) -> None:
    with Journal(path) as journal:
        with INVALID.open("rb") as bad, QUICKSTART.open("rb") as good:
            ingest_lines(journal, [*bad, *good], "ingest:fixture")
        EmbeddedRuntime(journal, on_outputs=None).run(until_idle=True)


def freeze(directory: Path) -> dict[str, tuple[bytes, int]]:
    for item in directory.iterdir():
        item.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    directory.chmod(0o555)
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in directory.iterdir()}


def test_readers_work_on_a_read_only_log_and_write_nothing(
    tmp_path: Path, reader: list[str]
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    log = archive / "triage.db"
    make_log(log)
    expected = {command: triage(*command, "--log", log).stdout for command in READERS}
    for suffix in ("-wal", "-shm"):  # what the reads above left: not part of the archive
        Path(f"{log}{suffix}").unlink(missing_ok=True)
    before = freeze(archive)
    assert sorted(before) == ["triage.db"]
    for command in READERS:
        result = triage(*command, "--log", log, prefix=reader)
        assert result.stdout == expected[command], command
    invalid = sum(1 for line in INVALID.read_bytes().splitlines() if line.strip())
    assert result.stdout.startswith(b'{"":{"dead_letters":{"total":%d,' % invalid)
    refused = one_error_line(triage("ingest", "--log", log, QUICKSTART, check=False, prefix=reader))
    assert f"the log {log}" in refused
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in archive.iterdir()}
    assert after == before


_CRASH = """
import os, sys
sys.path.insert(0, {root!r})
from triage.embedded import Journal, ingest_lines
journal = Journal(sys.argv[1])
with open(sys.argv[2], "rb") as lines:
    ingest_lines(journal, lines, "ingest:crash")
os._exit(0)  # no close: the transactions stay in the -wal, as after a crash
"""


def test_a_read_only_log_left_with_its_wal_is_read_whole(tmp_path: Path, reader: list[str]) -> None:
    """What a crashed writer left in the -wal is committed: a reader must see it."""
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    log = crashed / "triage.db"
    subprocess.run(
        [sys.executable, "-c", _CRASH.format(root=str(ROOT)), str(log), str(QUICKSTART)],
        check=True,
        timeout=60,
    )
    assert Path(f"{log}-wal").stat().st_size > 0
    before = freeze(crashed)
    inputs = sum(1 for line in GOLDEN.read_bytes().splitlines() if b'"cause"' not in line)
    dumped = triage("dump", "--log", log, prefix=reader).stdout.splitlines()
    assert len(dumped) == inputs
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in crashed.iterdir()}
    assert after == before
