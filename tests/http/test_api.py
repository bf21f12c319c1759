"""The API over a live `triage serve`: the report's figures, look-ups, probes, auth, OpenAPI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate

from triage.http import LiveLog, make_app, openapi_document

from .conftest import ROOT, WORKSPACE, Served, get, get_json, start_serve, stop_serve, triage

DOCUMENT = ROOT / "docs" / "openapi.json"


def test_the_workspace_report_is_the_report_json(served: Served) -> None:
    expected = json.loads(triage("report", "--json", "--log", str(served.log)).stdout)
    assert get_json(f"{served.url}/api/v1/report") == expected
    assert get_json(f"{served.url}/api/v1/workspaces/{WORKSPACE}/report") == expected[WORKSPACE]


def test_the_queue_is_in_queue_order_and_counts_the_report_queued(served: Served) -> None:
    report: Any = get_json(f"{served.url}/api/v1/workspaces/{WORKSPACE}/report")
    queue: Any = get_json(f"{served.url}/api/v1/workspaces/{WORKSPACE}/queue?limit=10000")
    assert queue["total"] == report["tasks"]["queued"]
    keys = [(-t["priority"], t["created"], t["task"]) for t in queue["tasks"]]
    assert keys == sorted(keys)
    assert [t["position"] for t in queue["tasks"]] == list(range(1, len(keys) + 1))
    assert len(get_json(f"{served.url}/api/v1/workspaces/{WORKSPACE}/queue?limit=3")["tasks"]) <= 3  # type: ignore[index]
    assert get(f"{served.url}/api/v1/workspaces/{WORKSPACE}/queue?limit=0")[0] == 400


def test_a_task_history_is_its_events_in_log_order(served: Served) -> None:
    dump = triage("dump", "--log", str(served.log)).stdout.splitlines()
    events = [json.loads(line) for line in dump]
    task = next(e["task"] for e in events if e["type"] == "task.completed")
    mine = [e for e in events if e.get("task") == task]
    history: Any = get_json(f"{served.url}/api/v1/workspaces/{WORKSPACE}/tasks/{task}/history")
    assert history["events"] == mine
    assert history["events"][0]["type"] == "task.created"
    status, body = get(f"{served.url}/api/v1/workspaces/{WORKSPACE}/tasks/no-such-task/history")
    assert status == 404 and b"no-such-task" in body


def test_an_expert_has_profile_load_and_record(served: Served) -> None:
    report: Any = get_json(f"{served.url}/api/v1/workspaces/{WORKSPACE}/report")
    expert = sorted(report["utilization"]["by_expert"])[0]
    body: Any = get_json(f"{served.url}/api/v1/workspaces/{WORKSPACE}/experts/{expert}")
    assert body["profile"]["expert"] == expert
    assert body["profile"]["domains"] and body["profile"]["languages"]
    assert body["load"] == report["utilization"]["by_expert"][expert]
    assert body["profile"]["submitted"] == report["handling"]["by_expert"][expert]["count"]
    assert get(f"{served.url}/api/v1/workspaces/{WORKSPACE}/experts/nobody")[0] == 404


def test_objectives_dead_letters_status_and_probes(served: Served) -> None:
    objectives: Any = get_json(f"{served.url}/api/v1/workspaces/{WORKSPACE}/objectives")
    assert {r["objective"] for r in objectives["objectives"]} >= {
        "hours_per_month",
        "pass_rate",
        "aht_seconds",
        "experts_per_pool",
    }
    assert get_json(f"{served.url}/api/v1/deadletters") == {
        "total": 0,
        "dead_letters": [],
        "retried": 0,
    }
    status: Any = get_json(f"{served.url}/api/v1/status")
    assert status["ready"] and status["workspaces"] == [WORKSPACE]
    assert get_json(f"{served.url}/healthz")["status"] == "ok"  # type: ignore[index]
    assert get_json(f"{served.url}/readyz")["status"] == "ready"  # type: ignore[index]


def test_task_content_is_never_served(served: Served) -> None:
    """Events carry refs into the client's store; the API adds nothing else."""
    body = get(f"{served.url}/api/v1/workspaces/{WORKSPACE}/dashboard")[1]
    for low in json.loads(body)["low_quality"]:
        assert set(low) == {
            "task",
            "kind",
            "domain",
            "language",
            "score",
            "passed",
            "errors",
            "at",
            "ref",
        }


