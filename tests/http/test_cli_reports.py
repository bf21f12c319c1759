"""`triage report --objectives/--html` and `triage export`, on the demo log."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from triage.cli._export import COLUMNS

from .conftest import OBJECTIVES, ROOT, WORKSPACE, triage


def report(log: Path) -> Any:
    return json.loads(triage("report", "--json", "--log", str(log)).stdout)[WORKSPACE]


def test_export_low_quality_as_csv_and_jsonl(demo_log: Path) -> None:
    expected = report(demo_log)["quality"]["low_quality"]
    rows = list(
        csv.DictReader(io.StringIO(triage("export", "low-quality", "--log", str(demo_log)).stdout))
    )
    assert tuple(rows[0]) == COLUMNS["low-quality"]
    assert [r["task"] for r in rows] == [x["task"] for x in expected]
    assert rows[0]["errors"] == ";".join(expected[0]["errors"])
    lines = triage("export", "low-quality", "--format", "jsonl", "--log", str(demo_log)).stdout
    records = [json.loads(line) for line in lines.splitlines()]
    assert [r["score"] for r in records] == [x["score"] for x in expected]
    assert records[0]["errors"] == expected[0]["errors"]


def test_export_tasks_and_experts(demo_log: Path) -> None:
    summary = report(demo_log)
    tasks = list(
        csv.DictReader(io.StringIO(triage("export", "tasks", "--log", str(demo_log)).stdout))
    )
    assert tuple(tasks[0]) == COLUMNS["tasks"]
    assert len(tasks) == summary["tasks"]["created"]
    assert sum(t["state"] == "completed" for t in tasks) == summary["tasks"]["completed"]
    experts = list(
        csv.DictReader(io.StringIO(triage("export", "experts", "--log", str(demo_log)).stdout))
    )
    assert tuple(experts[0]) == COLUMNS["experts"]
    live = [e for e in experts if e["removed"] == "false"]
    assert len(live) == summary["staffing"]["experts"]
    assert all("=" in e["domains"] for e in experts)


def test_report_with_objectives_as_text_and_json(demo_log: Path) -> None:
    text = triage("report", "--log", str(demo_log), "--objectives", str(OBJECTIVES)).stdout
    assert f"Objectives of {WORKSPACE}, week " in text
    assert "hours_per_month" in text and "met if 10,000-13,000h" in text
    body = json.loads(
        triage("report", "--json", "--log", str(demo_log), "--objectives", str(OBJECTIVES)).stdout
    )
    objectives = body["workspaces"][WORKSPACE]
    assert objectives["met"] + objectives["at_risk"] + objectives["missed"] + objectives[
        "no_data"
    ] == len(objectives["objectives"])


def test_report_options_say_what_is_wrong(demo_log: Path, tmp_path: Path) -> None:
    def fails(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "triage.cli", "report", "--log", str(demo_log), *args],
            check=False,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            timeout=120,
        )
        assert result.returncode != 0
        return result.stderr

    assert "--week needs --html" in fails("--objectives", str(OBJECTIVES), "--week", "2026-W46")
    assert "not an ISO week" in fails("--html", str(tmp_path / "x.html"), "--week", "46")
    assert "no workspace 'nope'" in fails("--html", str(tmp_path / "x.html"), "--workspace", "nope")
    bad = tmp_path / "bad.toml"
    bad.write_text("[workspaces.w]\npass_rate = 0.9\n")
    assert "invalid objectives" in fails("--objectives", str(bad))
