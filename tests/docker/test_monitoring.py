"""Prometheus and Grafana in compose.yaml: pinned, loopback-only, wired to the files beside them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.tools import need

from .compose_yaml import ports, service, services
from .sources import ROOT

DOCKER = ROOT / "docker"
PROMETHEUS = DOCKER / "prometheus" / "prometheus.yml"
ALERTS = DOCKER / "prometheus" / "alerts.yml"
ALERT_TESTS = DOCKER / "prometheus" / "alerts.test.yml"
DASHBOARD = DOCKER / "grafana" / "dashboards" / "triage.json"
PROVISIONING = DOCKER / "grafana" / "provisioning"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def host_mounts(name: str) -> dict[str, Path]:
    """Container path -> host path of the bind mounts of a service."""
    mounted = {}
    for volume in service(name).get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            mounted[target] = (DOCKER / source).resolve()
    return mounted


def test_monitoring_images_are_pinned() -> None:
    for name in ("prometheus", "grafana"):
        image = services()[name]["image"]
        assert ":" in image and not image.endswith(":latest"), image


def test_prometheus_and_grafana_listen_on_loopback_only() -> None:
    prometheus = service("prometheus")
    assert prometheus["network_mode"] == "host"
    assert "--web.listen-address=127.0.0.1:9090" in prometheus["command"]
    grafana = service("grafana")
    assert grafana["network_mode"] == "host"
    assert grafana["environment"]["GF_SERVER_HTTP_ADDR"] == "127.0.0.1"


def test_prometheus_reads_the_committed_config_and_rules() -> None:
    mounted = host_mounts("prometheus")
    assert mounted["/etc/prometheus"] == PROMETHEUS.parent
    command = service("prometheus")["command"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in command
    assert load(PROMETHEUS)["rule_files"] == [ALERTS.name]


def test_prometheus_scrapes_every_worker_where_compose_publishes_it() -> None:
    jobs = {job["job_name"]: job for job in load(PROMETHEUS)["scrape_configs"]}
    targets = set(jobs["triage-worker"]["static_configs"][0]["targets"])
    published = set()
    for name in ("worker-1", "worker-2"):
        for port in ports(service(name)):
            published.add(f"{port.host_ip}:{port.published}")
    assert targets == published
    assert jobs["triage"]["static_configs"][0]["targets"] == ["127.0.0.1:8080"]  # serve's default


def test_serve_follows_kafka_on_the_hosts_loopback() -> None:
    serve = service("serve")
    assert serve["network_mode"] == "host"
    assert serve["command"][0] == "serve" and "--host" not in serve["command"]  # 127.0.0.1
    objectives = serve["command"][serve["command"].index("--objectives") + 1]
    assert objectives == "/app/examples/objectives.toml"
    assert (ROOT / "examples" / "objectives.toml").exists()
    assert "/readyz" in " ".join(serve["healthcheck"]["test"])


def test_grafana_provisions_the_datasource_and_the_dashboard() -> None:
    mounted = host_mounts("grafana")
    assert mounted["/etc/grafana/provisioning"] == PROVISIONING
    datasource = load(PROVISIONING / "datasources" / "prometheus.yml")["datasources"][0]
    assert datasource["url"] == "http://127.0.0.1:9090"
    provider = load(PROVISIONING / "dashboards" / "triage.yml")["providers"][0]
    assert mounted[provider["options"]["path"]] == DASHBOARD.parent
    dashboard = json.loads(DASHBOARD.read_text())
    uids = {
        target["datasource"]["uid"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }
    assert uids == {datasource["uid"]}
    home = service("grafana")["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD.name}"


def test_promtool_accepts_the_config_and_the_rules() -> None:
    promtool = need("promtool")
    for args in (("check", "config", str(PROMETHEUS)), ("check", "rules", str(ALERTS))):
        result = subprocess.run(
            [promtool, *args], check=False, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_pass_their_unit_tests() -> None:
    promtool = need("promtool")
    result = subprocess.run(
        [promtool, "test", "rules", str(ALERT_TESTS)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ALERT_TESTS.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_objective_has_an_alert() -> None:
    expressions = " ".join(
        rule["expr"] for group in load(ALERTS)["groups"] for rule in group["rules"]
    )
    for objective in (
        "hours_per_month",
        "completed_per_week",
        "aht_seconds",
        "pass_rate",
        "mean_score",
        "wait_p90_seconds",
        "experts_per_pool",
    ):
        assert objective in expressions, objective
