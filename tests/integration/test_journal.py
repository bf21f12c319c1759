"""The journal contract on Kafka: ``triage publish`` and worker processes on a real broker."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.conftest import Cluster, wait_until
from tests.journal.contract import Backend, JournalContract


class KafkaBackend(Backend):
    """A topic prefix of its own on the broker, routed by one worker process."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.worker: subprocess.Popen[bytes] | None = None
        self.started = 0

    def write(self, lines: bytes, *, raw: bool = False) -> None:
        self.cluster.publish(lines, *(["--raw"] if raw else []))

    def route(self, inputs: int) -> None:
        if self.worker is None:
            self._start()
        wait_until(lambda: self.cluster.processed() >= inputs, 120, f"{inputs} inputs")
        assert self.cluster.processed() == inputs

    def _start(self) -> None:
        self.started += 1
        self.worker = self.cluster.start_worker(f"contract-{self.started}")

    def restart(self) -> None:
        if self.worker is not None:
            self.cluster.kill(self.worker)
        self._start()

    def journal(self) -> bytes:
        return self.cluster.triage("dump").stdout

    def dead_letters(self) -> list[dict[str, Any]]:
        out = self.cluster.triage("dump", "--deadletters").stdout
        return [json.loads(line) for line in out.splitlines()]


class TestKafkaJournal(JournalContract):
    @pytest.fixture
    def backend(self, cluster: Cluster) -> Iterator[Backend]:
        yield KafkaBackend(cluster)
