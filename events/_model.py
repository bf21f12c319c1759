"""Every event of the wire contract (docs/events.md) as a frozen msgspec Struct.

The Structs are the single source of the contract in code: the codec decodes
into them, the router and the projections fold over them, and the published
JSON Schema is generated from them. Evolve them the msgspec way: new fields
get defaults; nothing is renamed, retyped or re-tagged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal, TypeAlias, get_args

import msgspec
from msgspec import Meta

__all__ = [
    "CEFR_LEVELS",
    "EDUCATION_LEVELS",
    "INPUT_TYPES",
    "OUTPUT_TYPES",
    "AnyEvent",
    "Cefr",
    "ClockTick",
    "Education",
    "Event",
    "EventRejected",
    "ExpertProfile",
    "ExpertRemoved",
    "ExpertStatus",
    "InputEvent",
    "OutputEvent",
    "RequeueReason",
    "Status",
    "TaskAssigned",
    "TaskCancelled",
    "TaskCompleted",
    "TaskCreated",
    "TaskDeclined",
    "TaskRequeued",
    "TaskReviewed",
    "TaskSubmitted",
    "TaskUnroutable",
    "type_name",
]

Id = Annotated[str, Meta(min_length=1, max_length=128, description="1-128 characters")]
Timestamp = Annotated[
    datetime, Meta(tz=True, description="RFC 3339 with an offset, e.g. 2026-11-25T09:30:00Z")
]
Name = str  # task, expert and reviewer ids, domains, kinds: any string, as the contract says
Text = str
Education = Literal["none", "secondary", "bachelor", "master", "doctorate"]
Cefr = Literal["A1", "A2", "B1", "B2", "C1", "C2", "native"]
Status = Literal["available", "away", "offline"]
RequeueReason = Literal["expired", "declined", "expert_removed", "cancelled"]
DomainName = Name
DomainLevel = Annotated[int, Meta(ge=1, le=5, description="1 (basic) to 5 (leading expert)")]
LanguageTag = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$",
        description="BCP 47 language tag, e.g. pt-BR",
    ),
]
Kind = Name

#: The ordered scales of the contract, as ranks for comparison.
EDUCATION_LEVELS: Final[dict[str, int]] = {
    "none": 0,
    "secondary": 1,
    "bachelor": 2,
    "master": 3,
    "doctorate": 4,
}
CEFR_LEVELS: Final[dict[str, int]] = {
    "A1": 0,
    "A2": 1,
    "B1": 2,
    "B2": 3,
    "C1": 4,
    "C2": 5,
    "native": 6,
}


class Event(msgspec.Struct, frozen=True, tag_field="type", gc=False):
    """The four fields every event has.

    Only these three are positional, so that they lead every encoded event
    (``type``, ``id``, ``at``, ``workspace``, then the rest); each concrete
    event's own fields are keyword-only.
    """

    id: Id
    at: Timestamp
    workspace: Id


# --- input events -----------------------------------------------------------


class ExpertProfile(Event, tag="expert.profile", frozen=True, kw_only=True, omit_defaults=True):
    """Creates or wholly replaces an expert's profile; a new expert starts offline."""

    expert: Name
    domains: Annotated[dict[DomainName, DomainLevel], Meta(min_length=1)]
    languages: Annotated[dict[LanguageTag, Cefr], Meta(min_length=1)]
    education: Education
    weekly_hours: Annotated[float, Meta(gt=0)]
    concurrency: Annotated[int, Meta(ge=1)] = 1


class ExpertStatus(Event, tag="expert.status", frozen=True, kw_only=True, omit_defaults=True):
    """Presence: only ``available`` experts get new work."""

    expert: Name
    status: Status


class ExpertRemoved(Event, tag="expert.removed", frozen=True, kw_only=True, omit_defaults=True):
    """Offboarding: the expert's open assignments go back to the queue."""

    expert: Name


