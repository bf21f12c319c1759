"""The routing policy: which eligible expert gets a task, and for how long.

A policy never decides *whether* a task is served (the contract's rule 4
does); it only ranks the experts who could take it now. The score is a
weighted sum of four parts, each in [0, 1], and every part is named in the
decision's ``reasons`` so that a person can check it:

- quality: the expert's review record in the task's domain, a mean score
  shrunk towards a prior so that one lucky review does not outrank fifty;
- load: the share of this week's contracted minutes still free;
- idle: how long since the expert last got work, saturating at a horizon;
- fit: how little the expert exceeds the task's requirements, so that a
  doctorate-level specialist is kept for the work only they can do.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta

__all__ = ["DEFAULT_POLICY", "Policy", "Score"]

Weight = Annotated[float, Meta(ge=0)]


class Policy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Weights of the score and the lease rule; see docs/routing.md."""

    name: str = "balanced"
    quality: Weight = 0.4
    load: Weight = 0.25
    idle: Weight = 0.15
    fit: Weight = 0.2
    #: Mean review score assumed for an expert with no reviews in a domain.
    quality_prior: Annotated[float, Meta(ge=0, le=1)] = 0.75
    #: How many reviews the prior is worth.
    quality_prior_reviews: Annotated[float, Meta(ge=0)] = 3.0
    #: Idle time at which the idle part reaches 1.
    idle_horizon_hours: Annotated[float, Meta(gt=0)] = 24.0
    #: Lease = clamp(minutes x lease_factor, lease_min_minutes, lease_max_minutes).
    lease_factor: Annotated[float, Meta(gt=0)] = 3.0
    lease_min_minutes: Annotated[int, Meta(ge=1)] = 30
    lease_max_minutes: Annotated[int, Meta(ge=1)] = 7 * 24 * 60

    def lease_minutes(self, task_minutes: int) -> int:
        """Length of the lease on a task of the given estimated minutes."""
        lease = round(task_minutes * self.lease_factor)
        return min(max(lease, self.lease_min_minutes), self.lease_max_minutes)

    def quality_of(self, reviews: int, total: float) -> float:
        """The shrunk mean review score of ``reviews`` reviews summing to ``total``."""
        weight = self.quality_prior_reviews
        if reviews + weight == 0:
            return self.quality_prior
        return (self.quality_prior * weight + total) / (weight + reviews)


class Score(msgspec.Struct, frozen=True, gc=False):
    """One candidate's score and its parts, each in [0, 1]."""

    total: float
    quality: float
    load: float
    idle: float
    fit: float


DEFAULT_POLICY: Final = Policy()
