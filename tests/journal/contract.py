"""The journal contract: what every backend of the ordered log must do, as one test case.

Each backend (the SQLite log, the Kafka journal) is a subclass that only says
how to build a :class:`Backend`: how events go in (``triage ingest``,
``triage publish``), how a runtime routes them (``triage run``, a worker),
how a runtime restarts, and how the journal and dead letters read back
(``triage dump``). A new backend gets the whole contract for free:

- append and route: the quickstart gives the golden journal, byte for byte;
- dedupe by id: every event sent twice is decided once;
- the processed mark: a restarted runtime writes nothing twice;
- recovery: a runtime killed between two deliveries carries on exactly;
- dead letters: bad records are kept with their reason, and nothing else is lost.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
QUICKSTART = (ROOT / "examples" / "quickstart.jsonl").read_bytes()
GOLDEN = (ROOT / "tests" / "replay" / "golden" / "quickstart.learned.journal.jsonl").read_bytes()
INPUTS = sum(1 for line in GOLDEN.splitlines() if b'"cause"' not in line)
BAD = (
    b'{"type":"task.created","id":"bad-1"}\n'
    b"not json at all\n"
    b'{"type":"task.assigned","id":"x","at":"2026-11-02T09:00:00Z","workspace":"acme-llm"}\n'
)


class Backend(ABC):
    """One journal backend with a runtime over it, as a test drives it."""

    @abstractmethod
    def write(self, lines: bytes, *, raw: bool = False) -> None:
        """Deliver JSON Lines to the backend's input (``raw``: invalid lines too)."""

    @abstractmethod
    def route(self, inputs: int) -> None:
        """Let the runtime route until the journal holds ``inputs`` accepted inputs."""

    @abstractmethod
    def restart(self) -> None:
        """Kill the runtime (SIGKILL, if one is running) and start a fresh one."""

    @abstractmethod
    def journal(self) -> bytes:
        """The journal as ``triage dump`` prints it."""

    @abstractmethod
    def dead_letters(self) -> list[dict[str, Any]]:
        """The dead letters as ``triage dump --deadletters`` prints them."""


class JournalContract:
    """The contract; a subclass provides the ``backend`` fixture."""

    @pytest.fixture
    def backend(self) -> Backend:
        raise NotImplementedError

    def test_appended_events_route_to_the_golden_journal(self, backend: Backend) -> None:
        backend.write(QUICKSTART)
        backend.route(INPUTS)
        assert backend.journal() == GOLDEN

    def test_an_event_sent_twice_is_decided_once(self, backend: Backend) -> None:
        backend.write(QUICKSTART)
        backend.write(QUICKSTART)
        backend.route(INPUTS)
        assert backend.journal() == GOLDEN

    def test_a_restarted_runtime_writes_nothing_twice(self, backend: Backend) -> None:
        backend.write(QUICKSTART)
        backend.route(INPUTS)
        backend.restart()
        backend.write(QUICKSTART)  # resent after the restart: still known
        backend.route(INPUTS)
        assert backend.journal() == GOLDEN

    def test_recovery_carries_on_exactly(self, backend: Backend) -> None:
        lines = QUICKSTART.splitlines(keepends=True)
        first = b"".join(lines[:10])
        backend.write(first)
        backend.route(len({json.loads(line)["id"] for line in lines[:10]}))
        backend.restart()
        backend.write(b"".join(lines[10:]))
        backend.route(INPUTS)
        assert backend.journal() == GOLDEN

    def test_bad_records_are_dead_letters_and_the_rest_is_routed(self, backend: Backend) -> None:
        backend.write(BAD + QUICKSTART, raw=True)
        backend.route(INPUTS)
        assert backend.journal() == GOLDEN
        letters = backend.dead_letters()
        assert len(letters) == 3
        reasons = [letter["error"] for letter in letters]
        assert any("malformed JSON" in r for r in reasons)
        assert any("not accepted as input" in r for r in reasons)
        assert all(letter["raw"] for letter in letters)
