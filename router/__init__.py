"""The routing core: pure, deterministic matching of tasks to experts."""

from ._engine import Engine, output_id
from ._language import expand, normalize
from ._policy import DEFAULT_POLICY, Policy, Score
from ._time import from_micros, iso_week, to_micros, week_index

__all__ = [
    "DEFAULT_POLICY",
    "Engine",
    "Policy",
    "Score",
    "expand",
    "from_micros",
    "iso_week",
    "normalize",
    "output_id",
    "to_micros",
    "week_index",
]
