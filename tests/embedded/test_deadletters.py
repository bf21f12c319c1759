"""``triage deadletters`` on real SQLite files, through the real ``triage`` command."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.embedded.cli import INVALID, triage
from tests.embedded.test_ingest import V1_SCHEMA
from triage.embedded._schema import SCHEMA_VERSION

PROFILE = (
    b'{"type":"expert.profile","id":"p-ana","at":"2026-11-25T09:00:00Z","workspace":"fix",'
    b'"expert":"ana","domains":{"stem":4},"languages":{"en":"C1"},"education":"master",'
    b'"weekly_hours":20}'
)
STATUS = (
    b'{"type":"expert.status","id":"s-ana","at":"2026-11-25T09:01:00Z","workspace":"fix",'
    b'"expert":"ana","status":"%s"}'
)
TASK = (
    b'{"type":"task.created","id":"t-1","at":"2026-11-25T09:02:00Z","workspace":"fix",'
    b'"task":"t1","kind":"write","domain":"stem","language":"en","minutes":30,"priority":%d}'
)
#: A profile, then two bad lines (an unknown status, a priority out of range), and bytes
#: that are not UTF-8 and text that would drive a terminal.
BAD = b"\n".join([PROFILE, STATUS % b"busy", TASK % 101, b"\xff\xfe not utf-8", b"\x1b[2Jcleared"])


def letters(log: Path, *args: str) -> list[dict[str, Any]]:
    found = triage("deadletters", "list", "--json", "--log", log, *args).stdout
    return [json.loads(line) for line in found.splitlines()]


def correction(letter: str, event: bytes) -> bytes:
    return b'{"dead_letter": "%s", "event": %s}\n' % (letter.encode(), event)


def test_dead_letters_of_the_demo_log_are_listed_shown_and_retried(tmp_path: Path) -> None:
    log = tmp_path / "demo.db"
    triage("demo", "--experts", "30", "--days", "2", "--quiet", "--log", log)
    triage("ingest", "--log", log, INVALID)
    (bad := tmp_path / "bad.jsonl").write_bytes(BAD + b"\n")
    triage("ingest", "--log", log, bad)
    invalid = sum(1 for line in INVALID.read_bytes().splitlines() if line.strip())
    listed = letters(log)
    assert len(listed) == invalid + 4
    assert {letter["status"] for letter in listed} == {"open"}
    assert [letter["id"] for letter in listed] == [str(n) for n in range(1, invalid + 5)]
    status, task, binary, escape = listed[invalid:]
    assert (status["source"], status["location"]) == (f"ingest:{bad}", "line 2")
    assert "busy" in status["error"] or "status" in status["error"]
    assert all(letter["received"].endswith("Z") for letter in listed)

    # For people: a table and a count; control characters never reach the terminal.
    text = triage("deadletters", "--log", log).stdout.decode()
    assert text.splitlines()[0].split() == ["ID", "RECEIVED", "STATUS", "FROM", "REASON"]
    assert text.rstrip().endswith(f"{invalid + 4} dead letters: {invalid + 4} open, 0 retried")
    assert "\x1b" not in text
    shown = triage("deadletters", "show", escape["id"], "--log", log).stdout.decode()
    assert "\x1b" not in shown and "\\x1b[2Jcleared" in shown
    assert "control characters escaped" in shown
    shown = triage("deadletters", "show", binary["id"], "--log", log).stdout.decode()
    assert "not UTF-8:" in shown and "00000000  ff fe 20 6e 6f 74" in shown
    raw = json.loads(triage("deadletters", "show", binary["id"], "--json", "--log", log).stdout)
    assert raw["raw"] is None and raw["raw_base64"] == "//4gbm90IHV0Zi04"
    raw = json.loads(triage("deadletters", "show", task["id"], "--json", "--log", log).stdout)
    assert raw["raw"].encode() == TASK % 101 and raw["status"] == "open"
    missing = triage("deadletters", "show", "999", "--log", log, check=False)
    assert missing.returncode == 1 and b"no dead letter 999 in the log" in missing.stderr

    # Filters: by reason, by receive time, by status.
    assert [x["id"] for x in letters(log, "--reason", "<= 100 - AT `$.PRIORITY`")] == [
        x["id"] for x in listed if "<= 100 - at `$.priority`" in x["error"]
    ]
    assert letters(log, "--since", "2099-01-01T00:00:00Z") == []
    assert len(letters(log, "--until", "2099-01-01T00:00:00+01:00")) == invalid + 4
    assert letters(log, "--status", "retried") == []

    # Retry: both corrections go in as `triage ingest` would take them, and are routed.
    fixes = tmp_path / "fixes.jsonl"
    fixes.write_bytes(
        correction(status["id"], STATUS % b"available") + correction(task["id"], TASK % 100)
    )
    inputs = _inputs(log)
    done = triage("deadletters", "retry", "--file", fixes, "--log", log).stdout.decode()
    assert f"{status['id']}: retried by event s-ana of fix, accepted" in done
    assert done.splitlines()[-1].startswith("retried 2 dead letters at ")
    assert _inputs(log) == inputs + 2
    triage("run", "--until-idle", "--log", log)
    assigned = [
        json.loads(line)
        for line in triage("dump", "--log", log).stdout.splitlines()
        if b'"task.assigned"' in line and b'"fix"' in line
    ]
    assert [(a["task"], a["expert"], a["cause"]) for a in assigned] == [("t1", "ana", "t-1")]
    retried = letters(log, "--status", "retried")
    assert [(x["id"], x["retries"][0]["event"]) for x in retried] == [
        (status["id"], "s-ana"),
        (task["id"], "t-1"),
    ]
    assert len(letters(log, "--status", "open")) == invalid + 2
    report = json.loads(triage("report", "--json", "--log", log).stdout)
    assert report[""]["dead_letters"]["retried"] == 2
    assert f"; {invalid + 2} open, 2 retried" in triage("report", "--log", log).stdout.decode()

    # Again: refused, unless --again, which adds a mark and keeps the first.
    refused = triage("deadletters", "retry", "--file", fixes, "--log", log, check=False)
    assert refused.returncode == 1
    lines = refused.stderr.decode().splitlines()
    assert lines[0].startswith(f"triage: line 1 (dead letter {status['id']}): already retried ")
    assert lines[-1] == "triage: error: nothing was retried: 2 problems in the retry file"
    again = triage("deadletters", "retry", "--again", "--json", "--file", fixes, "--log", log)
    assert [x["outcome"] for x in json.loads(again.stdout)["retried"]] == ["duplicate"] * 2
    assert _inputs(log) == inputs + 2  # deduplicated by id, as any input
    (twice, _) = letters(log, "--status", "retried")
    assert [r["event"] for r in twice["retries"]] == ["s-ana", "s-ana"]
    shown = triage("deadletters", "show", twice["id"], "--log", log).stdout.decode()
    assert "retry 1" in shown and "retry 2" in shown


def test_an_invalid_correction_is_refused_and_nothing_is_marked(tmp_path: Path) -> None:
    log = tmp_path / "t.db"
    triage("ingest", "--log", log, "-", stdin=BAD)
    status, task = letters(log)[:2]
    fixes = tmp_path / "fixes.jsonl"
    fixes.write_bytes(
        correction(status["id"], STATUS % b"available")
        + correction(task["id"], TASK % 1000)
        + correction("77", STATUS % b"away")
        + b"\n"
    )
    refused = triage("deadletters", "retry", "--file", fixes, "--log", log, check=False)
    assert refused.returncode == 1
    assert refused.stderr.decode().splitlines() == [
        f"triage: line 2 (dead letter {task['id']}): the corrected event is invalid: "
        "Expected `int` <= 100 - at `$.priority`",
        "triage: line 3 (dead letter 77): no such dead letter",
        "triage: line 3 (dead letter 77): event s-ana of fix is on line 1 already, with a "
        "different body; give the corrected event a new id",
        "triage: error: nothing was retried: 3 problems in the retry file",
    ]
    assert {x["status"] for x in letters(log)} == {"open"}
    assert _inputs(log) == 1

    # A corrected event whose id the log holds with another body is a conflict: refused.
    clash = PROFILE.replace(b'"stem":4', b'"stem":5')
    fixes.write_bytes(correction(status["id"], clash))
    refused = triage("deadletters", "retry", "--file", fixes, "--log", log, check=False)
    assert b"event p-ana of fix is already in the log with a different body" in refused.stderr
    fixes.write_bytes(b'{"dead_letter": "1"}\n')
    refused = triage("deadletters", "retry", "--file", fixes, "--log", log, check=False)
    assert b"line 1: not a correction" in refused.stderr
    # Dated too far ahead of the wall clock: refused as `triage ingest` refuses it.
    future = (STATUS % b"away").replace(b"2026-11-25", b"2062-11-25")
    fixes.write_bytes(correction(status["id"], future))
    refused = triage("deadletters", "retry", "--file", fixes, "--log", log, check=False)
    assert b"the corrected event is refused: at 2062-11-25T09:01:00Z is " in refused.stderr
    assert {x["status"] for x in letters(log)} == {"open"}


V3_UPGRADES = """
CREATE UNIQUE INDEX deadletters_once ON deadletters (source, location, raw);
CREATE TABLE snapshots (pos INTEGER PRIMARY KEY, body BLOB NOT NULL);
UPDATE meta SET value = '3' WHERE key = 'schema';
"""


def test_a_log_of_schema_3_is_listed_as_it_is_and_upgraded_by_a_retry(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    old = sqlite3.connect(path)
    old.executescript(V1_SCHEMA + V3_UPGRADES)
    old.execute(
        "INSERT INTO deadletters (source, location, error, raw) VALUES (?, ?, ?, ?)",
        ("ingest:old.jsonl", "line 4", "unknown status 'busy'", STATUS % b"busy"),
    )
    old.commit()
    old.close()
    before = path.read_bytes()
    (letter,) = letters(path)
    assert (letter["id"], letter["received"], letter["status"]) == ("1", None, "open")
    assert "unknown (kept before the log had receive times)" in (
        triage("deadletters", "show", "1", "--log", path).stdout.decode()
    )
    assert letters(path, "--since", "2000-01-01T00:00:00Z") == []
    options_first = triage("deadletters", "--log", path, "show", "1").stdout.decode()
    assert options_first.startswith("dead letter 1\n")
    assert path.read_bytes() == before  # readers never upgrade

    fixes = tmp_path / "fixes.jsonl"
    fixes.write_bytes(correction("1", STATUS % b"away"))
    triage("deadletters", "retry", "--file", fixes, "--log", path)
    upgraded = sqlite3.connect(path)
    assert upgraded.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    assert upgraded.execute("SELECT received FROM deadletters").fetchall() == [(None,)]
    assert upgraded.execute("SELECT deadletter, workspace, event FROM retries").fetchall() == [
        (1, "fix", "s-ana")
    ]
    upgraded.close()
    (letter,) = letters(path)
    assert letter["status"] == "retried" and letter["received"] is None


def _inputs(log: Path) -> int:
    with sqlite3.connect(log) as db:
        return int(db.execute("SELECT count(*) FROM inputs").fetchone()[0])
