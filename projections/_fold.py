"""The fold: the journal, inputs and outputs in order, into the metrics ops need.

``Projections.apply`` takes every event of the journal in its order: each
accepted input event, then the output events the engine wrote for it. The
outputs say what routing did (assignments, requeues, completions, flags),
so the fold never re-derives routing; the inputs add what only they carry
(profiles, presence, handling times, reviews).

An input the engine refused is followed by an ``event.rejected`` naming it,
possibly after outputs of the same step (a lease that ran out at the
instant of a late submission is requeued first). So the inputs whose effect
depends on being accepted (presence, removal, cancellation, submission,
review) are held as *pending* and folded when the next input arrives, or
when a report is asked for, unless their rejection came first. The others
take effect at once: a profile is never refused, a second ``task.created``
for a known id is the only refusal of a creation and is ignored as such, a
decline or a tick changes nothing by itself. Call ``report`` between
journal entries, not between an input and its outputs.

Time comes only from the events: each workspace's clock is the latest
``at`` it has seen, as in the engine. ``apply`` dispatches on the event's
type through a dict and touches a few fields; the report derives
everything else, so it costs one pass over the tasks.

This module holds the fold's machinery: :class:`Projections`, the pending
input and its refusal, the dispatch table and :func:`fold`. The handlers
are in ``_fold_inputs`` (what only inputs carry) and ``_fold_outputs``
(what routing did), so that each reads as one list of small updates.
"""

from __future__ import annotations

import contextlib
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from itertools import islice, repeat
from operator import attrgetter
from typing import Any, Final

import msgspec

from events import (
    AnyEvent,
    ClockTick,
    EventRejected,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    InvalidEvent,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskDeclined,
    TaskEscalated,
    TaskExtended,
    TaskRequeued,
    TaskReviewed,
    TaskSubmitted,
    TaskUnroutable,
    decode_event,
    decode_events,
    to_micros,
    week_index,
)

from ._fold_inputs import (
    on_cancelled,
    on_created,
    on_nothing,
    on_profile,
    on_removed,
    on_reviewed,
    on_status,
    on_submitted,
)
from ._fold_outputs import (
    on_assigned,
    on_completed,
    on_escalated,
    on_extended,
    on_requeued,
    on_unroutable,
)
from ._metrics import build_report
from ._model import Report
from ._state import Workspace

__all__ = [
    "DEFAULT_LOW_SCORE",
    "DEFAULT_QUALITY_PRIOR",
    "DEFAULT_QUALITY_PRIOR_REVIEWS",
    "Projections",
    "fold",
    "reason_key",
]

#: Reviews scoring below this (or failed) are listed as low quality.
DEFAULT_LOW_SCORE: Final = 0.6
#: The quality record's prior and its weight in reviews, as in the router's
#: default policy (a test keeps them equal); the report states the ones it used.
DEFAULT_QUALITY_PRIOR: Final = 0.75
DEFAULT_QUALITY_PRIOR_REVIEWS: Final = 3.0

_QUOTED: Final = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_MAX_REASON: Final = 80


def reason_key(reason: str) -> str:
    """A rejection reason with its quoted ids masked, so that reasons aggregate.

    ``expert 'ana' holds no open assignment on task 't-1': its assignment
    has ended`` becomes ``expert '…' holds no open assignment on task '…':
    its assignment has ended``; the engine quotes every id it names.
    """
    return _QUOTED.sub("'…'", reason)[:_MAX_REASON]


_Handler = Callable[["Projections", Workspace, Any, int], None]


class _Pending(msgspec.Struct, gc=False):
    """An input held until the next input shows that no rejection of it came."""

    handler: _Handler
    ws: Workspace
    event: AnyEvent
    at: int


class Projections:
    """Folds the journal into per-workspace metrics; see :meth:`report`."""

    def __init__(
        self,
        *,
        low_score: float = DEFAULT_LOW_SCORE,
        quality_prior: float = DEFAULT_QUALITY_PRIOR,
        quality_prior_reviews: float = DEFAULT_QUALITY_PRIOR_REVIEWS,
    ) -> None:
        self.low_score = low_score
        self.quality_prior = quality_prior
        self.quality_prior_reviews = quality_prior_reviews
        self._workspaces: dict[str, Workspace] = {}
        self._dead_letters: dict[str, int] = {}
        self._retried = 0  # dead letters with a retry marked
        self._pending: _Pending | None = None
        # The last ``at`` converted: an input's outputs are mostly at its instant.
        self._stamp: datetime | None = None
        self._micros = 0

    def apply(self, event: AnyEvent) -> None:
        """Fold one event of the journal, input or output, in journal order."""
        ws = self._workspaces.get(event.workspace)
        if ws is None:
            ws = self._workspaces[event.workspace] = Workspace()
        stamp = event.at
        if stamp == self._stamp:  # the same instant, whatever the offset
            at = self._micros
        else:
            at = self._micros = to_micros(stamp)
            self._stamp = stamp
        if at > ws.clock:
            ws.clock = at
            ws.week = week_index(at)
        handler, role = _HANDLERS[type(event)]
        if role != _OUTPUT:
            pending = self._pending
            if pending is not None:
                self._pending = None
                pending.handler(self, pending.ws, pending.event, pending.at)
            if role == _PENDING:
                self._pending = _Pending(handler, ws, event, at)
                return
        handler(self, ws, event, at)

    def dead_letter(self, source: str, workspace: str | None = None) -> None:
        """Count one record that never became an event, by its source.

        ``source`` is where it came from (``ingest``, a topic name). Pass
        ``workspace`` when the record named one the caller trusts; it is
        then also counted in that workspace's ``events.dead_letters``.
        """
        self._dead_letters[source] = self._dead_letters.get(source, 0) + 1
        if workspace is not None:
            ws = self._workspaces.get(workspace)
            if ws is None:
                ws = self._workspaces[workspace] = Workspace()
            ws.dead_letters += 1

    def retried_dead_letters(self, count: int) -> None:
        """Count ``count`` more dead letters as retried: a corrected event was submitted for each.

        The others are open; the report says how many of each.
        """
        self._retried += count

    def report(self) -> Report:
        """The metrics of every workspace as they stand after the events so far."""
        self._settle()
        return build_report(
            self._workspaces,
            self._dead_letters,
            self.low_score,
            (self.quality_prior, self.quality_prior_reviews),
            retried=self._retried,
        )

    def _settle(self) -> None:
        """Fold the pending input: no rejection of it has come."""
        pending = self._pending
        if pending is not None:
            self._pending = None
            pending.handler(self, pending.ws, pending.event, pending.at)

    def _settle_submission(self, ws: Workspace, task: str) -> None:
        """Fold now the submission that caused this output: only an accepted one causes it."""
        pending = self._pending
        if (
            pending is not None
            and pending.ws is ws
            and isinstance(pending.event, TaskSubmitted)
            and pending.event.task == task
        ):
            self._settle()


