"""Projections: pure, deterministic folds of the journal into the metrics ops need.

Feed every event of the journal in order (each input, then the outputs the
engine wrote for it) to :meth:`Projections.apply`, count dead letters with
:meth:`Projections.dead_letter`, and read :meth:`Projections.report`, or
let :func:`fold` do all three over a stored journal. The report is a
tree of msgspec Structs, rendered for people by :func:`render_text` and
for programs by :func:`report_json`. Nothing here reads a clock, a file or
a broker: time comes only from the events' ``at``.

The JSON is one object keyed by workspace. Dead letters, which mostly
cannot be tied to a workspace, are in ``Report.dead_letters``, in the text,
and in the JSON only on request (``report_json(report, with_global=True)``
adds them under :data:`GLOBAL_KEY`, ``""``, which no workspace id can be).

Beside the report, three more folds of the same journal: :class:`Views`
(a task's history, an expert's profile and record, the queue in order),
:class:`Series` (the backlog per hour, the flow of work per day, windows
of days) and :func:`evaluate_objectives`, which compares a workspace's
:class:`Objectives` with the report and the series.
"""

from ._fold import DEFAULT_LOW_SCORE, Projections, fold
from ._model import Report, WorkspaceReport
from ._objectives import (
    OBJECTIVE_STATUS_CODES,
    ObjectiveResult,
    Objectives,
    ObjectivesReport,
    WorkspaceObjectives,
    WorkspaceTargets,
    evaluate_objectives,
    load_objectives,
)
from ._render import GLOBAL_KEY, render_text, report_json
from ._series import BacklogPoint, Day, KindDay, Series, Timeline, Window, percentile
from ._views import ExpertView, QueuedTask, TaskRow, Views

__all__ = [
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
