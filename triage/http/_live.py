"""The live state an API serves: the journal folded so far, by every projection.

:class:`LiveLog` is fed journal entries in order by a follower (the
embedded log's poller, or anything else that reads a journal) and read by
the HTTP handlers on another thread, so every read and every fold holds
one lock. The report is rebuilt at most once per journal position: reads
between two new entries share it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

import msgspec

from events import decode_event
from projections import (
    ExpertView,
    Objectives,
    ObjectivesReport,
    Projections,
    QueuedTask,
    Report,
    Series,
    Timeline,
    Views,
    evaluate_objectives,
)

__all__ = ["DeadLetterView", "LiveLog"]

_T = TypeVar("_T")


class DeadLetterView(msgspec.Struct, frozen=True, kw_only=True):
    """A record that never became an event: where it came from and why, never its bytes.

    ``id`` is the one ``triage deadletters`` shows; ``status`` is ``retried``
    once a corrected event was submitted for it (the latest: ``retried_by``,
    at ``retried_at``, wall clock), else ``open``.
    """

    source: str
    location: str
    error: str
    id: str = ""
    received: datetime | None = None
    status: Literal["open", "retried"] = "open"
    retried_by: str | None = None
    retried_at: datetime | None = None


class LiveLog:
    """Every projection of one journal, folded as entries arrive; safe across threads."""

    def __init__(self, objectives: Objectives | None = None) -> None:
        self.objectives = objectives
        self._lock = threading.RLock()
        self._projections = Projections()
        self._views = Views()
        self._series = Series()
        self._letters: list[DeadLetterView] = []
        self._letter_at: dict[str, int] = {}  # index of a letter in _letters, by id
        self._marks: dict[str, tuple[str, datetime]] = {}  # retries met before their letter
        self._position = 0
        self._ready = False
        self._report: tuple[int, Report] | None = None
        self._objectives: tuple[int, ObjectivesReport] | None = None

    # --- feeding ----------------------------------------------------------------

    def apply(self, position: int, raw: bytes, outputs: Sequence[bytes]) -> None:
        """Fold one journal entry: an input (canonical JSON) and the outputs it caused."""
        events = [decode_event(raw), *(decode_event(output) for output in outputs)]
        with self._lock:
            for event in events:
                self._projections.apply(event)
                self._views.apply(event)
                self._series.apply(event)
            self._position = position

    def dead_letter(self, letter: DeadLetterView) -> None:
        """Count one dead letter of the journal (once per id, if it has one)."""
        with self._lock:
            if letter.id and letter.id in self._letter_at:
                return
            self._projections.dead_letter(letter.source)
            if letter.id:
                self._letter_at[letter.id] = len(self._letters)
            self._letters.append(letter)
            if letter.status == "retried":
                self._projections.retried_dead_letters(1)
            mark = self._marks.pop(letter.id, None) if letter.id else None
            if mark is not None:
                self.retried(letter.id, *mark)
            self._report = self._objectives = None

    def retried(self, letter: str, event: str, at: datetime) -> None:
        """Mark the dead letter ``letter`` retried by ``event`` at ``at`` (kept if yet to come)."""
        with self._lock:
            index = self._letter_at.get(letter)
            if index is None:
                self._marks[letter] = (event, at)
                return
            view = self._letters[index]
            if view.status == "open":
                self._projections.retried_dead_letters(1)
            self._letters[index] = msgspec.structs.replace(
                view, status="retried", retried_by=event, retried_at=at
            )
            self._report = self._objectives = None

    def reset(self) -> None:
        """Start the fold again from nothing (a follower that must re-read its journal)."""
        with self._lock:
            self._projections = Projections()
            self._views = Views()
            self._series = Series()
            self._letters = []
            self._letter_at = {}
            self._marks = {}
            self._position = 0
            self._ready = False
            self._report = self._objectives = None

    def mark_ready(self) -> None:
        """The follower has caught up with the journal once and keeps following."""
        self._ready = True

    # --- reading ----------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Recovered (caught up once) and following."""
        return self._ready

    @property
    def position(self) -> int:
        """The journal position of the last entry folded (0: none)."""
        return self._position

    def report(self) -> Report:
        """The report at the current position."""
        with self._lock:
            return self._report_locked()

    def _report_locked(self) -> Report:
        cached = self._report
        if cached is None or cached[0] != self._position:
            cached = self._report = (self._position, self._projections.report())
        return cached[1]

    def objectives_report(self) -> ObjectivesReport | None:
        """The objectives evaluated at the current position, if an objectives file was given."""
        if self.objectives is None:
            return None
        with self._lock:
            cached = self._objectives
            if cached is None or cached[0] != self._position:
                built = evaluate_objectives(self.objectives, self._report_locked(), self._series)
                cached = self._objectives = (self._position, built)
            return cached[1]

    def with_series(self, read: Callable[[Report, Series], _T]) -> _T:
        """``read(report, series)`` under the lock, for what needs both at one position."""
        with self._lock:
            return read(self._report_locked(), self._series)

    def timeline(self, workspace: str) -> Timeline:
        """The time series of one workspace."""
        with self._lock:
            return self._series.timeline(workspace)

    def history(self, workspace: str, task: str) -> list[Any] | None:
        """The events of one task, in journal order; ``None`` for an unknown task."""
        with self._lock:
            return self._views.history(workspace, task)

    def expert(self, workspace: str, expert: str) -> ExpertView | None:
        """One expert's profile, presence and record."""
        with self._lock:
            return self._views.expert(workspace, expert)

    def queue(self, workspace: str, limit: int | None) -> list[QueuedTask]:
        """The waiting tasks in queue order."""
        with self._lock:
            return self._views.queue(workspace, limit)

    def dead_letters(self) -> list[DeadLetterView]:
        """Every dead letter so far, oldest first."""
        with self._lock:
            return list(self._letters)

    def workspaces(self) -> list[str]:
        """The workspaces seen so far."""
        with self._lock:
            return self._views.workspaces()
