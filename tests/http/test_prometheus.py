"""/metrics as Prometheus sees it: promtool's lint, then a real server running every query we ship.

The server (Debian's `prometheus`) scrapes `triage serve` over the demo log
and a Kafka worker's metric views (``mount_worker`` over a worker-shaped
status, since a broker is not part of this suite), then runs every PromQL
query of the Grafana dashboard and of the alert rules: each must parse,
and each must find data.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from tests.tools import need
from triage.http import mount_worker

from .conftest import Served, free_port, get

ROOT = Path(__file__).resolve().parent.parent.parent
DASHBOARD = ROOT / "docker" / "grafana" / "dashboards" / "triage.json"
ALERTS = ROOT / "docker" / "prometheus" / "alerts.yml"
_METRIC = re.compile(r"\b(triage_[a-z0-9_]+|up)\b")


def test_promtool_accepts_a_real_scrape(served: Served) -> None:
    promtool = need("promtool")
    status, body = get(f"{served.url}/metrics")
    assert status == 200
    result = subprocess.run(
        [promtool, "check", "metrics"], input=body, check=False, capture_output=True, timeout=60
    )
    assert result.returncode == 0, (result.stdout + result.stderr).decode()
    text = body.decode()
    for name in ("triage_tasks_created_total", "triage_objective_status", "triage_aht_seconds"):
        assert f"\n{name}{{" in text, name
    assert "expert=" not in text and "task=" not in text  # never ids as labels


def _worker_status() -> dict[str, Any]:
    return {
        "group": "triage-router",
        "client_id": "worker-1",
        "uptime_seconds": 12.5,
        "partitions": {
            "0": {"workspaces": 1, "processed": 120, "duplicates": 0, "deadletters": 1},
            "3": {"workspaces": 2, "processed": 80, "duplicates": 2, "deadletters": 0},
        },
    }


@pytest.fixture
def worker_views() -> Iterator[str]:
    """A worker's /healthz, /readyz and /metrics (``mount_worker``) on 127.0.0.1."""
    app = web.Application()
    mount_worker(app, _worker_status)
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_worker_views_answer(worker_views: str) -> None:
    assert get(f"http://{worker_views}/healthz")[0] == 200
    assert get(f"http://{worker_views}/readyz")[0] == 200
    promtool = need("promtool")
    body = get(f"http://{worker_views}/metrics")[1]
    result = subprocess.run(
        [promtool, "check", "metrics"], input=body, check=False, capture_output=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert b'triage_worker_processed_total{partition="0"} 120.0' in body


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> dict[str, Any]:
        status, body = get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        answer: dict[str, Any] = json.loads(body)
        assert status == 200 and answer["status"] == "success", (expr, answer)
        return answer["data"]  # type: ignore[no-any-return]

    def wait(self, expr: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.query(expr)["result"]:
                return
            time.sleep(0.25)
        raise AssertionError(f"no data for {expr}")


@pytest.fixture
def prometheus(served: Served, worker_views: str, tmp_path: Path) -> Iterator[Prometheus]:
    binary = need("prometheus")
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [
            {"job_name": "triage", "static_configs": [{"targets": [served.url.split("//")[1]]}]},
            {"job_name": "triage-worker", "static_configs": [{"targets": [worker_views]}]},
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("w"),
    )
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(f"{server.url}/-/ready")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "prometheus.log").read_text()
            time.sleep(0.1)
        # Both targets up, and enough samples for the rate() of the dashboard.
        server.wait('count_over_time(up{job="triage"}[1m]) >= 4')
        server.wait('count_over_time(up{job="triage-worker"}[1m]) >= 4')
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def _dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    for variable in dashboard["templating"]["list"]:
        match = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["definition"])
        assert match, variable["definition"]
        queries.append(f"count by ({match.group(2)}) ({match.group(1)})")
    return queries


def _grafana(expr: str) -> str:
    """The query as Grafana sends it with every workspace selected."""
    return expr.replace("$workspace", ".*").replace("$__rate_interval", "1m")


@pytest.mark.slow
def test_a_real_prometheus_runs_every_dashboard_and_alert_query(prometheus: Prometheus) -> None:
    targets = prometheus.query("up")["result"]
    assert {t["metric"]["job"]: t["value"][1] for t in targets} == {
        "triage": "1",
        "triage-worker": "1",
    }
    for expr in _dashboard_queries():
        result = prometheus.query(_grafana(expr))["result"]
        assert result, f"the dashboard query {expr!r} found no data"
    rules = [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]
    for rule in rules:
        prometheus.query(rule["expr"])  # parses and runs
        for name in set(_METRIC.findall(rule["expr"])):
            assert prometheus.query(f"count({name})")["result"], (rule["alert"], name)
    body = get(f"{prometheus.url}/api/v1/rules")[1]
    loaded = [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]]
    assert len(loaded) == len(rules)
    prometheus.wait('count(ALERTS{alertname="TriageObjectiveMissed"})')  # the demo misses some
    assert all(r["health"] == "ok" for r in loaded), [r for r in loaded if r["health"] != "ok"]