def fold(
    entries: Iterable[tuple[bytes, Sequence[bytes]]],
    dead_letters: Iterable[str],
    *,
    retried: int = 0,
    until: datetime | None = None,
) -> Report:
    """The report of a whole journal: each entry's input, then its outputs, in order.

    ``entries`` are ``(input_json, outputs_json)`` pairs in journal order, as
    a runtime stored them; ``dead_letters`` the source of each dead letter;
    ``retried`` how many of them have been retried.
    Every runtime reports through this one loop, so that the embedded log
    and Kafka cannot fold the same journal differently.

    With ``until``, the journal is cut before its first input dated after
    it: a prefix, as ``triage.ops.until_moment`` cuts it, by the input's
    ``at`` alone, also for an input that no longer decodes (a record whose
    ``at`` cannot be read raises ``msgspec.DecodeError``, as there).
    """
    folded = Projections()
    apply = folded.apply
    source = iter(entries)
    while chunk := list(islice(source, _CHUNK)):
        records: list[bytes] = []
        starts: list[int] = []
        for input_json, outputs_json in chunk:
            starts.append(len(records))
            records.append(input_json)
            records += outputs_json
        try:
            events = decode_events(records)
        except InvalidEvent:
            if _fold_one_by_one(apply, chunk, until):
                break
            continue
        if until is not None:
            later = list(map(operator.gt, map(_AT, map(events.__getitem__, starts)), repeat(until)))
            if True in later:
                for event in islice(events, starts[later.index(True)]):
                    apply(event)
                break
        for event in events:
            apply(event)
    for source_name in dead_letters:
        folded.dead_letter(source_name)
    folded.retried_dead_letters(retried)
    return folded.report()


class _Stamp(msgspec.Struct, gc=False):
    """Only the ``at`` of a record: what the cut reads of an input that does not decode."""

    at: datetime


_stamp_decoder: Final = msgspec.json.Decoder(_Stamp)
_AT: Final = attrgetter("at")


#: Entries decoded at once by :func:`fold`. Small: a chunk is alive while it is folded,
#: and the collector promotes what is alive when it runs; a chunk of a thousand
#: entries made its full passes (over the whole state) several times as frequent.
_CHUNK: Final = 100


def _fold_one_by_one(
    apply: Callable[[AnyEvent], None],
    chunk: list[tuple[bytes, Sequence[bytes]]],
    until: datetime | None,
) -> bool:
    """A chunk with an event that does not decode: entry by entry, to know which.

    True if the cut at ``until`` came within it.
    """
    for input_json, outputs_json in chunk:
        if until is not None and _stamp_decoder.decode(input_json).at > until:
            return True
        # An input accepted by an older version and refused on reading now is
        # skipped: its rejection follows among the outputs.
        with contextlib.suppress(InvalidEvent):
            apply(decode_event(input_json))
        for output_json in outputs_json:
            apply(decode_event(output_json))
    return False


# --- the refusal of the pending input ---------------------------------------


def _on_rejected(p: Projections, ws: Workspace, event: EventRejected, at: int) -> None:
    ws.rejected += 1
    key = reason_key(event.reason)
    ws.rejected_by_reason[key] = ws.rejected_by_reason.get(key, 0) + 1
    # The refused input is the one held pending: it must not be folded.
    pending = p._pending
    if pending is not None and pending.event.id == event.event and pending.ws is ws:
        p._pending = None


# Roles: an input that takes effect at once, one held until it is known to be
# accepted, and an output of the engine.
_NOW: Final = 0
_PENDING: Final = 1
_OUTPUT: Final = 2

_HANDLERS: Final[dict[type, tuple[_Handler, int]]] = {
    ExpertProfile: (on_profile, _NOW),
    ExpertStatus: (on_status, _PENDING),
    ExpertRemoved: (on_removed, _PENDING),
    TaskCreated: (on_created, _NOW),
    TaskCancelled: (on_cancelled, _PENDING),
    TaskDeclined: (on_nothing, _NOW),
    TaskSubmitted: (on_submitted, _PENDING),
    TaskReviewed: (on_reviewed, _PENDING),
    ClockTick: (on_nothing, _NOW),
    TaskAssigned: (on_assigned, _OUTPUT),
    TaskRequeued: (on_requeued, _OUTPUT),
    TaskCompleted: (on_completed, _OUTPUT),
    TaskUnroutable: (on_unroutable, _OUTPUT),
    EventRejected: (_on_rejected, _OUTPUT),
    TaskEscalated: (on_escalated, _OUTPUT),
    TaskExtended: (on_extended, _OUTPUT),
}
