"""`triage replay`, `triage report --at` and `triage whatif` through the real command."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli.test_cli import INVALID, QUICKSTART, triage


@pytest.fixture
def quickstart(tmp_path: Path) -> str:
    log = str(tmp_path / "quickstart.db")
    triage("ingest", "--log", log, str(QUICKSTART))
    triage("run", "--until-idle", "--log", log)
    return log


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    log = str(tmp_path_factory.mktemp("demo") / "demo.db")
    triage("demo", "--log", log, "--quiet")
    return log


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    log = str(tmp_path_factory.mktemp("small") / "small.db")
    triage("demo", "--log", log, "--quiet", "--experts", "40", "--days", "6", "--seed", "3")
    return log


def test_replay_of_the_quickstart_is_identical(quickstart: str) -> None:
    result = triage("replay", "--log", quickstart)
    assert "replayed 20 inputs" in result.stdout
    assert "identical: all" in result.stdout
    body = json.loads(triage("replay", "--log", quickstart, "--json").stdout)
    assert body["identical"] is True and body["inputs"] == 20 and body["divergence"] is None


def test_replay_reports_a_tampered_decision_and_exits_1(quickstart: str) -> None:
    with sqlite3.connect(quickstart) as db:
        pos, body = db.execute(
            "SELECT pos, body FROM outputs WHERE type = 'task.assigned' ORDER BY pos LIMIT 1"
        ).fetchone()
        db.execute(
            "UPDATE outputs SET body = ? WHERE pos = ?",
            (bytes(body).replace(b'"expert":"', b'"expert":"x', 1), pos),
        )
    result = triage("replay", "--log", quickstart, check=False)
    assert result.returncode == 1
    assert "DIVERGED at position" in result.stdout
    assert '"expert":"x' in result.stdout  # the recorded side, shown as it is
    body = json.loads(triage("replay", "--log", quickstart, "--json", check=False).stdout)
    assert body["identical"] is False and body["divergence"]["output"] >= 1


def test_replay_refuses_a_time_without_offset_and_never_overwrites(
    quickstart: str, tmp_path: Path
) -> None:
    bare = triage("replay", "--log", quickstart, "--until", "2026-11-02T10:00:00", check=False)
    assert bare.returncode == 1 and "no offset" in bare.stderr
    same = triage("replay", "--log", quickstart, "--to", quickstart, check=False)
    assert same.returncode == 1 and "never writes to it" in same.stderr
    existing = tmp_path / "exists.db"
    existing.write_bytes(b"")
    again = triage("replay", "--log", quickstart, "--to", str(existing), check=False)
    assert again.returncode == 1 and "overwrites nothing" in again.stderr
    policy = triage("replay", "--log", quickstart, "--policy", str(existing), check=False)
    assert policy.returncode == 1 and "records the policies" in policy.stderr


def test_replay_to_a_new_log_copies_the_journal(quickstart: str, tmp_path: Path) -> None:
    triage("ingest", "--log", quickstart, str(INVALID))
    copy = str(tmp_path / "copy.db")
    triage("replay", "--log", quickstart, "--to", copy)
    assert triage("dump", "--log", copy).stdout == triage("dump", "--log", quickstart).stdout
    letters = triage("dump", "--deadletters", "--log", quickstart).stdout
    assert letters and triage("dump", "--deadletters", "--log", copy).stdout == letters
    assert triage("replay", "--log", copy).returncode == 0
    assert (
        triage("report", "--log", copy, "--json").stdout
        == triage("report", "--log", quickstart, "--json").stdout
    )


def test_report_at_a_moment_is_the_report_of_a_replay_stopped_there(
    demo: str, tmp_path: Path
) -> None:
    moment = "2026-11-12T14:30:00+01:00"
    copy = str(tmp_path / "until.db")
    replayed = json.loads(
        triage("replay", "--log", demo, "--until", moment, "--to", copy, "--json").stdout
    )
    assert replayed["identical"] and 10_000 < replayed["inputs"] < 71_000
    at = triage("report", "--log", demo, "--at", moment, "--json").stdout
    assert at == triage("report", "--log", copy, "--json").stdout
    assert at != triage("report", "--log", demo, "--json").stdout
    clock = json.loads(at)["llm-finetune"]["clock"]
    assert clock <= "2026-11-12T13:30:00Z"
    text = triage("report", "--log", demo, "--at", moment).stdout
    assert text == triage("report", "--log", copy).stdout


def test_replay_of_the_demo_is_identical(demo: str) -> None:
    body = json.loads(triage("replay", "--log", demo, "--json").stdout)
    assert body["identical"] and body["inputs"] > 65_000
    assert body["policies"] == [[1, "learned-2"]]


def test_whatif_is_deterministic_and_calibrated(small_demo: str, tmp_path: Path) -> None:
    policy = tmp_path / "quality-first.toml"
    policy.write_text('name = "quality-first"\nquality = 1.0\nload = 0.1\nidle = 0.1\nfit = 0.0\n')
    args = ("whatif", "--log", small_demo, "--seed", "4", "--json")
    first = triage(*args, "--policy", str(policy), "--baseline", "all").stdout
    assert first == triage(*args, "--policy", str(policy), "--baseline", "all").stdout
    body = json.loads(first)
    ((workspace, columns),) = body["workspaces"].items()
    assert [c["label"] for c in columns] == [
        "recorded",
        "recorded policy",
        "quality-first",
        "longest-idle",
        "round-robin",
        "random",
    ]
    assert columns[2]["policy"] == "quality-first"
    assert {row["figure"] for row in body["calibration"][workspace]} >= {"aht_seconds"}
    text = triage("whatif", "--log", small_demo, "--seed", "4").stdout
    assert "calibration" in text and "assumptions:" in text and "round-robin" in text
    assert triage("whatif", "--log", small_demo, "--seed", "5", "--json").stdout != first
