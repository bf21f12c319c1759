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
  doctorate-level specialist is kept for the work only they can do;
- agreement (review kinds only, taking ``agreement_share`` of the quality
  weight): how close the expert's own review scores came to the other
  reviews of the same work.

Three policies matter: :data:`BALANCED`, the policy of every log recorded
before the learned one (quality by domain only, no agreement part);
:data:`LEARNED_1`, the first learned one (quality by domain *and* kind,
reviews to reviewers who agree with QA); and :data:`DEFAULT_POLICY`
(``learned-2``), the same parts with the weights chosen over many seeds.
The fields the learned policy added default to what ``BALANCED`` does, so
that a policy recorded in an older log, which lacks them, decodes to
exactly the policy it was; a log records its policies whole, so one
recorded under ``LEARNED_1`` decodes to it whatever the default is now.
"""

from __future__ import annotations

import math
from typing import Annotated, Final

import msgspec
from msgspec import Meta

__all__ = ["BALANCED", "DEFAULT_POLICY", "LEARNED_1", "MAX_LEASE_MINUTES", "Policy", "Score"]

#: The longest lease: a week, the same bound as a task's ``minutes``.
MAX_LEASE_MINUTES: Final = 7 * 24 * 60

Weight = Annotated[float, Meta(ge=0, le=1000, description="0-1000")]
Reviews = Annotated[float, Meta(ge=0, le=1_000_000)]
KindName = Annotated[str, Meta(min_length=1, max_length=128)]


class Policy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Weights of the score and the lease rule; see docs/routing.md.

    Every number is bounded, so that a policy that converts can only give
    finite scores and leases of at most a week (the JSON encoder would write
    a non-finite score as ``null``, which no event of the contract decodes).
    msgspec checks the bounds when a file is converted; ``__post_init__``
    checks, also for a policy built in code, that every number is finite and
    what involves two fields.
    """

    name: Annotated[str, Meta(min_length=1, max_length=128)] = "balanced"
    quality: Weight = 0.4
    load: Weight = 0.25
    idle: Weight = 0.15
    fit: Weight = 0.2
    #: Mean review score assumed for an expert with no reviews in a domain.
    quality_prior: Annotated[float, Meta(ge=0, le=1)] = 0.75
    #: How many reviews the prior is worth.
    quality_prior_reviews: Annotated[float, Meta(ge=0, le=1_000_000)] = 3.0
    #: Idle time at which the idle part reaches 1: up to a year.
    idle_horizon_hours: Annotated[float, Meta(gt=0, le=8_760)] = 24.0
    #: Lease = clamp(minutes x lease_factor, lease_min_minutes, lease_max_minutes).
    lease_factor: Annotated[float, Meta(gt=0, le=1_000)] = 3.0
    lease_min_minutes: Annotated[int, Meta(ge=1, le=MAX_LEASE_MINUTES)] = 30
    lease_max_minutes: Annotated[int, Meta(ge=1, le=MAX_LEASE_MINUTES)] = MAX_LEASE_MINUTES
    # --- the learned policy: each default is what BALANCED does ----------------
    #: Quality per (domain, kind): the kind's mean shrunk towards the domain's record.
    by_kind: bool = False
    #: How many reviews the expert's domain record is worth as the prior of a kind.
    kind_prior_reviews: Reviews = 2.0
    #: On review kinds, the share of the quality weight that goes to agreement; 0: none.
    agreement_share: Annotated[float, Meta(ge=0, le=1)] = 0.0
    #: The task kinds that review or audit others' work.
    review_kinds: Annotated[tuple[KindName, ...], Meta(max_length=64)] = ("review", "audit")
    #: Agreement assumed for a reviewer whose reviews were never compared, and its weight.
    agreement_prior: Annotated[float, Meta(ge=0, le=1)] = 0.8
    agreement_prior_pairs: Reviews = 3.0

    def __post_init__(self) -> None:
        for field in msgspec.structs.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{field.name} must be a finite number, got {value}")
        if self.lease_min_minutes > self.lease_max_minutes:
            raise ValueError(
                f"lease_min_minutes ({self.lease_min_minutes}) must not exceed "
                f"lease_max_minutes ({self.lease_max_minutes})"
            )
        if not self.quality + self.load + self.idle + self.fit > 0:
            raise ValueError(
                "at least one of the weights quality, load, idle and fit must be above 0"
            )

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

    def kind_quality_of(self, domain: float, reviews: int, total: float) -> float:
        """The shrunk mean of ``reviews`` reviews of one kind, towards the ``domain`` record."""
        weight = self.kind_prior_reviews
        if reviews + weight == 0:
            return domain
        return (domain * weight + total) / (weight + reviews)

    def agreement_of(self, pairs: int, total: float) -> float:
        """The shrunk mean closeness of ``pairs`` comparisons summing to ``total``."""
        weight = self.agreement_prior_pairs
        if pairs + weight == 0:
            return self.agreement_prior
        return (self.agreement_prior * weight + total) / (weight + pairs)


class Score(msgspec.Struct, frozen=True, gc=False):
    """One candidate's score and its parts, each in [0, 1]."""

    total: float
    quality: float
    load: float
    idle: float
    fit: float
    agreement: float = 0.0


#: The policy of every log recorded before the learned one: quality by domain only.
BALANCED: Final = Policy()

#: The first learned policy, the default of the logs recorded from 2026-11 until
#: ``learned-2``: as such a log recorded it (name "learned"), it decodes to this.
LEARNED_1: Final = Policy(
    name="learned",
    quality=0.65,
    load=0.15,
    idle=0.1,
    fit=0.1,
    by_kind=True,
    agreement_share=0.5,
)

#: The policy with no policy file: learned quality by domain and kind, agreement on
#: reviews; the weights chosen over training seeds of the harness (docs/routing.md).
DEFAULT_POLICY: Final = Policy(
    name="learned-2",
    quality=0.75,
    load=0.075,
    idle=0.125,
    fit=0.05,
    by_kind=True,
    agreement_share=0.75,
)
