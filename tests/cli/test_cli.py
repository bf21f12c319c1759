"""The real `triage` command on a real SQLite file, as people and scripts use it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
TRIAGE = str(Path(sys.executable).parent / "triage")
QUICKSTART = ROOT / "examples" / "quickstart.jsonl"
GOLDEN = ROOT / "tests" / "replay" / "golden" / "quickstart.learned.journal.jsonl"
INVALID = ROOT / "tests" / "contract" / "invalid.jsonl"


def triage(
    *args: str, stdin: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [TRIAGE, "--log-level", "warning", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"triage {args} exited {result.returncode}: {result.stderr}")
    return result


@pytest.fixture
def log(tmp_path: Path) -> str:
    return str(tmp_path / "triage.db")


@pytest.mark.parametrize(
    "command",
    [
        "",
        "ingest",
        "run",
        "dump",
        "report",
        "deadletters",
        "replay",
        "whatif",
        "why",
        "demo",
        "schema",
    ],
)
def test_every_command_has_help(command: str) -> None:
    result = triage(*([command] if command else []), "--help")
    assert "Usage:" in result.stdout


def test_quickstart_round_trip(log: str) -> None:
    ingest = triage("ingest", "--log", log, str(QUICKSTART))
    assert ingest.stdout.strip() == "accepted 20, duplicates 1, conflicts 0, dead-lettered 0"
    run = triage("run", "--until-idle", "--log", log)
    assert "processed 20" in run.stdout
    assert triage("dump", "--log", log).stdout == GOLDEN.read_text()
    again = triage("run", "--until-idle", "--log", log)
    assert "recovered 20, processed 0" in again.stdout


def test_ingest_counts_duplicates_and_reads_stdin(log: str) -> None:
    triage("ingest", "--log", log, str(QUICKSTART))
    result = triage("ingest", "--log", log, "-", stdin=QUICKSTART.read_bytes())
    assert result.stdout.strip() == "accepted 0, duplicates 21, conflicts 0, dead-lettered 0"


def test_bad_input_is_dead_lettered_with_its_reason_and_nothing_stops(log: str) -> None:
    mixed = INVALID.read_bytes() + QUICKSTART.read_bytes()
    result = triage("ingest", "--log", log, "-", stdin=mixed)
    bad = len(INVALID.read_text().splitlines())
    assert result.stdout.strip() == f"accepted 20, duplicates 1, conflicts 0, dead-lettered {bad}"
    letters = [
        json.loads(line)
        for line in triage("dump", "--deadletters", "--log", log).stdout.splitlines()
    ]
    assert [d["location"] for d in letters] == [f"line {n}" for n in range(1, bad + 1)]
    assert all(d["error"] and d["source"] == "ingest:stdin" for d in letters)
    assert letters[0]["raw"] == INVALID.read_text().splitlines()[0]
    assert "Expected `int`, got `str` - at `$.minutes`" in letters[10]["error"]
    triage("run", "--until-idle", "--log", log)
    assert triage("dump", "--log", log).stdout == GOLDEN.read_text()
    report = json.loads(triage("report", "--json", "--log", log).stdout)
    assert report["acme-llm"]["tasks"]["created"] == 5


def test_a_refused_event_is_kept_with_its_rejection(log: str) -> None:
    triage("ingest", "--log", log, str(QUICKSTART))
    triage("run", "--until-idle", "--log", log)
    dump = triage("dump", "--log", log).stdout.splitlines()
    rejected = [json.loads(line) for line in dump if '"event.rejected"' in line]
    assert [r["event"] for r in rejected] == ["x-4"]
    position = next(i for i, line in enumerate(dump) if '"id":"x-4"' in line)
    assert json.loads(dump[position + 1])["type"] == "event.rejected"


def test_report_for_people_and_programs(log: str) -> None:
    triage("ingest", "--log", log, str(QUICKSTART))
    triage("run", "--until-idle", "--log", log)
    text = triage("report", "--log", log).stdout
    assert "acme-llm" in text and "Quality" in text
    data = json.loads(triage("report", "--json", "--log", log).stdout)
    ws = data["acme-llm"]
    for path in [
        "tasks.created",
        "tasks.assigned",
        "tasks.completed",
        "tasks.cancelled",
        "tasks.queued",
        "handling.aht_seconds",
        "quality.mean_score",
        "quality.pass_rate",
        "staffing.experts",
        "staffing.available",
    ]:
        node = ws
        for key in path.split("."):
            node = node[key]
        assert node is not None, path
    assert ws["tasks"]["completed"] == 3 and ws["staffing"]["experts"] == 4


def test_errors_are_one_clear_line(tmp_path: Path) -> None:
    missing = triage(
        "ingest", "--log", str(tmp_path / "x.db"), str(tmp_path / "nope.jsonl"), check=False
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "nope.jsonl" in missing.stderr
    nowhere = triage(
        "ingest", "--log", str(tmp_path / "no" / "dir" / "x.db"), str(QUICKSTART), check=False
    )
    assert nowhere.returncode == 1 and "Traceback" not in nowhere.stderr
    assert nowhere.stderr.startswith("triage: error: cannot open the log")
    no_log = triage("dump", "--log", str(tmp_path / "absent.db"), check=False)
    assert no_log.returncode == 1 and "no log at" in no_log.stderr
    policy = tmp_path / "policy.toml"
    policy.write_text('quality = "high"\n')
    bad = triage(
        "run", "--until-idle", "--policy", str(policy), "--log", str(tmp_path / "x.db"), check=False
    )
    assert bad.returncode == 1 and "cannot use the policy" in bad.stderr


def test_schema_is_the_published_one() -> None:
    printed = json.loads(triage("schema").stdout)
    assert printed == json.loads((ROOT / "docs" / "schema" / "events.v1.json").read_text())


def test_policy_file_changes_decisions_and_is_recorded(log: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("lease_factor = 10.0\nlease_max_minutes = 10000\n")
    triage("ingest", "--log", log, str(QUICKSTART))
    triage("run", "--until-idle", "--policy", str(policy), "--log", log)
    first = next(
        json.loads(line)
        for line in triage("dump", "--log", log).stdout.splitlines()
        if '"task.assigned"' in line
    )
    assert first["lease_until"] == "2026-11-02T16:35:00Z"  # 45 minutes x 10


def test_demo_runs_small_and_replaces_only_demo_logs(tmp_path: Path) -> None:
    demo_log = str(tmp_path / "demo.db")
    result = triage("demo", "--experts", "30", "--days", "3", "--log", demo_log)
    assert "llm-finetune" in result.stdout and "Replay it" in result.stdout
    assert "Requirement steps (" in result.stdout and "Adaptive overlap (" in result.stdout
    dump = triage("dump", "--log", demo_log).stdout
    assert '"task.assigned"' in dump and '"task.completed"' in dump
    assert '"task.escalated"' in dump and '"agreement":' in dump
    again = triage("demo", "--experts", "30", "--days", "3", "--quiet", "--log", demo_log)
    assert again.returncode == 0
    assert triage("dump", "--log", demo_log).stdout == dump  # same seed, same log
    other = str(tmp_path / "prod.db")
    triage("ingest", "--log", other, str(QUICKSTART))
    refused = triage("demo", "--quiet", "--log", other, check=False)
    assert refused.returncode == 1 and "not a demo" in refused.stderr


def test_demo_v1_only_publishes_no_v1_1_fields(tmp_path: Path) -> None:
    log = str(tmp_path / "v1.db")
    result = triage("demo", "--experts", "30", "--days", "3", "--v1-only", "--log", log)
    assert "Requirement steps" not in result.stdout and "Adaptive overlap" not in result.stdout
    dump = triage("dump", "--log", log).stdout
    assert '"task.completed"' in dump
    for field in ('"steps":', '"quality":', '"experts":[', '"agreement":', '"answer":'):
        assert field not in dump, field
