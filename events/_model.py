"""Every event of the wire contract (docs/events.md) as a frozen msgspec Struct.

The Structs are the single source of the contract in code: the codec decodes
into them, the router and the projections fold over them, and the published
JSON Schema is generated from them. Evolve them the msgspec way: new fields
get defaults; nothing is renamed, retyped or re-tagged.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final, Literal, TypeAlias, get_args

import msgspec
from msgspec import UNSET, Meta, UnsetType

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
    "Requirements",
    "Status",
    "TaskAssigned",
    "TaskCancelled",
    "TaskCompleted",
    "TaskCreated",
    "TaskDeclined",
    "TaskEscalated",
    "TaskExtended",
    "TaskRequeued",
    "TaskReviewed",
    "TaskStep",
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
_LANGUAGE_PATTERN: Final = r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"
_LANGUAGE_DESCRIPTION: Final = (
    "BCP 47 language tag, e.g. pt-BR; at most 35 characters (RFC 5646, 4.4.1)"
)
LanguageTag = Annotated[
    str, Meta(pattern=_LANGUAGE_PATTERN, max_length=35, description=_LANGUAGE_DESCRIPTION)
]
#: A task's language: the same bound and schema, but the pattern is checked by
#: ``TaskCreated.__post_init__`` against the tags already seen first (see
#: ``_check_language``): msgspec runs the regex on every task otherwise, which
#: was a third of the cost of decoding one.
TaskLanguage = Annotated[
    str,
    Meta(
        max_length=35,
        description=_LANGUAGE_DESCRIPTION,
        extra_json_schema={"pattern": _LANGUAGE_PATTERN},
    ),
]
Kind = Name
#: A quality record or a gate on it: the shrunk mean of review scores, 0-1.
QualityLevel = Annotated[float, Meta(ge=0, le=1, description="a quality record, 0-1")]
#: An adaptive-overlap answer: a label or a rating, never task content.
Answer = Annotated[str, Meta(min_length=1, max_length=64, description="1-64 characters")]
#: A step's wait: at most a year, so that a due instant stays far inside datetime's range.
StepMinutes = Annotated[
    int, Meta(ge=1, le=525_600, description="minutes after the task's own `at`: 1-525,600")
]
Judgements = Annotated[int, Meta(ge=1, le=100, description="distinct experts: 1-100")]
ExpertList = Annotated[tuple[Name, ...], Meta(max_length=1000)]

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


_LANGUAGE: Final = re.compile(_LANGUAGE_PATTERN)
#: What msgspec says of a tag its pattern refuses, word for word.
_LANGUAGE_REFUSED: Final = f"Expected `str` matching regex {_LANGUAGE_PATTERN!r} - at `$.language`"
#: Tags that matched: a workspace writes a handful, so the regex runs once for each.
#: A cache of a pure check (bounded, so that odd tags cannot grow it without end).
_TAGS_MATCHED: Final[set[str]] = set()
_TAGS_KEPT: Final = 4096


def _check_language(tag: str) -> None:
    """Refuse a tag as msgspec's pattern would (``search``, as msgspec runs it)."""
    if _LANGUAGE.search(tag) is None:
        raise ValueError(_LANGUAGE_REFUSED)
    if len(_TAGS_MATCHED) < _TAGS_KEPT:
        _TAGS_MATCHED.add(tag)


class _Input(Event, frozen=True):
    """What every input event checks beyond its fields' own bounds: ``at``'s year.

    msgspec turns the ``ValueError`` into a ``ValidationError``, so the
    decoder refuses the event with the reason; it names the field.
    """

    def __post_init__(self) -> None:
        # The bounds inline: this runs for every input decoded.
        if not FIRST_YEAR <= self.at.year <= LAST_YEAR:
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


