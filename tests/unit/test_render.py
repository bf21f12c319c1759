"""The renderings (projections/_render.py): the JSON object and the text for people."""

from __future__ import annotations

import math
from datetime import timedelta

import msgspec

from events import (
    ExpertProfile,
    ExpertStatus,
    InputEvent,
    TaskCreated,
)
from projections import Projections, render_text, report_json
from router import Engine
from tests.journals import T0, WS, Log, full_log, journal


def test_the_json_is_one_object_keyed_by_workspace_with_the_promised_keys() -> None:
    log = full_log()
    other = Log("globex").created(1, "g1")
    folded = log.fold()
    for event in other.events:
        folded.apply(event)
    body = msgspec.json.decode(report_json(folded.report()))
    assert list(body) == [WS, "globex"]
    for path in (
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
    ):
        for workspace in body.values():
            node = workspace
            for key in path.split("."):
                node = node[key]
    assert body[WS]["tasks"]["created"] == 3
    assert body["globex"]["handling"]["aht_seconds"] is None
    assert body[WS]["clock"] == "2026-11-02T09:07:00Z"


def test_the_text_report_names_the_headline_numbers() -> None:
    text = render_text(full_log().fold().report())
    assert text.startswith("== acme · 2026-11-02 09:07 UTC · 2026-W45 ")
    for needle in (
        "3 created, 3 assignments, 1 completed",
        "unroutable now 1",
        "requeued 1 (1 declined)",
        "AHT 10m00s",
        "1 reviews, mean score 0.400",
        "3 experts: 3 available",
        "1 events rejected",
        "unknown task '…'",
        "By kind",
        "Pools by staffing gap",
        "Low quality",
        "2026-W45",
    ):
        assert needle in text, needle


def test_a_month_of_work_renders_in_a_page_or_two() -> None:
    """Hundreds of experts and thousands of tasks still give a short text report."""
    languages = ["en", "de", "fr", "es", "pt-BR", "it", "ja", "zh", "ko", "th"]
    domains = ["stem", "law", "medicine", "general"]
    engine = Engine()
    inputs: list[InputEvent] = []
    for n in range(285):
        inputs.append(
            ExpertProfile(
                f"p{n}",
                T0,
                "big",
                expert=f"expert-{n:03d}",
                domains={domains[n % 4]: 4, domains[(n + 1) % 4]: 2},
                languages={languages[n % 10]: "native", "en": "C1"},
                education="master",
                weekly_hours=float(10 + n % 30),
            )
        )
        inputs.append(
            ExpertStatus(f"s{n}", T0, "big", expert=f"expert-{n:03d}", status="available")
        )
    for n in range(3000):
        when = T0 + timedelta(minutes=10 * n)
        inputs.append(
            TaskCreated(
                f"c{n}",
                when,
                "big",
                task=f"task-{n}",
                kind=["write", "rate", "audit"][n % 3],
                domain=domains[n % 4],
                language=languages[n % 11 % 10],
                minutes=30 + n % 60,
            )
        )
    folded = Projections()
    for event in journal(inputs, engine):
        folded.apply(event)
    text = render_text(folded.report())
    lines = text.splitlines()
    assert 40 < len(lines) < 120
    assert max(map(len, lines)) <= 140
    assert "Pools by staffing gap (queued demand h - weekly capacity h) (10 of" in text
    assert math.isclose(len(folded.report().workspaces["big"].utilization.by_expert), 285)
