"""What the fold keeps per workspace: small mutable records, no derived totals.

The fold keeps only what a later event or the report needs. Counts that
follow from a task's state (created, completed, queued, by kind...) are
derived by the report from the task records, so the hot path updates one
record, not a dozen counters. Names (kinds, domains, languages) are
interned per workspace so a million tasks share a handful of strings.
"""

from __future__ import annotations

from array import array
from typing import Final, TypeVar

import msgspec

from events import Status

from ._model import LowQuality
from ._stats import new_samples

__all__ = [
    "CANCELLED",
    "COMPLETED",
    "OPEN",
    "REQUEUE_REASONS",
    "Expert",
    "Tally",
    "Task",
    "WeekTally",
    "Workspace",
    "samples_of",
    "tally_of",
]

#: Task lifecycle: OPEN until completed or cancelled.
OPEN: Final = 0
COMPLETED: Final = 1
CANCELLED: Final = 2

REQUEUE_REASONS: Final = ("cancelled", "declined", "expert_removed", "expired")

_K = TypeVar("_K")


class Task(msgspec.Struct, gc=False):
    """A task as the fold knows it."""

    kind: str
    domain: str
    language: str  # normalized as the router does, so pools match
    minutes: int
    judgements: int
    created: int  # microseconds
    state: int = OPEN
    assignments: int = 0
    submitted: int = 0
    unroutable: bool = False
    open: dict[str, int] | None = None  # assignee -> ISO week index of the assignment
    refs: dict[str, str] | None = None  # submitter -> ref of their submission, if any
    # --- v1.1 ---------------------------------------------------------------
    steps: int = 0  # how many requirement steps it has
    step: int = 0  # the latest step reached
    served_at: int = -1  # the step in force at its first assignment
    gate: float | None = None  # the quality gate in force
    allowed: frozenset[str] | None = None  # the allow-list in force
    agreement: float | None = None
    max_judgements: int = 0
    answers: list[str | None] | None = None  # with ``agreement``: one per submission
    extensions: int = 0
    share: float | None = None  # the share that agreed, at completion

    def waiting(self) -> bool:
        """Does the task wait for a first or a further assignment?"""
        return (
            self.state == OPEN
            and self.submitted + (len(self.open) if self.open else 0) < self.judgements
        )


class Expert(msgspec.Struct, gc=False):
    """An expert's profile, presence and rule-2 account of the week."""

    domains: tuple[str, ...]
    languages: tuple[str, ...]  # declared tags, normalized
    education: str
    weekly_hours: float
    status: Status = "offline"
    removed: bool = False
    week: int = 0  # the ISO week index ``used`` belongs to
    used: int = 0  # minutes assigned in ``week``, net of requeues
    open: int = 0


class Tally(msgspec.Struct, gc=False):
    """Running review totals of one grouping."""

    reviews: int = 0
    total: float = 0.0
    passed: int = 0


class WeekTally(msgspec.Struct, gc=False):
    """Reviews of one ISO week and their error categories."""

    instant: int  # the first review's ``at``, to name the week
    reviews: int = 0
    failed: int = 0
    errors: dict[str, int] = msgspec.field(default_factory=dict)


def samples_of(groups: dict[_K, array[int]], key: _K) -> array[int]:
    """The samples of one grouping, created on first use."""
    samples = groups.get(key)
    if samples is None:
        samples = groups[key] = new_samples()
    return samples


def tally_of(groups: dict[_K, Tally], key: _K) -> Tally:
    """The review tally of one grouping, created on first use."""
    tally = groups.get(key)
    if tally is None:
        tally = groups[key] = Tally()
    return tally


class Workspace:
    """The fold's state of one workspace."""

    __slots__ = (
        "assigned",
        "clock",
        "dead_letters",
        "escalations",
        "experts",
        "given_back",
        "handling",
        "handling_by_domain",
        "handling_by_expert",
        "handling_by_kind",
        "handling_by_language",
        "languages",
        "low_quality",
        "quality",
        "quality_by_domain",
        "quality_by_expert",
        "quality_by_kind",
        "quality_by_language",
        "records",
        "rejected",
        "rejected_by_reason",
        "requeued",
        "step_assignments",
        "step_times",
        "strings",
        "tasks",
        "unroutable_events",
        "waits",
        "week",
        "weeks",
    )

    def __init__(self) -> None:
        self.clock = -(2**62)  # microseconds; the latest ``at`` seen
        self.week = 0  # ISO week index of ``clock``
        self.experts: dict[str, Expert] = {}
        self.tasks: dict[str, Task] = {}
        self.strings: dict[str, str] = {}
        self.languages: dict[str, str] = {}  # tag as written -> normalized, interned
        self.assigned = 0
        self.unroutable_events = 0
        self.requeued = dict.fromkeys(REQUEUE_REASONS, 0)
        self.given_back = dict.fromkeys(REQUEUE_REASONS, 0)  # minutes
        self.waits = new_samples()  # microseconds to first assignment
        self.handling = new_samples()  # seconds
        self.handling_by_kind: dict[str, array[int]] = {}
        self.handling_by_domain: dict[str, array[int]] = {}
        self.handling_by_language: dict[str, array[int]] = {}
        self.handling_by_expert: dict[str, array[int]] = {}
        self.quality = Tally()
        self.quality_by_kind: dict[str, Tally] = {}
        self.quality_by_domain: dict[str, Tally] = {}
        self.quality_by_language: dict[str, Tally] = {}
        self.quality_by_expert: dict[str, Tally] = {}
        self.weeks: dict[int, WeekTally] = {}
        self.low_quality: list[LowQuality] = []
        self.rejected = 0
        self.rejected_by_reason: dict[str, int] = {}
        self.dead_letters = 0
        # v1.1
        self.records: dict[tuple[str, str], Tally] = {}  # (expert, domain) -> reviews
        self.escalations = 0
        self.step_times: dict[int, array[int]] = {}  # step -> µs from creation to reaching it
        self.step_assignments: dict[int, int] = {}  # step in force -> assignments made

    def seen(self) -> bool:
        """Has the workspace seen an event (and so has a clock)?"""
        return self.clock > -(2**62)

    def intern(self, name: str) -> str:
        """One shared string per distinct kind, domain or language."""
        return self.strings.setdefault(name, name)
