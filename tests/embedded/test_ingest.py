"""Nothing is lost without a trace: dead letters kept once, conflicts, unknown fields, dates."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.embedded.cli import INVALID, QUICKSTART, triage
from triage.embedded import DeadLetter, Journal, ingest_lines
from triage.embedded._schema import SCHEMA_VERSION

BOM = b"\xef\xbb\xbf"


def tick(key: int, variant: int) -> bytes:
    return (
        f'{{"type":"clock.tick","id":"k{key}","at":"2026-11-0{variant + 1}T00:00:00Z",'
        f'"workspace":"w"}}'
    ).encode()


line = st.one_of(
    st.tuples(st.integers(0, 6), st.integers(0, 2)).map(lambda kv: tick(*kv)),
    st.integers(0, 3).map(lambda n: b'{"type":"nope","id":"b%d"}' % n),
    st.integers(0, 3).map(lambda n: b"not json %d" % n),
    st.just(b""),
)


def contents(path: Path) -> tuple[list[bytes], list[tuple[str, str, str, bytes]]]:
    with Journal(path, readonly=True) as journal:
        inputs = [entry.input for entry in journal.entries()]
        letters = [(d.source, d.location, d.error, d.raw) for d in journal.dead_letters()]
    return inputs, letters


@settings(max_examples=40)
@given(lines=st.lists(line, max_size=40), cut=st.integers(0, 40), batch=st.integers(1, 8))
def test_ingesting_again_after_a_crash_is_as_if_once(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], cut: int, batch: int
) -> None:
    """A crash leaves a prefix of the input in the log; the documented recovery is to
    ingest the file again: the log then holds what one ingest would have written."""
    folder = tmp_path_factory.mktemp("again")
    with Journal(folder / "once.db", check=False) as journal:
        once = ingest_lines(journal, lines, "ingest:f", batch=batch)
    with Journal(folder / "twice.db", check=False) as journal:
        ingest_lines(journal, lines[:cut], "ingest:f", batch=batch)
        again = ingest_lines(journal, lines, "ingest:f", batch=batch)
    assert contents(folder / "once.db") == contents(folder / "twice.db")
    first: dict[str, bytes] = {}  # event id -> the first body sent
    conflicts = 0
    for raw in lines:
        if raw.startswith(b'{"type":"clock.tick"'):
            conflicts += first.setdefault(json.loads(raw)["id"], raw) != raw
    before = {json.loads(raw)["id"] for raw in lines[:cut] if raw.startswith(b'{"type":"clock')}
    assert once.conflicts == again.conflicts == conflicts
    assert (once.accepted, again.accepted) == (len(first), len(first) - len(before))
    _, letters = contents(folder / "once.db")
    assert sum(error.startswith("conflict: ") for _, _, error, _ in letters) == conflicts


def test_a_conflict_is_counted_and_visible(tmp_path: Path) -> None:
    log = tmp_path / "triage.db"
    triage("ingest", "--log", log, QUICKSTART)
    changed = QUICKSTART.read_text().splitlines()[10].replace('"seconds":2460', '"seconds":60')
    result = triage("ingest", "--log", log, "-", stdin=changed.encode() + b"\n")
    assert result.stdout == b"accepted 0, duplicates 0, conflicts 1, dead-lettered 0\n"
    (letter,) = [
        json.loads(x) for x in triage("dump", "--deadletters", "--log", log).stdout.splitlines()
    ]
    assert letter == {
        "source": "ingest:stdin",
        "location": "line 1",
        "error": "conflict: event x-1 of acme-llm is already in the log with a different body",
        "raw": changed,
    }
    report = json.loads(triage("report", "--json", "--log", log).stdout)
    assert report[""]["dead_letters"] == {
        "total": 1,
        "by_source": {"ingest:stdin": 1},
        "retried": 0,
    }


def test_report_json_counts_the_dead_letters_the_text_counts(tmp_path: Path) -> None:
    log = tmp_path / "triage.db"
    triage("ingest", "--log", log, INVALID)
    triage("ingest", "--log", log, INVALID)  # again: kept once
    bad = len(INVALID.read_bytes().splitlines())
    assert f"Dead letters: {bad} " in triage("report", "--log", log).stdout.decode()
    report = json.loads(triage("report", "--json", "--log", log).stdout)
    assert report[""]["dead_letters"]["total"] == bad


def test_unknown_fields_are_ignored_and_named(tmp_path: Path) -> None:
    profile = json.loads(QUICKSTART.read_text().splitlines()[0])
    lines = []
    for n in range(4):
        extra = {"educaton": "master"} if n < 3 else {"foo": 1, "education": "master"}
        lines.append(json.dumps({**profile, "id": f"p-{n}", **extra}))
    result = triage("ingest", "--log", tmp_path / "t.db", "-", stdin="\n".join(lines).encode())
    assert result.stdout == b"accepted 4, duplicates 0, conflicts 0, dead-lettered 0\n"
    assert result.stderr == b"unknown fields ignored: educaton (3 lines), foo (1 line)\n"
    known = triage("ingest", "--log", tmp_path / "t.db", QUICKSTART)
    assert known.stderr == b""


def test_a_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    with Journal(tmp_path / "bom.db") as journal:
        result = ingest_lines(
            journal, [BOM + QUICKSTART.read_bytes().splitlines()[0]], "ingest:bom"
        )
        assert result.accepted == 1 and result.dead_lettered == 0
        later = ingest_lines(journal, [b"\n", BOM + b"{}"], "ingest:later")
        assert later.dead_lettered == 1  # only at the very start of the input


FUTURE = b'{"type":"clock.tick","id":"far","at":"2062-12-03T00:00:00Z","workspace":"w"}\n'


def test_an_event_too_far_ahead_of_the_wall_clock_is_dead_lettered(tmp_path: Path) -> None:
    log = tmp_path / "t.db"
    result = triage("ingest", "--log", log, "-", stdin=FUTURE)
    assert result.stdout == b"accepted 0, duplicates 0, conflicts 0, dead-lettered 1\n"
    (letter,) = [
        json.loads(x) for x in triage("dump", "--deadletters", "--log", log).stdout.splitlines()
    ]
    assert letter["error"].startswith("at 2062-12-03T00:00:00Z is 36y ")
    assert letter["error"].endswith(
        " ahead of the wall clock (more than 1d); raise --max-ahead-seconds to allow it"
    )
    allowed = triage("ingest", "--max-ahead-seconds", "0", "--log", log, "-", stdin=FUTURE)
    assert allowed.stdout.startswith(b"accepted 1,")
    env = {**os.environ, "TRIAGE_MAX_AHEAD_SECONDS": "0"}
    again = triage("ingest", "--log", tmp_path / "u.db", "-", stdin=FUTURE, env=env)
    assert again.stdout.startswith(b"accepted 1,")


V1_SCHEMA = """
CREATE TABLE inputs (pos INTEGER PRIMARY KEY, workspace TEXT NOT NULL, id TEXT NOT NULL,
    type TEXT NOT NULL, body BLOB NOT NULL, UNIQUE (workspace, id));
