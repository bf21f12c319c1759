"""`triage why` through the real command, on the quickstart's log and on the demo's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli.test_cli import QUICKSTART, triage
from tests.cli.test_ops import demo, quickstart

__all__ = ["demo", "quickstart"]  # the fixtures, shared with test_ops


def why(*args: str) -> Any:
    return json.loads(triage("why", *args, "--json").stdout)


def test_an_assignment_is_explained_with_its_funnel_and_candidates(quickstart: str) -> None:
    text = triage("why", "write-001", "--log", quickstart).stdout
    assert "task write-001 in workspace acme-llm: completed" in text
    assert "every output as recorded" in text
    assert "decision 1: assigned to ana" in text
    assert "policy 'learned-2': quality 0.75, load 0.075, idle 0.125, fit 0.05" in text
    for label in ("domain level", "language", "weekly hours", "already tried", "quality gate"):
        assert f"    {label} " in text
    body = why("write-001", "--log", quickstart)
    ((decision),) = body["decisions"]
    assert decision["outcome"] == "assigned" and decision["expert"] == decision["recorded"] == "ana"
    explanation = decision["explanation"]
    assert explanation["eligible"] == 2 and explanation["winner"] == "ana"  # bo has stem 5 too
    assert [c["expert"] for c in explanation["top"]] == ["ana", "bo"]
    domain = explanation["funnel"][0]
    assert domain == {
        "rule": "domain",
        "requirement": "stem >= 3",
        "removed": 1,
        "left": 2,
        "experts": ["chen"],
    }
    assert [e["type"] for e in body["history"]] == [
        "task.created",
        "task.assigned",
        "task.submitted",
        "task.completed",
        "task.reviewed",
    ]
    assert body["history"][0]["event"]["ref"] == "s3://acme/prompts/001.json"


def test_a_non_assignment_names_the_rule_that_removed_the_expert(quickstart: str) -> None:
    text = triage("why", "review-001", "--log", quickstart, "--expert", "ana").stdout
    assert "ana: removed by concurrency: 1 of 1 slots taken (and by parent)" in text
    assert "bo got it" in text and "ana never got it" in text
    body = why("fact-002", "--log", quickstart, "--expert", "ana")
    outcomes = [(d["outcome"], d["expert"]) for d in body["decisions"]]
    assert outcomes == [
        ("waiting", None),  # ana busy with write-001 when it arrived
        ("assigned", "ana"),
        ("waiting", None),  # declined
        ("waiting", None),  # chen's submission refused
        ("assigned", "dara"),
        ("waiting", None),  # dara's lease ran out, the end of the history
    ]
    rules = [d["explanation"]["standing"]["rule"] for d in body["decisions"]]
    assert rules == ["concurrency", None, "tried", "tried", "tried", "tried"]
    queued = why("audit-004", "--log", quickstart)
    assert queued["state"] == "open" and queued["decisions"][-1]["outcome"] == "end"
    assert queued["decisions"][-1]["explanation"]["funnel"][1]["removed"] == 2  # nobody has th


def test_an_unknown_task_or_workspace_is_a_clear_error(quickstart: str) -> None:
    missing = triage("why", "nope", "--log", quickstart, check=False)
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip() == "triage: error: no task 'nope' in the history"
    elsewhere = triage("why", "write-001", "--workspace", "x", "--log", quickstart, check=False)
    assert elsewhere.returncode == 1 and "in workspace 'x'" in elsewhere.stderr
    nolog = triage("why", "write-001", "--log", quickstart + ".none", check=False)
    assert nolog.returncode == 1 and "no log" in nolog.stderr


def test_a_task_id_in_two_workspaces_needs_its_workspace(tmp_path: Any) -> None:
    log = str(tmp_path / "two.db")
    other = QUICKSTART.read_text().replace('"acme-llm"', '"beta"').replace('"id":"', '"id":"b')
    triage("ingest", "--log", log, "-", stdin=(QUICKSTART.read_text() + other).encode())
    triage("run", "--until-idle", "--log", log)
    both = triage("why", "write-001", "--log", log, check=False)
    assert both.returncode == 1 and "acme-llm, beta: say which with --workspace" in both.stderr
    assert why("write-001", "--log", log, "--workspace", "beta")["workspace"] == "beta"


@pytest.mark.slow
def test_on_the_demo_every_decision_of_a_declined_task_is_explained(demo: str) -> None:
    declined = [
        json.loads(line)
        for line in triage("dump", "--log", demo).stdout.splitlines()
        if '"type":"task.declined"' in line
    ]
    task, first = declined[0]["task"], declined[0]["expert"]
    body = why(task, "--log", demo, "--expert", first)
    assigned = [d for d in body["decisions"] if d["outcome"] == "assigned"]
    recorded = [e["event"]["expert"] for e in body["history"] if e["type"] == "task.assigned"]
    assert [d["expert"] for d in assigned] == [d["recorded"] for d in assigned] == recorded
    assert assigned[0]["expert"] == first and len(assigned) >= 2
    decisions = body["decisions"]
    got = decisions.index(assigned[0])
    before = [d["explanation"]["standing"]["rule"] for d in decisions[:got]]
    assert all(rule is not None for rule in before)  # it waited: they could not take it
    later = [d["explanation"]["standing"]["rule"] for d in decisions[got + 1 :]]
    assert later and all(rule is not None for rule in later)  # declined: never again
    assert body["diverged"] is None and body["replayed"] < 71_000
    text = triage("why", task, "--log", demo, "--expert", first).stdout
    assert f"{first} got it at decision {got + 1}" in text
    other = why(task, "--log", demo)["decisions"][-1]["explanation"]
    assert other["winner"] == recorded[-1] and other["standing"] is None
