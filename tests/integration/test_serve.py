"""`triage serve --broker` follows the Kafka journal; a worker's views answer on Faust's server."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.http.conftest import free_port
from tests.integration.conftest import TRIAGE, Cluster, wait_until
from tests.tools import need

ROOT = Path(__file__).resolve().parent.parent.parent
QUICKSTART = ROOT / "examples" / "quickstart.jsonl"


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def test_serve_follows_the_kafka_journal(cluster: Cluster, tmp_path: Path) -> None:
    lines = QUICKSTART.read_bytes().splitlines(keepends=True)
    cluster.publish(b"".join(lines[:10]))
    worker = cluster.start_worker("w1")
    wait_until(lambda: cluster.processed() >= 9, 90, "the first inputs in the journal")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen(
        [TRIAGE, "serve", "--port", str(port)],  # TRIAGE_BROKER is set: Kafka
        env=cluster.env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("wb"),
    )
    try:
        wait_until(lambda: fetch(f"{url}/readyz")[0] == 200, 90, "serve caught up")
        cluster.publish(b"".join(lines[10:]))
        wait_until(lambda: cluster.processed() == 20, 90, "20 inputs in the journal")

        def same_as_report() -> bool:
            expected = json.loads(cluster.triage("report", "--json").stdout)
            return json.loads(fetch(f"{url}/api/v1/report")[1]) == expected

        wait_until(same_as_report, 60, "serve's report equal to `report --broker`")
        status: Any = json.loads(fetch(f"{url}/api/v1/status")[1])
        assert status["ready"] and status["position"] == 20
        assert status["log"].startswith("kafka://")
        history: Any = json.loads(
            fetch(f"{url}/api/v1/workspaces/acme-llm/tasks/write-001/history")[1]
        )
        assert history["events"][0]["type"] == "task.created"

        worker_url = f"http://127.0.0.1:{cluster.ports[worker.pid]}"
        assert fetch(f"{worker_url}/healthz")[0] == 200
        assert fetch(f"{worker_url}/readyz")[0] == 200
        metrics = fetch(f"{worker_url}/metrics")[1]
        assert b"triage_worker_processed_total{partition=" in metrics
        checked = subprocess.run(
            [need("promtool"), "check", "metrics"], input=metrics, capture_output=True, check=False
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        serve.terminate()
        serve.wait(timeout=30)
