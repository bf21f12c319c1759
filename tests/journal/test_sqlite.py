"""The journal contract on the embedded log: ``triage ingest`` and ``triage run``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.journal.contract import Backend, JournalContract

TRIAGE = str(Path(sys.executable).parent / "triage")


class SqliteBackend(Backend):
    """A SQLite file; each route is a fresh ``triage run --until-idle`` process."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _triage(self, *args: str, stdin: bytes | None = None) -> bytes:
        result = subprocess.run(
            [TRIAGE, *args, "--log", str(self.path)],
            input=stdin,
            capture_output=True,
            timeout=120,
            check=True,
        )
        return result.stdout

    def write(self, lines: bytes, *, raw: bool = False) -> None:
        self._triage("ingest", "-", stdin=lines)

    def route(self, inputs: int) -> None:
        self._triage("run", "--until-idle")
        assert sum(1 for line in self.journal().splitlines() if b'"cause"' not in line) == inputs

    def restart(self) -> None:
        """Nothing runs between two routes: each is a process of its own."""

    def journal(self) -> bytes:
        return self._triage("dump")

    def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._triage("dump", "--deadletters").splitlines()]


class TestSqliteJournal(JournalContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        return SqliteBackend(tmp_path / "triage.db")
