"""Version 1.1 end to end on the v1.1 quickstart: the engine's decisions and the report."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from events import (
    TaskAssigned,
    TaskCompleted,
    TaskCreated,
    TaskEscalated,
    TaskExtended,
    TaskSubmitted,
    decode_input,
    encode,
)
from projections import Projections, render_text, report_json
from projections._fold import DEFAULT_QUALITY_PRIOR, DEFAULT_QUALITY_PRIOR_REVIEWS
from router import DEFAULT_POLICY, Engine

ROOT = Path(__file__).parent.parent.parent
QUICKSTART = ROOT / "examples" / "quickstart-v1.1.jsonl"


def run(lines: list[str]) -> tuple[list[list[object]], Projections]:
    engine = Engine()
    folded = Projections()
    outputs = []
    for line in lines:
        event = decode_input(line)
        folded.apply(event)
        out = engine.apply(event)
        for o in out:
            folded.apply(o)
        outputs.append(out)
    return outputs, folded  # type: ignore[return-value]


def quickstart() -> tuple[list[list[object]], Projections]:
    return run(QUICKSTART.read_text().splitlines())


def test_the_projections_judge_records_with_the_router_default_prior() -> None:
    assert DEFAULT_POLICY.quality_prior == DEFAULT_QUALITY_PRIOR
    assert DEFAULT_POLICY.quality_prior_reviews == DEFAULT_QUALITY_PRIOR_REVIEWS


def test_a_task_the_event_completes_is_not_escalated_at_that_moment() -> None:
    at = "2026-11-03T09:00:00Z"
    later = "2026-11-03T09:20:00Z"
    common = '"at":"' + at + '","workspace":"w"'
    lines = [
        '{"type":"expert.profile","id":"p",' + common + ',"expert":"ana","domains":{"stem":3},'
        '"languages":{"en":"C2"},"education":"master","weekly_hours":20}',
        '{"type":"expert.status","id":"s",' + common + ',"expert":"ana","status":"available"}',
        '{"type":"task.created","id":"c",' + common + ',"task":"t","kind":"rate",'
        '"domain":"stem","language":"en","minutes":5,"steps":[{"after_minutes":10,"skill":2}]}',
        '{"type":"task.submitted","id":"x","at":"' + later + '","workspace":"w","task":"t",'
        '"expert":"ana","seconds":60}',
    ]
    outputs, _ = run(lines)
    assert [type(o) for o in outputs[-1]] == [TaskCompleted]


def test_a_late_task_reaches_its_due_steps_in_its_own_moment() -> None:
    lines = [
        '{"type":"clock.tick","id":"k","at":"2026-11-03T10:00:00Z","workspace":"w"}',
        '{"type":"task.created","id":"c","at":"2026-11-03T09:00:00Z","workspace":"w","task":"t",'
        '"kind":"rate","domain":"stem","language":"en","minutes":5,"skill":5,'
        '"steps":[{"after_minutes":10,"skill":4},{"after_minutes":20,"skill":3},'
        '{"after_minutes":90,"skill":2}]}',
    ]
    outputs, _ = run(lines)
    escalated = [o for o in outputs[-1] if isinstance(o, TaskEscalated)]
    assert [o.step for o in escalated] == [1, 2]
    assert escalated[-1].requirements.skill == 3
    assert all(o.at == decode_input(lines[1]).at for o in escalated)


def test_the_quickstart_shows_every_v1_1_decision() -> None:
    outputs, _ = quickstart()
    flat = [o for out in outputs for o in out]
    extended = [o for o in flat if isinstance(o, TaskExtended)]
    assert [(o.task, o.judgements, o.agreement) for o in extended] == [("rate-001", 3, 0.5)]
    gated = [o for o in flat if isinstance(o, TaskAssigned) and o.record is not None]
    assert [(o.expert, o.record) for o in gated] == [("bo", 0.8), ("ana", 0.8125)]
    assert any("named: one of 1" in r for r in gated[0].reasons)
    assert all(
        o.record is None
        for o in flat
        if isinstance(o, TaskAssigned) and o.task not in ("edit-001",)
    )
    stepped = [o for o in flat if isinstance(o, TaskAssigned) and o.task == "fact-001"]
    assert "step 2 in force (after 16 minutes)" in stepped[0].reasons


def test_the_report_has_steps_overlap_and_gates() -> None:
    _, folded = quickstart()
    ws = folded.report().workspaces["acme-llm"]
    assert ws.steps.tasks == 3
    assert ws.steps.escalations == 5
    by_step = {row.step: row for row in ws.steps.by_step}
    assert by_step[0].reached == 3 and by_step[0].time_to_reach.count == 0
    assert by_step[1].reached == 3 and by_step[2].reached == 2
    assert by_step[2].served == 1  # fact-001, first assigned at its step 2
    assert by_step[1].served == 0 and by_step[0].served == 1  # edit-001 went to bo as created
    assert ws.overlap.tasks == 2 and ws.overlap.completed == 2
    assert ws.overlap.extensions == 1 and ws.overlap.without_agreement == 1
    assert ws.overlap.by_kind["rate"].mean_share == round((1 / 3 + 1.0) / 2, 3)
    assert ws.gates.gated == 1  # audit-001: nobody has a record of 0.85
    assert ws.gates.no_qualified == 1 and ws.gates.by_domain["stem"].no_available == 1
    text = render_text(folded.report())
    assert "Requirement steps (3 tasks with steps, 5 escalations)" in text
    assert "1 completed without agreement" in text
    assert "Quality gates: 1 gated tasks queued" in text
    body = json.loads(report_json(folded.report()))
    assert body["acme-llm"]["overlap"]["extensions"] == 1


def test_v1_workspaces_show_no_v1_1_sections() -> None:
    lines = (ROOT / "examples" / "quickstart.jsonl").read_text().splitlines()
    _, folded = run(lines)
    text = render_text(folded.report())
    for title in ("Requirement steps", "Adaptive overlap", "Quality gates"):
        assert title not in text
    ws = folded.report().workspaces["acme-llm"]
    assert msgspec.to_builtins(ws.steps) == {"tasks": 0, "escalations": 0, "by_step": []}


def test_answers_and_new_fields_keep_v1_events_byte_for_byte() -> None:
    created = TaskCreated(
        "c",
        decode_input(
            '{"type":"clock.tick","id":"k","at":"2026-11-03T09:00:00Z","workspace":"w"}'
        ).at,
        "w",
        task="t",
        kind="rate",
        domain="stem",
        language="en",
        minutes=5,
    )
    assert b"steps" not in encode(created) and b"quality" not in encode(created)
    submitted = TaskSubmitted(created.id, created.at, "w", task="t", expert="ana", seconds=1)
    assert b"answer" not in encode(submitted)
