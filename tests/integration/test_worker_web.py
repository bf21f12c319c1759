"""A real worker's web port serves what `triage serve` does: the dashboard, the API, /metrics.

Two workers share the partitions, one started as `triage worker`, the
other the Faust way (`faust -A triage.faust_app worker`); each follows the
whole journal topic, so each serves the report of the whole platform,
equal to `triage report --broker`, whichever partitions it routes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.http.conftest import OBJECTIVES, WORKSPACE, free_port, get
from tests.http.test_dashboard import CHARTS, assert_drawn, chromium
from tests.integration.conftest import Cluster, _is_input, wait_until
from tests.tools import need

ROOT = Path(__file__).resolve().parent.parent.parent
FAUST = str(Path(sys.executable).parent / "faust")


def demo_inputs(tmp_path: Path) -> list[bytes]:
    """The inputs of a week's demo (20 experts), as JSON Lines to publish."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env["PYTHONPATH"] = str(ROOT)
    log = tmp_path / "demo.db"
    run = [sys.executable, "-m", "triage.cli"]
    subprocess.run(
        [*run, "demo", "--log", str(log), "--experts", "20", "--days", "7", "--quiet"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    dump = subprocess.run(
        [*run, "dump", "--log", str(log)], env=env, check=True, capture_output=True, timeout=300
    )
    return [line for line in dump.stdout.splitlines() if _is_input(line)]


def start_faust_worker(cluster: Cluster, name: str) -> tuple[subprocess.Popen[bytes], str]:
    """`faust -A triage.faust_app worker`, configured by TRIAGE_* alone, and its URL."""
    port = free_port()
    env = {**cluster.env, "TRIAGE_CLIENT_ID": name, "TRIAGE_WEB_PORT": str(port)}
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [FAUST, "-A", "triage.faust_app", "worker", "--loglevel", "warn"],
        env=env,
        stdout=(cluster.tmp / f"{name}.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    cluster.workers.append(process)
    return process, f"http://127.0.0.1:{port}"


def answer(url: str) -> Any:
    status, body = get(url)
    assert status == 200, (url, status, body[:300])
    return json.loads(body)


def test_a_worker_serves_the_dashboard_the_api_and_metrics(
    cluster: Cluster, tmp_path: Path
) -> None:
    inputs = demo_inputs(tmp_path)
    cluster.env["TRIAGE_OBJECTIVES"] = str(OBJECTIVES)
    cluster.env["TRIAGE_MAX_AHEAD_SECONDS"] = "0"  # the demo's month may be ahead of today
    cluster.publish(b"\n".join(inputs) + b"\n")
    first = cluster.start_worker("w1")
    url = f"http://127.0.0.1:{cluster.ports[first.pid]}"

    def folded(at: str) -> bool:
        try:
            status = answer(f"{at}/api/v1/status")
        except OSError:
            return False
        return bool(status["ready"]) and status["position"] == len(inputs)

    wait_until(lambda: folded(url), 300, "the worker's views folded the whole journal")
    wait_until(lambda: get(f"{url}/readyz")[0] == 200, 60, "the worker ready")
    expected = json.loads(cluster.triage("report", "--json").stdout)
    assert answer(f"{url}/api/v1/report") == expected

    page_status, page = get(f"{url}/")
    assert page_status == 200 and b"<html" in page[:200].lower()
    task = next(json.loads(line)["task"] for line in inputs if b'"task.created"' in line)
    history = answer(f"{url}/api/v1/workspaces/{WORKSPACE}/tasks/{task}/history")
    assert history["events"][0]["type"] == "task.created"
    objectives = answer(f"{url}/api/v1/workspaces/{WORKSPACE}/objectives")
    assert {r["status"] for r in objectives["objectives"]} <= {
        "met", "at_risk", "missed", "no_data"
    }  # fmt: skip

    metrics = get(f"{url}/metrics")[1]
    checked = subprocess.run(
        [need("promtool"), "check", "metrics"], input=metrics, capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for family in (
        b"triage_worker_processed_total{partition=",
        b"triage_tasks_created_total{",
        b"triage_objective_status{",
        b"triage_ready 1.0",
    ):
        assert family in metrics, family

    dom, log = chromium(f"{url}/", tmp_path / "worker-dashboard.png")
    assert_drawn(dom, log, CHARTS)
    assert "live · refreshed" in dom

    # A second worker, the Faust way: it routes some partitions, and shows them all.
    second, second_url = start_faust_worker(cluster, "w2")
    wait_until(lambda: folded(second_url), 300, "the second worker's views caught up")
    wait_until(
        lambda: all(get(f"{u}/readyz")[0] == 200 for u in (url, second_url)),
        120,
        "both workers ready (the partitions shared)",
    )
    owned = [set(json.loads(get(f"{u}/status")[1])["partitions"]) for u in (url, second_url)]
    assert owned[0] and owned[1] and not owned[0] & owned[1]
    assert answer(f"{second_url}/api/v1/report") == expected
    assert second.poll() is None
