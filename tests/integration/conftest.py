"""A real Apache Kafka broker for the integration tests, and real worker processes.

The broker comes from tools/kafka/broker.py (jars fetched with Maven). Every
integration test runs once per version in TRIAGE_KAFKA_VERSIONS (default:
the 3.9 line and the current 4.x line). Each test gets its own topic prefix
and consumer group, so tests never see each other's data.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tools" / "kafka"))

import broker as kafka_broker  # noqa: E402

TRIAGE = str(Path(sys.executable).parent / "triage")
VERSIONS = os.environ.get("TRIAGE_KAFKA_VERSIONS", "3.9.2,4.4.0").split(",")
_serial = itertools.count(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any("broker" in name for name in getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session", params=VERSIONS)
def broker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A running single-node KRaft broker on 127.0.0.1."""
    data = tmp_path_factory.mktemp(f"kafka-{request.param}")
    running = kafka_broker.Broker(request.param, data_dir=data).start()
    try:
        yield running
    finally:
        running.stop()


class Cluster:
    """Settings for one test: its own prefix, group and worker processes."""

    def __init__(self, broker: Any, name: str, tmp: Path) -> None:
        self.broker = broker
        self.tmp = tmp
        number = next(_serial)
        self.env = {
            **os.environ,
            "TRIAGE_BROKER": f"kafka://{broker.bootstrap}",
            "TRIAGE_TOPIC_PREFIX": f"t{number}.",
            "TRIAGE_GROUP": f"g{number}",
            "TRIAGE_PARTITIONS": "4",
            "TRIAGE_TICK_SECONDS": "0",
            "TRIAGE_MERGE_WAIT_MS": "20000",
            "TRIAGE_LOG_LEVEL": "warning",
        }
        self.workers: list[subprocess.Popen[bytes]] = []
        self.ports: dict[int, int] = {}

    def triage(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run(
            [TRIAGE, *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"triage {args}: {result.stderr.decode()[-2000:]}")
        return result

    def publish(self, lines: bytes, *extra: str) -> None:
        self.triage("publish", *extra, "-", stdin=lines)

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        port = kafka_broker._bind(0)
        log = (self.tmp / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [TRIAGE, "worker", "--client-id", name, "--web-port", str(port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(process)
        self.ports[process.pid] = port
        return process

    def status(self, process: subprocess.Popen[bytes]) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.ports[process.pid]}/status", timeout=2
            ) as response:
                return json.loads(response.read())  # type: ignore[no-any-return]
        except OSError:
            return None

    def processed(self) -> int:
        """Accepted inputs committed to the journal, read from the broker."""
        dump = self.triage("dump").stdout
        return sum(1 for line in dump.splitlines() if _is_input(line))

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def close(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


_INPUT_TYPES = (
    b'"expert.',
    b'"task.created"',
    b'"task.cancelled"',
    b'"task.declined"',
    b'"task.submitted"',
    b'"task.reviewed"',
    b'"clock.tick"',
)


def _is_input(line: bytes) -> bool:
    head = line[:40]
    return any(kind in head for kind in _INPUT_TYPES)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll a condition of the system (not the clock) until it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def cluster(broker: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    made = Cluster(broker, request.node.name, tmp_path)
    made.triage("topics")
    try:
        yield made
    finally:
        made.close()
