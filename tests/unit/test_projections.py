"""The projections package as a whole: its public surface and its purity."""

from __future__ import annotations

import ast
from pathlib import Path

import projections
from projections import Projections, render_text, report_json

PACKAGE = Path(projections.__file__).parent


def test_public_surface_is_pinned() -> None:
    assert projections.__all__ == [
        "DEFAULT_LOW_SCORE",
        "GLOBAL_KEY",
        "OBJECTIVE_STATUS_CODES",
        "BacklogPoint",
        "Day",
        "ExpertView",
        "KindDay",
        "ObjectiveResult",
        "Objectives",
        "ObjectivesReport",
        "Projections",
        "QueuedTask",
        "Report",
        "Series",
        "TaskRow",
        "Timeline",
        "Views",
        "Window",
        "WorkspaceObjectives",
        "WorkspaceReport",
        "WorkspaceTargets",
        "evaluate_objectives",
        "fold",
        "load_objectives",
        "percentile",
        "render_text",
        "report_json",
    ]


def test_the_core_does_no_io_and_reads_no_clock() -> None:
    forbidden = {"sqlite3", "faust", "aiokafka", "os", "io", "time", "random", "uuid"}
    for module in PACKAGE.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not names & forbidden, f"{module.name} imports {names & forbidden}"
        source = module.read_text()
        assert ".now(" not in source and "utcnow" not in source, module.name


def test_an_empty_fold_reports_nothing() -> None:
    report = Projections().report()
    assert report.workspaces == {}
    assert report_json(report) == b"{}"
    assert "No events." in render_text(report)
