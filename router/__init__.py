"""The routing core: pure, deterministic matching of tasks to experts."""

from ._engine import Engine, output_id
from ._policy import DEFAULT_POLICY, Policy, Score

__all__ = [
    "DEFAULT_POLICY",
    "Engine",
    "Policy",
    "Score",
    "output_id",
]
