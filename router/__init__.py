"""The routing core: pure, deterministic matching of tasks to experts.

``Engine.apply(event) -> outputs`` is the whole interface; the policy
(``Policy``) sets the weights of the score; ``snapshot`` and ``restore``
save and rebuild an engine's state exactly, so that recovery need fold only
what follows a checkpoint; ``explain`` takes one decision apart (the funnel
of requirements, the candidates' scores, the tie-break) for ``triage why``,
and a ``Witness`` explains each decision of an engine at its moment.
"""

from ._engine import Engine, output_id
from ._explain import (
    RULES,
    Candidate,
    Explanation,
    Stage,
    Standing,
    TaskRequirements,
    Tie,
    explain,
)
from ._policy import BALANCED, DEFAULT_POLICY, LEARNED_1, Policy, Score
from ._scoring import Ranking
from ._snapshot import SnapshotError, restore, snapshot
from ._witness import Witness

__all__ = [
    "BALANCED",
    "DEFAULT_POLICY",
    "LEARNED_1",
    "RULES",
    "Candidate",
    "Engine",
    "Explanation",
    "Policy",
    "Ranking",
    "Score",
    "SnapshotError",
    "Stage",
    "Standing",
    "TaskRequirements",
    "Tie",
    "Witness",
    "explain",
    "output_id",
    "restore",
    "snapshot",
]
