"""Operations on a recorded journal, whatever backend it comes from: replay, what-if, why.

- :func:`replay`: the recorded inputs through a fresh engine, every recorded
  decision checked byte for byte (:class:`ReplayResult`, :class:`Divergence`);
- :func:`parse_moment`, :func:`until_moment`: a moment of the history and
  the journal cut at it (``replay --until``, ``report --at``);
- :func:`load_history`, :func:`what_if`: another policy on the recorded
  history, the work re-synthesized from each expert's own record
  (:class:`WhatIf`, :class:`Estimate`, :class:`Calibration`), against the
  built-in :data:`BASELINES` (:func:`baseline_engine`);
- :func:`evaluate`: the policy harness, every policy closed loop in the
  demo's world with hidden quality (:class:`PolicyFigures`, its knobs
  :class:`EvaluationSettings`, the issue's targets :func:`policy_targets`),
  and over many seeds :func:`summarize` (:class:`SeedSummary`, the runs
  each seed needs :data:`SEED_POLICIES`, seeds from words :func:`parse_seeds`);
- :func:`find_task`, :func:`why`: one task's history and each routing
  decision about it recomputed and taken apart (:class:`Why`, ``triage why``);
- :func:`render_replay`, :func:`render_whatif`, :func:`render_why`: the text
  people read.

It works on iterables of :data:`Recorded` entries (position, input,
outputs), so the command line feeds it from the embedded journal or from
Kafka alike; it does no I/O of its own.
"""

from ._baselines import BASELINES, baseline_engine, longest_idle
from ._evaluation import POLICIES, Target, evaluate, run_policy
from ._evaluation import Figures as PolicyFigures
from ._evaluation import Settings as EvaluationSettings
from ._evaluation import targets as policy_targets
from ._moment import Recorded, at_of, parse_moment, until_moment
from ._outcome import Estimate, gini
from ._render import render_replay, render_whatif
from ._render_why import render_why
from ._replay import Divergence, ReplayResult, replay
from ._seeds import SEED_POLICIES, Interval, SeedFigures, SeedSummary, parse_seeds, summarize
from ._whatif import (
    ASSUMPTIONS,
    Calibration,
    Candidate,
    History,
    WhatIf,
    load_history,
    what_if,
)
from ._why import Decision, HistoryEntry, Question, Trail, Why, find_task, why

__all__ = [
    "ASSUMPTIONS",
    "BASELINES",
    "POLICIES",
    "SEED_POLICIES",
    "Calibration",
    "Candidate",
    "Decision",
    "Divergence",
    "Estimate",
    "EvaluationSettings",
    "History",
    "HistoryEntry",
    "Interval",
    "PolicyFigures",
    "Question",
    "Recorded",
    "ReplayResult",
    "SeedFigures",
    "SeedSummary",
    "Target",
    "Trail",
    "WhatIf",
    "Why",
    "at_of",
    "baseline_engine",
    "evaluate",
    "find_task",
    "gini",
    "load_history",
    "longest_idle",
    "parse_moment",
    "parse_seeds",
    "policy_targets",
    "render_replay",
    "render_whatif",
    "render_why",
    "replay",
    "run_policy",
    "summarize",
    "until_moment",
    "what_if",
    "why",
]
