"""History an older Triage accepted but this one would refuse: refused on reading, never a wedge."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from triage._logged import decode_logged
from triage.embedded import Journal

ROOT = Path(__file__).parent.parent.parent
TRIAGE = str(Path(sys.executable).parent / "triage")
QUICKSTART = ROOT / "examples" / "quickstart.jsonl"
FAR = b'{"type":"clock.tick","id":"far","at":"9999-12-31T23:59:59Z","workspace":"acme-llm"}'


def triage(*args: str) -> str:
    return subprocess.run(
        [TRIAGE, "--log-level", "warning", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout


def test_a_logged_input_that_no_longer_decodes_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    log = tmp_path / "old.db"
    triage("ingest", "--log", str(log), str(QUICKSTART))
    reference = tmp_path / "new.db"
    triage("ingest", "--log", str(reference), str(QUICKSTART))
    triage("run", "--until-idle", "--log", str(reference))
    with sqlite3.connect(log) as db:  # as an older version would have accepted it
        db.execute(
            "INSERT INTO inputs (workspace, id, type, body) VALUES (?, ?, ?, ?)",
            ("acme-llm", "far", "clock.tick", FAR),
        )
    triage("run", "--until-idle", "--log", str(log))
    dump = triage("dump", "--log", str(log)).splitlines()
    far = dump.index(FAR.decode())
    assert '"type":"event.rejected"' in dump[far + 1]
    assert "no longer a valid event" in dump[far + 1]
    without = dump[:far] + dump[far + 2 :]
    assert without == triage("dump", "--log", str(reference)).splitlines()
    again = triage("run", "--until-idle", "--log", str(log))  # recovery reads it again
    assert again.startswith("recovered 21, processed 0")
    assert "acme-llm" in triage("report", "--json", "--log", str(log))
    with Journal(log, create=False) as journal:
        assert journal.counts()["inputs"] == 21


def test_decode_logged_names_what_it_can_of_an_unreadable_body() -> None:
    refused = decode_logged(b"not json")
    assert not hasattr(refused, "task")
    assert (refused.cause, refused.workspace) == ("?", "?")
    assert refused.reason.startswith("no longer a valid event: malformed JSON")


def test_a_logged_body_nested_past_any_limit_is_refused_too() -> None:
    refused = decode_logged(b'{"type":"clock.tick","x":' + b"[" * 100_000)
    assert refused.reason.startswith("no longer a valid event:")
