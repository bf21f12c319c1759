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
"""

from ._fold import DEFAULT_LOW_SCORE, Projections, fold
from ._model import Report, WorkspaceReport
from ._render import GLOBAL_KEY, render_text, report_json

__all__ = [
    "DEFAULT_LOW_SCORE",
    "GLOBAL_KEY",
    "Projections",
    "Report",
    "WorkspaceReport",
    "fold",
    "render_text",
    "report_json",
]
