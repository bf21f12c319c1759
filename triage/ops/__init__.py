"""Operations on a recorded journal, whatever backend it comes from: replay and what-if.

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
  :class:`EvaluationSettings`, the issue's targets :func:`policy_targets`);
- :func:`render_replay`, :func:`render_whatif`: the text people read.

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
from ._replay import Divergence, ReplayResult, replay
from ._whatif import (
    ASSUMPTIONS,
    Calibration,
    Candidate,
    History,
    WhatIf,
    load_history,
    what_if,
)

__all__ = [
    "ASSUMPTIONS",
    "BASELINES",
    "POLICIES",
    "Calibration",
    "Candidate",
    "Divergence",
    "Estimate",
    "EvaluationSettings",
    "History",
    "PolicyFigures",
    "Recorded",
    "ReplayResult",
    "Target",
    "WhatIf",
    "at_of",
    "baseline_engine",
    "evaluate",
    "gini",
    "load_history",
    "longest_idle",
    "parse_moment",
    "policy_targets",
    "render_replay",
    "render_whatif",
    "replay",
    "run_policy",
    "until_moment",
    "what_if",
]
