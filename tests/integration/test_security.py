"""Secured clusters: the same routing over SASL (PLAIN, SCRAM) and TLS, on a real broker."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import TRIAGE, VERSIONS, Cluster, kafka_broker, wait_until

ROOT = Path(__file__).resolve().parent.parent.parent
QUICKSTART = ROOT / "examples" / "quickstart.jsonl"
GOLDEN = ROOT / "tests" / "replay" / "golden" / "quickstart.learned.journal.jsonl"


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A broker with SASL_PLAINTEXT, SSL and SASL_SSL listeners besides PLAINTEXT."""
    data = tmp_path_factory.mktemp("kafka-secure")
    running = kafka_broker.Broker(VERSIONS[0], data_dir=data, secure=True).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.kafka
@pytest.mark.parametrize(
    ("protocol", "mechanism"),
    [
        ("SASL_PLAINTEXT", "PLAIN"),
        ("SASL_PLAINTEXT", "SCRAM-SHA-256"),
        ("SSL", None),
        ("SASL_SSL", "SCRAM-SHA-512"),
    ],
)
def test_routing_over_a_secured_listener(
    secure_broker: Any, protocol: str, mechanism: str | None, tmp_path: Path
) -> None:
    cluster = Cluster(secure_broker, protocol, tmp_path)
    cluster.env["TRIAGE_BROKER"] = f"kafka://{secure_broker.bootstrap_for(protocol)}"
    cluster.env["TRIAGE_SECURITY_PROTOCOL"] = protocol
    if mechanism:
        cluster.env["TRIAGE_SASL_MECHANISM"] = mechanism
        cluster.env["TRIAGE_SASL_USERNAME"] = "triage"
        cluster.env["TRIAGE_SASL_PASSWORD"] = "triage-secret"
    if "SSL" in protocol:
        cluster.env["TRIAGE_SSL_CAFILE"] = str(secure_broker.ca_file)
    try:
        cluster.triage("topics")
        cluster.publish(QUICKSTART.read_bytes())
        cluster.start_worker("secure")
        wait_until(lambda: cluster.processed() == 20, 90, "20 inputs in the journal")
        assert cluster.triage("dump").stdout == GOLDEN.read_bytes()
    finally:
        cluster.close()


def test_a_wrong_password_is_one_clear_error(secure_broker: Any, tmp_path: Path) -> None:
    cluster = Cluster(secure_broker, "wrong", tmp_path)
    env = {
        **cluster.env,
        "TRIAGE_BROKER": f"kafka://{secure_broker.bootstrap_for('SASL_PLAINTEXT')}",
        "TRIAGE_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "TRIAGE_SASL_MECHANISM": "PLAIN",
        "TRIAGE_SASL_USERNAME": "triage",
        "TRIAGE_SASL_PASSWORD": "wrong",
    }
    result = subprocess.run(
        [TRIAGE, "topics"], env=env, capture_output=True, timeout=120, check=False
    )
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr, result.stderr.decode()[-500:]
    assert result.stderr.splitlines()[-1].startswith(b"triage: error: kafka:")
