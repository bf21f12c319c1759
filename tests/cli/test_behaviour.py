"""The command line behaves as documented at its edges: pipes, signals, bad settings, no broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import ConfigError
from triage.embedded import Journal
from triage.kafka import parse_broker

TRIAGE = str(Path(sys.executable).parent / "triage")
ROOT = Path(__file__).parent.parent.parent
QUICKSTART = ROOT / "examples" / "quickstart.jsonl"


def env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    return {**clean, "TRIAGE_LOG_LEVEL": "warning", **extra}


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A routed demo log: a few seconds of recovery on this machine."""
    path = tmp_path_factory.mktemp("big") / "demo.db"
    subprocess.run(
        [TRIAGE, "demo", "--quiet", "--log", str(path)],
        env=env(),
        check=True,
        timeout=300,
    )
    return path


def test_dump_into_a_pipe_that_closes_early_exits_0(big_log: Path) -> None:
    process = subprocess.Popen(
        [TRIAGE, "dump", "--log", str(big_log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()  # `| head -1`
    process.stdout.close()
    assert process.wait(timeout=60) == 0
    assert process.stderr.read() == b""


@pytest.mark.parametrize("command", ["topics", "dump", "report", "tail --no-follow", "publish -"])
def test_kafka_commands_without_a_broker_print_one_line(command: str) -> None:
    result = subprocess.run(
        [TRIAGE, *command.split(), "--broker", "kafka://127.0.0.1:9"],
        input=QUICKSTART.read_bytes(),
        capture_output=True,
        env=env(),
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert lines == ["triage: error: kafka: cannot reach a broker at 127.0.0.1:9"], lines
    assert b"\x1b" not in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9092",
        "kafka://",
        "kafka://host",
        "kafka://host:port",
        "kafka://host:0",
        "kafka://host:70000",
        "kafka://user@host:9092",
        "kafka://host:9092/path",
        "127.0.0.1",
    ],
)
def test_an_invalid_broker_url_is_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        parse_broker(url)
    result = subprocess.run(
        [TRIAGE, "topics", "--broker", url], capture_output=True, env=env(), timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stderr.decode().startswith("triage: error: ")
    assert len(result.stderr.decode().splitlines()) == 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parse_broker_accepts_only_host_port_lists(url: str) -> None:
    try:
        parsed = parse_broker(url)
    except ConfigError:
        return
    for host in parsed.split(","):
        name, _, port = host.rpartition(":")
        assert name and port.isdigit() and 0 < int(port) < 65536
        assert not any(c in name for c in "/?#@ ")


def test_kafka_settings_in_the_environment_do_not_break_embedded_commands(
    tmp_path: Path,
) -> None:
    log = str(tmp_path / "t.db")
    broken = env(TRIAGE_PARTITIONS="many", TRIAGE_SECURITY_PROTOCOL="CARRIER_PIGEON")
    for args in (["ingest", str(QUICKSTART)], ["run", "--until-idle"], ["dump"], ["report"]):
        result = subprocess.run(
            [TRIAGE, *args, "--log", log], capture_output=True, env=broken, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
    with_broker = subprocess.run(
        [TRIAGE, "dump", "--broker", "kafka://127.0.0.1:9"],
        capture_output=True,
        env=broken,
        timeout=60,
        check=False,
    )
    assert with_broker.stderr.decode().splitlines() == [
        "triage: error: TRIAGE_PARTITIONS: 'many' is not a whole number"
    ]


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_recovery_ends_the_run_within_a_second(
    big_log: Path, tmp_path: Path, number: signal.Signals
) -> None:
    log = tmp_path / "copy.db"
    log.write_bytes(big_log.read_bytes())
    process = subprocess.Popen(
        [TRIAGE, "run", "--log", str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(),
    )
    time.sleep(0.8)  # start-up (imports) and into the fold of the whole log
    assert process.poll() is None, "recovery ended before the signal: the log is too small"
    sent = time.monotonic()
    process.send_signal(number)
    code = process.wait(timeout=30)
    took = time.monotonic() - sent
    out = process.stdout.read().decode() if process.stdout else ""
    assert code == 0, process.stderr.read() if process.stderr else ""
    recovered = int(out.split()[1].rstrip(","))
    with Journal(log, create=False) as journal:
        assert recovered < journal.processed(), "the signal came after recovery"
    assert took < 1.5, f"took {took:.2f}s to stop"  # the target is 1 s; margin for a busy box
