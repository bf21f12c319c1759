"""Each expert's own recorded record, learned from a history, for re-synthesizing work.

Under another policy the work lands on other people, so what they did with
it (submit, decline, let the lease run out; how long it took; how the
review went) cannot be replayed as recorded: it is drawn from the record of
whoever gets the task in the sandbox. Every draw is shrunk towards the
workspace: with ``n`` samples of their own, an expert's own sample is drawn
with probability ``n / (n + PRIOR)``, the workspace's otherwise, so that
one recorded review does not decide every later one.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Final, TypeVar

from events import (
    EventRejected,
    InputEvent,
    OutputEvent,
    TaskAssigned,
    TaskCreated,
    TaskDeclined,
    TaskRequeued,
    TaskReviewed,
    TaskSubmitted,
    to_micros,
)

__all__ = ["PRIOR", "Records", "Review", "accepted"]

#: How many samples the workspace's record is worth against an expert's own.
PRIOR: Final = 3.0

#: One recorded review: score, passed, error categories.
Review = tuple[float, bool, tuple[str, ...]]
_Key = tuple[str, str]
_T = TypeVar("_T")
_K = TypeVar("_K", bound=tuple[str, ...])


def accepted(event: InputEvent, outputs: Sequence[OutputEvent]) -> bool:
    """Did the engine accept the input (no ``event.rejected`` names it)?"""
    return not any(isinstance(o, EventRejected) and o.event == event.id for o in outputs)


class _Tally:
    __slots__ = ("assigned", "declined", "expired")

    def __init__(self) -> None:
        self.assigned = self.declined = self.expired = 0


class Records:
    """What the history says each expert does with work, by workspace.

    Feed it the recorded journal with :meth:`learn`, in order; then draw.
    """

    def __init__(self) -> None:
        self.tasks: dict[_Key, TaskCreated] = {}
        self._tallies: dict[_Key, _Tally] = {}
        self._workspace: dict[str, _Tally] = {}
        self._assigned_at: dict[tuple[str, str, str], int] = {}
        self._submitted_at: dict[tuple[str, str, str], int] = {}
        # handling time as a multiple of the task's estimated minutes
        self._ratios: dict[tuple[str, str, str], list[float]] = {}
        self._kind_ratios: dict[_Key, list[float]] = {}
        self._all_ratios: dict[str, list[float]] = {}
        self._reviews: dict[tuple[str, str, str], list[Review]] = {}
        self._domain_reviews: dict[_Key, list[Review]] = {}
        self._decline_delays: dict[str, list[int]] = {}
        #: For each reviewed task, its reviews in order: (which submission of the
        #: task it reviewed, from 0; lag after it; reviewer). In a sandbox, the
        #: n-th submission of the task gets the reviews of the recorded n-th.
        self.review_slots: dict[_Key, list[tuple[int, int, str]]] = {}
        self._authors: dict[_Key, list[str]] = {}
        #: For each task with adaptive overlap, the answers of its accepted
        #: submissions in order (None: a submission without one).
        self._answers: dict[_Key, list[str | None]] = {}
        self._cache: dict[tuple[str, ...], tuple[float, int, int]] = {}  # filled once learned

    # --- learning ----------------------------------------------------------------

    def learn(self, event: InputEvent, outputs: Sequence[OutputEvent]) -> None:
        """Fold one recorded input and its outputs."""
        ws = event.workspace
        at = to_micros(event.at)
        if isinstance(event, TaskCreated):
            self.tasks.setdefault((ws, event.task), event)
        elif isinstance(event, TaskDeclined) and accepted(event, outputs):
            self._tally(ws, event.expert).declined += 1
            self._workspace_tally(ws).declined += 1
            since = self._assigned_at.get((ws, event.task, event.expert))
            if since is not None:
                self._decline_delays.setdefault(ws, []).append(at - since)
        elif isinstance(event, TaskSubmitted) and accepted(event, outputs):
            task = self.tasks.get((ws, event.task))
            if task is not None:
                ratio = event.seconds / (task.minutes * 60)
                self._ratios.setdefault((ws, event.expert, task.kind), []).append(ratio)
                self._kind_ratios.setdefault((ws, task.kind), []).append(ratio)
                self._all_ratios.setdefault(ws, []).append(ratio)
            self._submitted_at[(ws, event.task, event.expert)] = at
            self._authors.setdefault((ws, event.task), []).append(event.expert)
            if task is not None and task.agreement is not None:
                self._answers.setdefault((ws, event.task), []).append(event.answer)
        elif isinstance(event, TaskReviewed) and accepted(event, outputs):
            task = self.tasks.get((ws, event.task))
            if task is not None:
                review: Review = (event.score, event.passed, event.errors)
                self._reviews.setdefault((ws, event.expert, task.domain), []).append(review)
                self._domain_reviews.setdefault((ws, task.domain), []).append(review)
            submitted = self._submitted_at.get((ws, event.task, event.expert), at)
            authors = self._authors.get((ws, event.task), [])
            nth = authors.index(event.expert) if event.expert in authors else 0
            slots = self.review_slots.setdefault((ws, event.task), [])
            slots.append((nth, max(0, at - submitted), event.reviewer))
        for output in outputs:
            if isinstance(output, TaskAssigned):
                self._tally(ws, output.expert).assigned += 1
                self._workspace_tally(ws).assigned += 1
                self._assigned_at[(ws, output.task, output.expert)] = at
            elif isinstance(output, TaskRequeued) and output.reason == "expired":
                self._tally(ws, output.expert).expired += 1
                self._workspace_tally(ws).expired += 1

    def _tally(self, ws: str, expert: str) -> _Tally:
        tally = self._tallies.get((ws, expert))
        if tally is None:
            tally = self._tallies[(ws, expert)] = _Tally()
        return tally

    def _workspace_tally(self, ws: str) -> _Tally:
        tally = self._workspace.get(ws)
        if tally is None:
            tally = self._workspace[ws] = _Tally()
        return tally

    # --- drawing ---------------------------------------------------------------------

    def rates(self, ws: str, expert: str) -> tuple[float, float]:
        """(decline rate, lease-expiry rate) per assignment, shrunk to the workspace's."""
        whole = self._workspace.get(ws)
        if whole is None or not whole.assigned:
            return 0.0, 0.0
        own = self._tallies.get((ws, expert)) or _Tally()
        decline = whole.declined / whole.assigned
        expire = whole.expired / whole.assigned
        weight = own.assigned + PRIOR
        return (
            (own.declined + PRIOR * decline) / weight,
            (own.expired + PRIOR * expire) / weight,
        )

    def handling_seconds(self, rng: random.Random, ws: str, expert: str, task: TaskCreated) -> int:
        """A handling time for the expert on the task: their own ratio to the estimate, drawn."""
        own = self._ratios.get((ws, expert, task.kind), ())
        pool = self._kind_ratios.get((ws, task.kind)) or self._all_ratios.get(ws) or (1.0,)
        ratio = _draw(rng, own, pool)
        return min(604_800, max(0, round(task.minutes * 60 * ratio)))

    def answer(self, rng: random.Random, ws: str, task: str, nth: int) -> str | None:
        """The answer of the n-th submission (from 0) of a task with adaptive overlap.

        The recorded n-th answer; past the recorded ones, one of them drawn;
        None for a task without agreement or without recorded answers.
        """
        answers = self._answers.get((ws, task))
        if not answers:
            return None
        return answers[nth] if nth < len(answers) else rng.choice(answers)

    def decline_delay(self, rng: random.Random, ws: str) -> int:
        """Microseconds from assignment to a decline, drawn from the workspace's declines."""
        delays = self._decline_delays.get(ws)
        return rng.choice(delays) if delays else 5 * 60_000_000

    def review(self, rng: random.Random, ws: str, expert: str, domain: str) -> Review | None:
        """A review of the expert's submission in the domain, drawn from their record."""
        own = self._reviews.get((ws, expert, domain), ())
        pool = self._domain_reviews.get((ws, domain)) or own
        if not pool:
            return None
        return _draw(rng, own, pool)

    def expected(self, ws: str, expert: str, domain: str) -> tuple[float, float] | None:
        """The expert's expected (score, pass rate) in the domain, shrunk to the domain's."""
        pool = self._sums(self._domain_reviews, (ws, domain))
        if not pool[2]:
            return None
        own = self._sums(self._reviews, (ws, expert, domain))
        weight = own[2] + PRIOR
        return (
            (own[0] + PRIOR * pool[0] / pool[2]) / weight,
            (own[1] + PRIOR * pool[1] / pool[2]) / weight,
        )

    def _sums(self, reviews: dict[_K, list[Review]], key: _K) -> tuple[float, int, int]:
        sums = self._cache.get(key)
        if sums is None:
            found = reviews.get(key, ())
            sums = self._cache[key] = (
                sum(r[0] for r in found),
                sum(r[1] for r in found),
                len(found),
            )
        return sums


def _draw(rng: random.Random, own: Sequence[_T], pool: Sequence[_T]) -> _T:
    if own and rng.random() < len(own) / (len(own) + PRIOR):
        return own[rng.randrange(len(own))]
    return pool[rng.randrange(len(pool))]