def test_serve_follows_the_log_as_run_appends(demo_log: Path, tmp_path: Path) -> None:
    log = tmp_path / "growing.db"
    log.write_bytes(demo_log.read_bytes())
    running = start_serve(log)
    try:
        before: Any = get_json(f"{running.url}/api/v1/status")
        created: Any = get_json(f"{running.url}/api/v1/workspaces/{WORKSPACE}/report")
        source = tmp_path / "more.jsonl"
        clock = created["clock"]
        source.write_text(
            json.dumps(
                {
                    "type": "task.created",
                    "id": "late-1",
                    "at": clock,
                    "workspace": WORKSPACE,
                    "task": "late-task-1",
                    "kind": "write",
                    "domain": "stem",
                    "language": "en",
                    "minutes": 30,
                }
            )
            + "\n"
        )
        triage("ingest", str(source), "--log", str(log))
        triage("run", "--until-idle", "--log", str(log))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status: Any = get_json(f"{running.url}/api/v1/status")
            if status["position"] > before["position"]:
                break
            time.sleep(0.1)
        assert status["position"] == before["position"] + 1
        history: Any = get_json(
            f"{running.url}/api/v1/workspaces/{WORKSPACE}/tasks/late-task-1/history"
        )
        assert history["events"][0]["id"] == "late-1"
    finally:
        stop_serve(running)


def test_serve_refuses_a_public_address_without_a_token(demo_log: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TRIAGE_HTTP_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "triage.cli", "serve", "--log", str(demo_log), "--host", "0.0.0.0"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert "without a token" in result.stderr


async def test_a_token_guards_everything_but_the_probes() -> None:
    live = LiveLog()
    live.mark_ready()
    async with TestClient(TestServer(make_app(live, log="x.db", token="s3cret"))) as client:
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/readyz")).status == 200
        for path in ("/metrics", "/api/v1/status", "/", "/openapi.json"):
            response = await client.get(path)
            assert response.status == 401, path
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = await client.get("/api/v1/status", headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401
        right = await client.get("/api/v1/status", headers={"Authorization": "Bearer s3cret"})
        assert right.status == 200
        assert (await client.get("/metrics?access_token=s3cret")).status == 200


async def test_not_ready_until_the_follower_caught_up() -> None:
    live = LiveLog()
    async with TestClient(TestServer(make_app(live, log="x.db"))) as client:
        assert (await client.get("/readyz")).status == 503
        assert (await client.get("/healthz")).status == 200
        live.mark_ready()
        assert (await client.get("/readyz")).status == 200


def test_the_openapi_document_is_valid_and_committed(served: Served) -> None:
    document = openapi_document()
    validate(document)
    assert get_json(f"{served.url}/openapi.json") == document
    committed = json.loads(DOCUMENT.read_text())
    assert committed == document, "docs/openapi.json is stale: run `make docs`"


def test_every_route_is_in_the_openapi_document() -> None:
    app = make_app(LiveLog(), log="x.db")
    routes = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    assert routes == set(openapi_document()["paths"])


@pytest.mark.slow
def test_the_live_api_conforms_to_its_openapi_document(served: Served, tmp_path: Path) -> None:
    """schemathesis generates requests from the document and checks every response against it."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{served.url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            "15",
            "--exclude-path",
            "/",
            "--report-dir",
            str(tmp_path),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_the_follower_outlives_a_failed_read(demo_log: Path, monkeypatch: Any) -> None:
    import threading

    from triage.cli import _serve
    from triage.embedded import Journal

    class Flaky(Journal):
        failures = 1

        def entries(self, *args: Any, **kwargs: Any) -> Any:
            if Flaky.failures:
                Flaky.failures -= 1
                raise OSError("disk I/O error")
            return super().entries(*args, **kwargs)

    monkeypatch.setattr(_serve, "Journal", Flaky)
    live, stop = LiveLog(), threading.Event()
    follower = threading.Thread(target=_serve.follow, args=(demo_log, live, stop, 0.05))
    follower.start()
    try:
        deadline = time.monotonic() + 60
        while not live.ready and time.monotonic() < deadline:
            time.sleep(0.05)
        assert live.ready and live.position > 0 and Flaky.failures == 0
    finally:
        stop.set()
        follower.join(timeout=10)


def test_the_dead_letters_endpoint_tells_retried_from_open(tmp_path: Path) -> None:
    from tests.embedded.test_deadletters import STATUS, correction

    log = tmp_path / "letters.db"
    triage("ingest", "--log", str(log), "-", input=(STATUS % b"busy").decode() + "\nnot json\n")
    served = start_serve(log)
    try:
        url = f"{served.url}/api/v1/deadletters"
        body: Any = get_json(url)
        assert (body["total"], body["retried"]) == (2, 0)
        assert [(x["id"], x["status"]) for x in body["dead_letters"]] == [
            ("1", "open"),
            ("2", "open"),
        ]
        fixes = tmp_path / "fixes.jsonl"
        fixes.write_bytes(correction("1", STATUS % b"away"))
        triage("deadletters", "retry", "--file", str(fixes), "--log", str(log))
        deadline = time.monotonic() + 30
        while get_json(url)["retried"] != 1:  # type: ignore[index]
            assert time.monotonic() < deadline, "the retry never showed"
            time.sleep(0.1)
        first = get_json(url)["dead_letters"][0]  # type: ignore[index]
        assert (first["status"], first["retried_by"]) == ("retried", "s-ana")
        report: Any = get_json(f"{served.url}/api/v1/report")
        assert report[""]["dead_letters"]["retried"] == 1
    finally:
        stop_serve(served)
