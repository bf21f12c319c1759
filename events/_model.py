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
    "FIRST_YEAR",
    "INPUT_TYPES",
    "LAST_YEAR",
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

#: Every timestamp of an input is written with a year from 2000 to 2099, in its
#: own offset: wide enough for any real workspace clock, and far enough from
#: datetime's limits (years 1 and 9999) that a lease (at most 7 days) or an
#: ISO week can never leave them. JSON Schema has no bound on a date-time, so
#: the schema states the same bound as a pattern on the year.
FIRST_YEAR: Final = 2000
LAST_YEAR: Final = 2099
_YEAR_PATTERN: Final = "^20[0-9]{2}-"

Id = Annotated[str, Meta(min_length=1, max_length=128, description="1-128 characters")]
Timestamp = Annotated[
    datetime,
    Meta(
        tz=True,
        description=(
            "RFC 3339 with an offset, e.g. 2026-11-25T09:30:00Z; "
            f"the year as written is {FIRST_YEAR}-{LAST_YEAR}"
        ),
        extra_json_schema={"pattern": _YEAR_PATTERN},
    ),
]
#: ``lease_until`` is the clock plus a lease: up to 7 days past the last input year.
LeaseUntil = Annotated[
    datetime,
    Meta(
        tz=True,
        description=(
            "RFC 3339 in UTC: the workspace clock plus the lease (at most 7 days), "
            f"so no later than {LAST_YEAR + 1}-01-08"
        ),
    ),
]
#: Task, expert and reviewer ids, domains and kinds: like event ids, 1-128 characters.
Name = Annotated[str, Meta(min_length=1, max_length=128, description="1-128 characters")]
#: Free text of a producer (``reason``) or a pointer into the client's store (``ref``).
Text = Annotated[str, Meta(max_length=2048, description="at most 2,048 characters")]
ErrorCategory = Annotated[
    str, Meta(min_length=1, max_length=64, description="an error category, 1-64 characters")
]
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
        max_length=35,
        description="BCP 47 language tag, e.g. pt-BR; at most 35 characters (RFC 5646, 4.4.1)",
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


def _check_year(field: str, value: datetime) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(
            f"`{field}` must be written with a year from {FIRST_YEAR} to {LAST_YEAR}, "
            f"got {value.isoformat()}"
        )


class _Input(Event, frozen=True):
    """What every input event checks beyond its fields' own bounds: ``at``'s year.

    msgspec turns the ``ValueError`` into a ``ValidationError``, so the
    decoder refuses the event with the reason; it names the field.
    """

    def __post_init__(self) -> None:
        _check_year("at", self.at)


class ExpertProfile(_Input, tag="expert.profile", frozen=True, kw_only=True, omit_defaults=True):
    """Creates or wholly replaces an expert's profile; a new expert starts offline."""

    expert: Name
    domains: Annotated[dict[DomainName, DomainLevel], Meta(min_length=1, max_length=50)]
    languages: Annotated[dict[LanguageTag, Cefr], Meta(min_length=1, max_length=20)]
    education: Education
    weekly_hours: Annotated[
        float, Meta(gt=0, le=168, description="contracted hours per ISO week: > 0, at most 168")
    ]
    concurrency: Annotated[
        int, Meta(ge=1, le=100, description="open assignments at once: 1-100")
    ] = 1


class ExpertStatus(_Input, tag="expert.status", frozen=True, kw_only=True, omit_defaults=True):
    """Presence: only ``available`` experts get new work."""

    expert: Name
    status: Status


class ExpertRemoved(_Input, tag="expert.removed", frozen=True, kw_only=True, omit_defaults=True):
    """Offboarding: the expert's open assignments go back to the queue."""

    expert: Name


class TaskCreated(_Input, tag="task.created", frozen=True, kw_only=True, omit_defaults=True):
    """A unit of work to route, with its requirements."""

    task: Name
    kind: Kind
    domain: DomainName
    language: LanguageTag
    minutes: Annotated[
        int, Meta(ge=1, le=10_080, description="estimated handling time: 1-10,080 (a week)")
    ]
    education: Education = "none"
    skill: DomainLevel = 1
    fluency: Cefr = "C1"
    priority: Annotated[int, Meta(ge=0, le=100, description="higher first")] = 0
    judgements: Annotated[int, Meta(ge=1, le=100, description="distinct experts: 1-100")] = 1
    exclude: Annotated[tuple[Name, ...], Meta(max_length=1000)] = ()
    parent: Name | None = None
    due: Timestamp | None = None
    ref: Text | None = None

    def __post_init__(self) -> None:
        _check_year("at", self.at)
        if self.due is not None:
            _check_year("due", self.due)


class TaskCancelled(_Input, tag="task.cancelled", frozen=True, kw_only=True, omit_defaults=True):
    """The task is withdrawn; open assignments end."""

    task: Name
    reason: Text | None = None


class TaskDeclined(_Input, tag="task.declined", frozen=True, kw_only=True, omit_defaults=True):
    """The assignee hands the task back; it never goes to that expert again."""

    task: Name
    expert: Name
    reason: Text | None = None


class TaskSubmitted(_Input, tag="task.submitted", frozen=True, kw_only=True, omit_defaults=True):
    """One judgement of the task is done."""

    task: Name
    expert: Name
    seconds: Annotated[
        int, Meta(ge=0, le=604_800, description="handling time measured by the tool: 0-604,800")
    ]
    ref: Text | None = None


class TaskReviewed(_Input, tag="task.reviewed", frozen=True, kw_only=True, omit_defaults=True):
    """A review of one expert's submission on a task."""

    task: Name
    expert: Name
    reviewer: Name
    score: Annotated[float, Meta(ge=0, le=1)]
    passed: bool
    errors: Annotated[tuple[ErrorCategory, ...], Meta(max_length=32)] = ()


class ClockTick(_Input, tag="clock.tick", frozen=True, kw_only=True, omit_defaults=True):
    """Moves the workspace clock to ``at``."""


# --- output events ----------------------------------------------------------


class TaskAssigned(Event, tag="task.assigned", frozen=True, kw_only=True):
    """The engine's decision: this expert takes this task, and why."""

    cause: Id
    task: Name
    expert: Name
    attempt: Annotated[int, Meta(ge=1)]
    lease_until: LeaseUntil
    score: Annotated[float, Meta(description="the policy's score, finite, rounded to 4 decimals")]
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