class TaskStep(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A later stage of a task's requirements, in force from ``after_minutes`` on.

    A field left out keeps its value from before; ``quality: null`` lifts
    the gate and ``experts: []`` lifts the allow-list. ``UNSET`` tells a
    field left out from one set to ``null``; no other field may be null.
    """

    after_minutes: StepMinutes
    skill: DomainLevel | UnsetType = UNSET
    fluency: Cefr | UnsetType = UNSET
    education: Education | UnsetType = UNSET
    quality: QualityLevel | UnsetType | None = UNSET
    experts: ExpertList | UnsetType = UNSET


class TaskCreated(_Input, tag="task.created", frozen=True, kw_only=True, omit_defaults=True):
    """A unit of work to route, with its requirements."""

    task: Name
    kind: Kind
    domain: DomainName
    language: TaskLanguage
    minutes: Annotated[
        int, Meta(ge=1, le=10_080, description="estimated handling time: 1-10,080 (a week)")
    ]
    education: Education = "none"
    skill: DomainLevel = 1
    fluency: Cefr = "C1"
    priority: Annotated[int, Meta(ge=0, le=100, description="higher first")] = 0
    judgements: Judgements = 1
    exclude: ExpertList = ()
    parent: Name | None = None
    due: Timestamp | None = None
    ref: Text | None = None
    # --- v1.1 -------------------------------------------------------------
    quality: QualityLevel | None = None
    experts: ExpertList | None = ()
    steps: Annotated[tuple[TaskStep, ...], Meta(max_length=20)] | None = ()
    max_judgements: Judgements | None = None
    agreement: Annotated[float, Meta(ge=0, le=1)] | None = None

    def __post_init__(self) -> None:
        # The language first: msgspec checked its pattern before anything here.
        if self.language not in _TAGS_MATCHED:
            _check_language(self.language)
        if not FIRST_YEAR <= self.at.year <= LAST_YEAR:
            _check_year("at", self.at)
        if self.due is not None:
            _check_year("due", self.due)
        # ``null`` means the same as leaving the field out: one canonical form.
        if self.experts is None:
            msgspec.structs.force_setattr(self, "experts", ())
        if self.steps is None:
            msgspec.structs.force_setattr(self, "steps", ())
        if self.max_judgements is not None and self.max_judgements < self.judgements:
            raise ValueError(
                f"`max_judgements` ({self.max_judgements}) must not be below "
                f"`judgements` ({self.judgements})"
            )
        if not self.steps:
            return
        previous = 0
        for n, step in enumerate(self.steps, 1):
            if step.after_minutes <= previous:
                raise ValueError(
                    f"`after_minutes` of step {n} ({step.after_minutes}) must be greater "
                    f"than that of the step before ({previous})"
                )
            previous = step.after_minutes


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
    answer: Answer | None = None  # v1.1: adaptive overlap


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


class TaskAssigned(Event, tag="task.assigned", frozen=True, kw_only=True, omit_defaults=True):
    """The engine's decision: this expert takes this task, and why."""

    cause: Id
    task: Name
    expert: Name
    attempt: Annotated[int, Meta(ge=1)]
    lease_until: LeaseUntil
    score: Annotated[float, Meta(description="the policy's score, finite, rounded to 4 decimals")]
    reasons: tuple[str, ...]
    #: v1.1: the assignee's quality record in the task's domain, present exactly
    #: when a gate is in force. The only field with a default, so that
    #: ``omit_defaults`` leaves every v1 assignment byte for byte as it was.
    record: Annotated[float, Meta(description="the assignee's quality record")] | None = None


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


class Requirements(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A task's requirements in force, every key written out (``task.escalated``)."""

    skill: DomainLevel
    fluency: Cefr
    education: Education
    quality: QualityLevel | None
    experts: tuple[Name, ...]


class TaskEscalated(Event, tag="task.escalated", frozen=True, kw_only=True):
    """v1.1: a task reached one of its steps; these are its requirements now."""

    cause: Id
    task: Name
    step: Annotated[int, Meta(ge=1, description="1 for the first step")]
    requirements: Requirements
    reason: str


class TaskExtended(Event, tag="task.extended", frozen=True, kw_only=True):
    """v1.1: the answers disagree, so the task asks one more expert."""

    cause: Id
    task: Name
    judgements: Annotated[int, Meta(ge=2, description="the new number of judgements")]
    agreement: Annotated[float, Meta(ge=0, le=1, description="the share that agreed")]
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
    TaskAssigned
    | TaskRequeued
    | TaskCompleted
    | TaskUnroutable
    | EventRejected
    | TaskEscalated
    | TaskExtended
)
AnyEvent: TypeAlias = InputEvent | OutputEvent


def type_name(event: Event | type[Event]) -> str:
    """The contract's ``type`` of an event or event class, e.g. ``task.created``."""
    return str(event.__struct_config__.tag)


#: The ``type`` of every input event and of every output event.
INPUT_TYPES: Final = frozenset(type_name(t) for t in get_args(InputEvent))
OUTPUT_TYPES: Final = frozenset(type_name(t) for t in get_args(OutputEvent))
