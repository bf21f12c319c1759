"""The events of the Triage wire contract, their codec, their JSON Schema and semantics.

Besides the Structs and the codec, this package owns what the contract
means by its values, so that the router, the projections and the shell all
read them the same way: time as integer microseconds and ISO weeks
(``to_micros``, ``week_index``), language tags (``normalize``, ``expand``),
an event's ``type`` (``type_name``) and the clock ticks a runtime makes.
"""

from ._clock import clock_ticks
from ._codec import SCHEMA_ID, decode_event, decode_input, decode_output, encode, json_schema
from ._errors import ConfigError, InvalidEvent, LogError, TriageError
from ._language import expand, normalize
from ._model import (
    CEFR_LEVELS,
    EDUCATION_LEVELS,
    INPUT_TYPES,
    OUTPUT_TYPES,
    AnyEvent,
    Cefr,
    ClockTick,
    Education,
    Event,
    EventRejected,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    InputEvent,
    OutputEvent,
    RequeueReason,
    Status,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskDeclined,
    TaskRequeued,
    TaskReviewed,
    TaskSubmitted,
    TaskUnroutable,
    type_name,
)
from ._time import HOUR, MINUTE, from_micros, iso_week, to_micros, week_index

__all__ = [
    "CEFR_LEVELS",
    "EDUCATION_LEVELS",
    "HOUR",
    "INPUT_TYPES",
    "MINUTE",
    "OUTPUT_TYPES",
    "SCHEMA_ID",
    "AnyEvent",
    "Cefr",
    "ClockTick",
    "ConfigError",
    "Education",
    "Event",
    "EventRejected",
    "ExpertProfile",
    "ExpertRemoved",
    "ExpertStatus",
    "InputEvent",
    "InvalidEvent",
    "LogError",
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
    "TriageError",
    "clock_ticks",
    "decode_event",
    "decode_input",
    "decode_output",
    "encode",
    "expand",
    "from_micros",
    "iso_week",
    "json_schema",
    "normalize",
    "to_micros",
    "type_name",
    "week_index",
]
