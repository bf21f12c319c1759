"""A Kafka worker serves /healthz, /readyz and /metrics on Faust's own web server."""

from __future__ import annotations

import os

import pytest
from aiohttp.test_utils import TestClient, TestServer

from triage.kafka import worker_config_from_environment


@pytest.fixture
def worker_app(monkeypatch: pytest.MonkeyPatch) -> object:
    for name in list(os.environ):
        if name.startswith("TRIAGE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRIAGE_BROKER", "kafka://127.0.0.1:9")  # never contacted
    monkeypatch.setenv("TRIAGE_WEB_PORT", "6066")
    monkeypatch.setenv("TRIAGE_CLIENT_ID", "views-test")
    from triage.kafka import make_app

    return make_app(worker_config_from_environment())


async def test_the_views_are_routes_of_fausts_aiohttp_app(worker_app: object) -> None:
    web_app = worker_app.web.web_app  # type: ignore[attr-defined]
    paths = {route.resource.canonical for route in web_app.router.routes()}
    assert {"/health", "/status", "/healthz", "/readyz", "/metrics"} <= paths
    async with TestClient(TestServer(web_app)) as client:
        assert (await client.get("/healthz")).status == 200
        ready = await client.get("/readyz")
        assert ready.status == 503  # owns no partition: not started
        assert (await ready.json()) == {"status": "idle"}
        metrics = await (await client.get("/metrics")).text()
        assert "triage_worker_partitions 0.0" in metrics
        assert "triage_worker_uptime_seconds" in metrics