class TaskCreated(Event, tag="task.created", frozen=True, kw_only=True, omit_defaults=True):
    """A unit of work to route, with its requirements."""

    task: Name
    kind: Kind
    domain: DomainName
    language: LanguageTag
    minutes: Annotated[int, Meta(gt=0, description="estimated handling time")]
    education: Education = "none"
    skill: DomainLevel = 1
    fluency: Cefr = "C1"
    priority: Annotated[int, Meta(ge=0, le=100, description="higher first")] = 0
    judgements: Annotated[int, Meta(ge=1)] = 1
    exclude: tuple[Name, ...] = ()
    parent: Name | None = None
    due: Timestamp | None = None
    ref: Text | None = None


class TaskCancelled(Event, tag="task.cancelled", frozen=True, kw_only=True, omit_defaults=True):
    """The task is withdrawn; open assignments end."""

    task: Name
    reason: Text | None = None


class TaskDeclined(Event, tag="task.declined", frozen=True, kw_only=True, omit_defaults=True):
    """The assignee hands the task back; it never goes to that expert again."""

    task: Name
    expert: Name
    reason: Text | None = None


class TaskSubmitted(Event, tag="task.submitted", frozen=True, kw_only=True, omit_defaults=True):
    """One judgement of the task is done."""

    task: Name
    expert: Name
    seconds: Annotated[int, Meta(ge=0, description="handling time measured by the tool")]
    ref: Text | None = None


class TaskReviewed(Event, tag="task.reviewed", frozen=True, kw_only=True, omit_defaults=True):
    """A review of one expert's submission on a task."""

    task: Name
    expert: Name
    reviewer: Name
    score: Annotated[float, Meta(ge=0, le=1)]
    passed: bool
    errors: tuple[str, ...] = ()


class ClockTick(Event, tag="clock.tick", frozen=True, kw_only=True, omit_defaults=True):
    """Moves the workspace clock to ``at``."""


# --- output events ----------------------------------------------------------


class TaskAssigned(Event, tag="task.assigned", frozen=True, kw_only=True):
    """The engine's decision: this expert takes this task, and why."""

    cause: Id
    task: Name
    expert: Name
    attempt: Annotated[int, Meta(ge=1)]
    lease_until: Timestamp
    score: float
    reasons: tuple[str, ...]


class TaskRequeued(Event, tag="task.requeued", frozen=True, kw_only=True):
    """An assignment ended without a submission."""

    cause: Id
    task: Name
    expert: Name
    reason: RequeueReason


class TaskCompleted(Event, tag="task.completed", frozen=True, kw_only=True):
    """All judgements of the task are submitted."""

    cause: Id
    task: Name


class TaskUnroutable(Event, tag="task.unroutable", frozen=True, kw_only=True):
    """No expert in the workspace meets the task's requirements at all."""

    cause: Id
    task: Name
    reason: str


class EventRejected(Event, tag="event.rejected", frozen=True, kw_only=True):
    """A valid input event that the engine refuses in the state it finds."""

    cause: Id
    event: Id
    reason: str


InputEvent: TypeAlias = (
    ExpertProfile
    | ExpertStatus
    | ExpertRemoved
    | TaskCreated
    | TaskCancelled
    | TaskDeclined
    | TaskSubmitted
    | TaskReviewed
    | ClockTick
)
OutputEvent: TypeAlias = (
    TaskAssigned | TaskRequeued | TaskCompleted | TaskUnroutable | EventRejected
)
AnyEvent: TypeAlias = InputEvent | OutputEvent


def type_name(event: Event | type[Event]) -> str:
    """The contract's ``type`` of an event or event class, e.g. ``task.created``."""
    return str(event.__struct_config__.tag)


#: The ``type`` of every input event and of every output event.
INPUT_TYPES: Final = frozenset(type_name(t) for t in get_args(InputEvent))
OUTPUT_TYPES: Final = frozenset(type_name(t) for t in get_args(OutputEvent))