CREATE TABLE outputs (pos INTEGER PRIMARY KEY, input INTEGER NOT NULL, type TEXT NOT NULL,
    body BLOB NOT NULL);
CREATE INDEX outputs_by_input ON outputs (input);
CREATE TABLE deadletters (pos INTEGER PRIMARY KEY, source TEXT NOT NULL,
    location TEXT NOT NULL, error TEXT NOT NULL, raw BLOB NOT NULL);
CREATE TABLE policies (pos INTEGER PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '1');
"""


def test_a_log_of_schema_1_is_read_as_it_is_and_upgraded_by_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(V1_SCHEMA)
    row = ("ingest:a.jsonl", "line 1", "malformed JSON", b"x")
    old.executemany(
        "INSERT INTO deadletters (source, location, error, raw) VALUES (?, ?, ?, ?)",
        [row, row, ("ingest:a.jsonl", "line 2", "malformed JSON", b"x")],
    )
    old.commit()
    old.close()
    before = path.read_bytes()
    with Journal(path, readonly=True) as reader:
        assert len(list(reader.dead_letters())) == 3
    assert path.read_bytes() == before
    with Journal(path) as writer:
        assert [d.location for d in writer.dead_letters()] == ["line 1", "line 2"]
        again = DeadLetter(source=row[0], location=row[1], error=row[2], raw=row[3])
        assert writer.dead_letter([again]) == 0
    upgraded = sqlite3.connect(path)
    assert upgraded.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    upgraded.close()
