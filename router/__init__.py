"""The routing core: pure, deterministic matching of tasks to experts.

``Engine.apply(event) -> outputs`` is the whole interface; the policy
(``Policy``) sets the weights of the score; ``snapshot`` and ``restore``
save and rebuild an engine's state exactly, so that recovery need fold only
what follows a checkpoint.
"""

from ._engine import Engine, output_id
from ._policy import BALANCED, DEFAULT_POLICY, Policy, Score
from ._scoring import Ranking
from ._snapshot import SnapshotError, restore, snapshot

__all__ = [
    "BALANCED",
    "DEFAULT_POLICY",
    "Engine",
    "Policy",
    "Ranking",
    "Score",
    "SnapshotError",
    "output_id",
    "restore",
    "snapshot",
]
