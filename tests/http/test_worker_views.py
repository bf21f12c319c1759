"""A Kafka worker serves the API, the dashboard, the probes and /metrics on Faust's own server.

No broker here: the app is built but its tasks never run, so the views
answer over an empty journal (the integration test serves a real one).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from events import ConfigError
from triage.kafka import worker_config_from_environment

API = {
    "/",
    "/openapi.json",
    "/api/v1/status",
    "/api/v1/report",
    "/api/v1/dashboard",
    "/api/v1/deadletters",
    "/api/v1/workspaces",
    "/api/v1/workspaces/{workspace}/report",
    "/api/v1/workspaces/{workspace}/objectives",
    "/api/v1/workspaces/{workspace}/queue",
    "/api/v1/workspaces/{workspace}/tasks/{task}/history",
    "/api/v1/workspaces/{workspace}/experts/{expert}",
}
PROBES = {"/health", "/status", "/healthz", "/readyz", "/metrics"}


@pytest.fixture
def worker_app(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Build a worker's Faust app from ``TRIAGE_*`` (never contacting the broker)."""
    for name in list(os.environ):
        if name.startswith("TRIAGE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRIAGE_BROKER", "kafka://127.0.0.1:9")  # never contacted
    monkeypatch.setenv("TRIAGE_WEB_PORT", "6066")
    monkeypatch.setenv("TRIAGE_CLIENT_ID", "views-test")

    def build(**environment: str) -> Any:
        from triage.kafka import make_app

        for name, value in environment.items():
            monkeypatch.setenv(f"TRIAGE_{name.upper()}", value)
        return make_app(worker_config_from_environment())

    return build


def paths(app: Any) -> set[str]:
    return {route.resource.canonical for route in app.web.web_app.router.routes()}


async def test_the_api_and_dashboard_are_routes_of_fausts_aiohttp_app(
    worker_app: Callable[..., Any],
) -> None:
    app = worker_app()
    app.web.init_server()  # Faust's own blueprints, its index page at "/" among them
    assert paths(app) >= API | PROBES
    assert not {p for p in paths(app) if p.startswith(("/router", "/table"))}
    async with TestClient(TestServer(app.web.web_app)) as client:
        alive = await client.get("/healthz")
        assert alive.status == 200 and (await alive.json()) == {"status": "ok", "position": 0}
        ready = await client.get("/readyz")
        assert ready.status == 503  # owns no partition: not started
        assert (await ready.json()) == {"status": "idle", "position": 0}
        page = await client.get("/")  # ours, registered before Faust's index
        assert page.status == 200 and page.content_type == "text/html"
        assert "Triage" in await page.text()
        status = await (await client.get("/api/v1/status")).json()
        assert status["ready"] is False and status["log"].startswith("kafka://127.0.0.1:9 (")
        metrics = await (await client.get("/metrics")).text()
        assert "triage_worker_partitions 0.0" in metrics
        assert "triage_worker_uptime_seconds" in metrics
        assert "triage_journal_position 0.0" in metrics and "triage_ready 0.0" in metrics


async def test_probes_only_serves_no_journal(worker_app: Callable[..., Any]) -> None:
    app = worker_app(web_views="probes")
    assert paths(app) >= PROBES and not API & paths(app)
    async with TestClient(TestServer(app.web.web_app)) as client:
        assert (await (await client.get("/readyz")).json()) == {"status": "idle"}
        assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
        metrics = await (await client.get("/metrics")).text()
        assert "triage_worker_partitions" in metrics and "triage_journal_position" not in metrics


async def test_the_token_guards_every_route_but_the_probes(
    worker_app: Callable[..., Any],
) -> None:
    app = worker_app(http_token="s3cret")
    async with TestClient(TestServer(app.web.web_app)) as client:
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/health")).status == 200  # the image's health check
        assert (await client.get("/readyz")).status == 503
        for path in ("/", "/api/v1/report", "/metrics", "/status"):
            assert (await client.get(path)).status == 401, path
        bearer = {"Authorization": "Bearer s3cret"}
        assert (await client.get("/api/v1/report", headers=bearer)).status == 200
        assert (await client.get("/?access_token=s3cret")).status == 200


def test_a_public_web_host_needs_a_token(worker_app: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match="--web-token or TRIAGE_HTTP_TOKEN"):
        worker_app(web_host="0.0.0.0")
    assert worker_app(web_host="0.0.0.0", http_token="s3cret").conf.web_bind == "0.0.0.0"
    assert worker_app(web_host="0.0.0.0", web_port="0").conf.web_enabled is False
    # The probes alone serve no journal: what a worker always served, token or not.
    probes = worker_app(web_host="0.0.0.0", web_views="probes")
    assert probes.conf.web_bind == "0.0.0.0"


@pytest.mark.filterwarnings("ignore:Setting new value for configuration key")
async def test_a_bind_widened_after_the_settings_is_refused(
    worker_app: Callable[..., Any],
) -> None:
    app = worker_app()
    assert app.conf.web_bind == "127.0.0.1"  # not Faust's default of every interface
    app.conf.web_bind = "0.0.0.0"  # what `faust worker --web-bind 0.0.0.0` does
    with pytest.raises(ConfigError, match=r"refusing to serve on 0\.0\.0\.0"):
        async with TestClient(TestServer(app.web.web_app)):
            pass
