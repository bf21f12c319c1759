"""The canonical log line per decision: what is taken apart, at which level."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from events import EventRejected, TaskCompleted
from triage import _logging

AT = datetime(2026, 11, 2, 9, tzinfo=UTC)


class Recorder:
    def __init__(self, level: int) -> None:
        self.level = level
        self.lines: list[tuple[str, str]] = []

    def is_enabled_for(self, level: int) -> bool:
        return level >= self.level

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append(("info", event))

    def error(self, event: str, **fields: Any) -> None:
        self.lines.append(("error", event))


OUTPUTS = [
    TaskCompleted("t/done", AT, "w", cause="e1", task="t"),
    EventRejected("e2/rejected", AT, "w", cause="e2", event="e2", reason="not assigned"),
    EventRejected(
        "e3/rejected", AT, "w", cause="e3", event="e3", reason="internal error: KeyError"
    ),
]


@pytest.mark.parametrize(
    ("level", "lines"),
    [
        (
            logging.INFO,
            [
                ("info", "task.completed"),
                ("info", "event.rejected"),
                ("error", "engine.internal_error"),
            ],
        ),
        (logging.WARNING, [("error", "engine.internal_error")]),
    ],
)
def test_below_info_only_the_internal_errors_are_written(
    monkeypatch: pytest.MonkeyPatch, level: int, lines: list[tuple[str, str]]
) -> None:
    recorder = Recorder(level)
    monkeypatch.setattr(_logging, "_log", recorder)
    _logging.log_decisions(OUTPUTS)
    assert recorder.lines == lines
