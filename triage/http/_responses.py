"""The bodies the API sends that are not a projection's own Struct."""

from __future__ import annotations

from typing import Any

import msgspec

from events import AnyEvent
from projections import ExpertView, QueuedTask

from ._live import DeadLetterView

__all__ = [
    "ApiError",
    "DeadLetters",
    "ExpertProfileResponse",
    "Health",
    "Queue",
    "ServiceStatus",
    "TaskHistory",
    "Workspaces",
]


class ApiError(msgspec.Struct, frozen=True, kw_only=True):
    """Why a request failed."""

    error: str


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """Liveness or readiness."""

    status: str
    position: int


class ServiceStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What the server follows and how far it has got."""

    log: str
    ready: bool
    position: int
    workspaces: list[str]
    dead_letters: int
    uptime_seconds: float


class Workspaces(msgspec.Struct, frozen=True, kw_only=True):
    """The workspaces of the journal."""

    workspaces: list[str]


class TaskHistory(msgspec.Struct, frozen=True, kw_only=True):
    """A task's events from the log in order: inputs (a refused one with its rejection), outputs."""

    workspace: str
    task: str
    events: list[AnyEvent]


class ExpertProfileResponse(msgspec.Struct, frozen=True, kw_only=True):
    """An expert's profile, presence and record, with this week's load and the report's tallies."""

    workspace: str
    profile: ExpertView
    load: dict[str, Any] | None
    handling: dict[str, Any] | None
    quality: dict[str, Any] | None


class Queue(msgspec.Struct, frozen=True, kw_only=True):
    """The waiting tasks of a workspace in queue order (``limit`` of ``total``)."""

    workspace: str
    total: int
    tasks: list[QueuedTask]


class DeadLetters(msgspec.Struct, frozen=True, kw_only=True):
    """Records that never became events (the raw bytes are never served); ``retried`` of them
    have had a corrected event submitted, the others are open."""

    total: int
    dead_letters: list[DeadLetterView]
    retried: int = 0
