"""`faust -A triage.faust_app worker` reads the environment as `triage worker` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from events import ConfigError
from triage.kafka import KafkaSettings, worker_config_from_environment

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("TRIAGE_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_every_worker_setting_comes_from_the_environment(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('name = "careful"\nquality = 0.9\nload = 0.1\nidle = 0.0\nfit = 0.0\n')
    values = {
        "TRIAGE_BROKER": "kafka://b1:9093,b2:9093",
        "TRIAGE_TOPIC_PREFIX": "acme.",
        "TRIAGE_PARTITIONS": "12",
        "TRIAGE_REPLICATION": "3",
        "TRIAGE_GROUP": "acme-router",
        "TRIAGE_CLIENT_ID": "worker-7",
        "TRIAGE_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "TRIAGE_SASL_MECHANISM": "SCRAM-SHA-512",
        "TRIAGE_SASL_USERNAME": "triage",
        "TRIAGE_SASL_PASSWORD": "secret",
        "TRIAGE_TICK_SECONDS": "15",
        "TRIAGE_BATCH_MAX": "500",
        "TRIAGE_BATCH_MS": "9",
        "TRIAGE_MERGE_WAIT_MS": "250",
        "TRIAGE_COMMIT_GAP_MS": "4",
        "TRIAGE_RETRY_BACKOFF_MS": "25",
        "TRIAGE_INSTANCE_ID": "router-7",
        "TRIAGE_SESSION_TIMEOUT_MS": "6000",
        "TRIAGE_MAX_AHEAD_SECONDS": "3600",
        "TRIAGE_WEB_HOST": "0.0.0.0",
        "TRIAGE_WEB_PORT": "7000",
        "TRIAGE_WEB_VIEWS": "probes",
        "TRIAGE_HTTP_TOKEN": "s3cret",  # required to bind beyond the loopback
        "TRIAGE_OBJECTIVES": str(ROOT / "examples" / "objectives.toml"),
        "TRIAGE_POLICY": str(policy),
    }
    for name, value in values.items():
        environment.setenv(name, value)
    config = worker_config_from_environment()
    settings, policy_read = config.settings, config.policy
    web_host, web_port = config.web_host, config.web_port
    assert settings.bootstrap == "b1:9093,b2:9093"
    assert settings.topics.prefix == "acme."
    assert (settings.partitions, settings.replication) == (12, 3)
    assert (settings.group, settings.client_id) == ("acme-router", "worker-7")
    assert settings.security.protocol == "SASL_PLAINTEXT"
    assert settings.security.sasl_mechanism == "SCRAM-SHA-512"
    assert (settings.security.sasl_username, settings.security.sasl_password) == (
        "triage",
        "secret",
    )
    assert settings.tick_seconds == 15
    assert (settings.batch_max, settings.batch_ms, settings.merge_wait_ms) == (500, 9, 250)
    assert (settings.commit_gap_ms, settings.retry_backoff_ms) == (4, 25)
    assert (settings.group_instance_id, settings.session_timeout_ms) == ("router-7", 6000)
    assert settings.max_ahead_seconds == 3600
    assert (web_host, web_port) == ("0.0.0.0", 7000)
    assert (config.web_views, config.http_token) == ("probes", "s3cret")
    assert config.objectives is not None and "llm-finetune" in config.objectives.workspaces
    assert policy_read.name == "careful"


def test_defaults_are_those_of_triage_worker(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("TRIAGE_BROKER", "kafka://127.0.0.1:9092")
    config = worker_config_from_environment()
    settings, policy = config.settings, config.policy
    web_host, web_port = config.web_host, config.web_port

    assert settings == KafkaSettings(bootstrap="127.0.0.1:9092", tick_seconds=60.0)
    assert settings.group_instance_id == settings.client_id  # static membership
    assert settings.max_ahead_seconds == 86_400
    assert policy.name == "learned-2"
    assert (web_host, web_port) == ("127.0.0.1", 6066)
    assert (config.web_views, config.http_token, config.objectives) == ("all", None, None)


def test_instance_id_none_means_dynamic_membership(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("TRIAGE_BROKER", "kafka://127.0.0.1:9092")
    environment.setenv("TRIAGE_INSTANCE_ID", "none")
    assert worker_config_from_environment().settings.group_instance_id is None


def test_a_missing_broker_or_a_bad_value_is_one_clear_error(
    environment: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match="TRIAGE_BROKER"):
        worker_config_from_environment()
    environment.setenv("TRIAGE_BROKER", "kafka://127.0.0.1:9092")
    environment.setenv("TRIAGE_BATCH_MS", "soon")
    with pytest.raises(ConfigError, match="TRIAGE_BATCH_MS"):
        worker_config_from_environment()


def test_the_module_builds_the_app_faust_expects() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env |= {"TRIAGE_BROKER": "kafka://127.0.0.1:9", "TRIAGE_GROUP": "acme-router"}
    code = "import triage.faust_app as m; print(m.app.conf.id)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "acme-router-app"
