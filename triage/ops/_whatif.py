"""What-if: another routing policy on the recorded history, in a sandbox.

The counterfactual is the hard part. Who gets a task changes what happens
to it next (a submission, a decline, a lease left to run out, a review),
so those inputs cannot be replayed as recorded. The sandbox therefore
replays only the *arrivals* as recorded, at their recorded times: profiles,
presence, removals, tasks and cancellations, and clock ticks. The work is
re-synthesized: each assignment the sandboxed engine makes is declined,
left to expire or submitted according to the assignee's own record (see
``_records``), after a handling time drawn from their record for the
kind; each recorded review of a task is given to the sandbox's submission
of it, same lag, same reviewer, with a score drawn from the new author's
record in the domain.

The recorded policy goes through the same re-synthesis: how close that
comes to what really happened is the calibration of the estimate. Every
draw comes from one ``random.Random(seed)`` in the order of the events, and
time comes only from the events, so the same history and seed give the
same result, byte for byte.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Final, NamedTuple

import msgspec

from events import (
    ClockTick,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    InputEvent,
    OutputEvent,
    TaskAssigned,
    TaskCancelled,
    TaskCreated,
    TaskDeclined,
    TaskReviewed,
    TaskSubmitted,
    decode_event,
    decode_input,
    from_micros,
    to_micros,
)
from router import Engine, Policy

from ._moment import Recorded
from ._outcome import Estimate, Outcome
from ._records import Records, accepted

__all__ = [
    "ASSUMPTIONS",
    "Calibration",
    "Candidate",
    "History",
    "WhatIf",
    "load_history",
    "what_if",
]

#: The inputs replayed as recorded; the others are re-synthesized.
ARRIVALS: Final = (
    ExpertProfile,
    ExpertStatus,
    ExpertRemoved,
    TaskCreated,
    TaskCancelled,
    ClockTick,
)
_REVIEWER: Final = "whatif-reviewer"

ASSUMPTIONS: Final = (
    "Arrivals are replayed as recorded: profiles, presence, removals, tasks, "
    "cancellations and clock ticks, at their recorded times (review tasks too, "
    "even where the sandbox finishes their parent later than it really was).",
    "Each assignment is declined, left to expire or submitted with the assignee's own "
    "recorded rates per assignment, shrunk towards the workspace's (3 assignments' worth).",
    "Handling time is the task's estimate times a ratio drawn from the assignee's "
    "recorded ratios for the kind (else the workspace's for the kind); a submission "
    "after the lease is refused, as the engine would.",
    "Each recorded review of a task goes to the sandbox's submission of it, with the "
    "recorded lag and reviewer; its score is drawn from the new author's reviews in the "
    "domain (else the domain's). Expected score: every submission's author's shrunk mean.",
    "Answers on tasks with adaptive overlap are the recorded ones, in the order of the "
    "submissions, whoever gives them; past the recorded ones, one of them is drawn.",
    "People do not react to the policy: presence, speed and quality are as recorded, "
    "whoever the work goes to. Work past the end of the history is not counted.",
)


class Candidate(NamedTuple):
    """A policy to try: a label, a fresh engine for each run, and policy changes by position."""

    label: str
    policy: str
    engine: Callable[[], Engine]
    epochs: Sequence[tuple[int, Policy]] = ()


class Calibration(msgspec.Struct, frozen=True, kw_only=True):
    """One figure as it really was against the recorded policy re-synthesized."""

    figure: str
    recorded: float | None
    resynthesized: float | None
    #: (re-synthesized - recorded) / recorded
    error: float | None


class WhatIf(msgspec.Struct, frozen=True, kw_only=True):
    """Side by side, per workspace: the recorded history, then each re-synthesized run."""

    seed: int
    inputs: int
    arrivals: int
    workspaces: dict[str, list[Estimate]]
    calibration: dict[str, list[Calibration]]
    assumptions: list[str]


class History:
    """A recorded journal decoded once: its arrivals, its records, and what happened."""

    def __init__(self) -> None:
        self.records = Records()
        self.arrivals: list[tuple[int, InputEvent]] = []
        self.inputs = 0
        self.end = -(2**62)
        self.recorded: dict[str, Estimate] = {}


def load_history(
    entries: Iterable[Recorded], progress: Callable[[int], None] | None = None
) -> History:
    """Decode a journal and learn from it; ``progress(position)`` every 10,000 inputs."""
    history = History()
    records = history.records
    outcome = Outcome(records)
    recorded: list[tuple[InputEvent, list[OutputEvent]]] = []
    for position, raw, raw_outputs in entries:
        event = decode_input(raw)
        outputs: list[OutputEvent] = [decode_event(o) for o in raw_outputs]  # type: ignore[misc]
        records.learn(event, outputs)
        recorded.append((event, outputs))
        if isinstance(event, ARRIVALS):
            history.arrivals.append((position, event))
        history.inputs += 1
        history.end = max(history.end, to_micros(event.at))
        if progress is not None and history.inputs % 10_000 == 0:
            progress(position)
    # Expected scores need the whole record, so what happened is measured after.
    for event, outputs in recorded:
        outcome.apply(event, outputs)
    history.recorded = outcome.estimates("recorded", "as recorded")
    return history


def what_if(
    history: History,
    candidates: Sequence[Candidate],
    *,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> WhatIf:
    """Re-synthesize the history under each candidate (the first: the recorded policy).

    ``progress(done)`` is called every 10,000 arrivals, ``done`` counting the
    arrivals of all runs so far (of ``len(candidates) * len(history.arrivals)``).
    """
    columns: dict[str, list[Estimate]] = {ws: [e] for ws, e in history.recorded.items()}
    for done, candidate in enumerate(candidates):
        base = done * len(history.arrivals)
        report = None if progress is None else (lambda n, base=base: progress(base + n))
        for ws, estimate in _Sandbox(history, candidate, seed).run(report).items():
            columns.setdefault(ws, []).append(estimate)
    calibration = {
        ws: _calibrate(found[0], found[1]) for ws, found in columns.items() if len(found) > 1
    }
    return WhatIf(
        seed=seed,
        inputs=history.inputs,
        arrivals=len(history.arrivals),
        workspaces=columns,
        calibration=calibration,
        assumptions=list(ASSUMPTIONS),
    )


def _calibrate(real: Estimate, synth: Estimate) -> list[Calibration]:
    rows = []
    for figure in ("wait_p50_seconds", "wait_p90_seconds", "aht_seconds", "pass_rate"):
        a, b = getattr(real, figure), getattr(synth, figure)
        error = round((b - a) / a, 3) if a and b is not None else None
        rows.append(Calibration(figure=figure, recorded=a, resynthesized=b, error=error))
    return rows


class _Sandbox:
    """One re-synthesized run: recorded arrivals merged with the work it makes up."""

    def __init__(self, history: History, candidate: Candidate, seed: int) -> None:
        self.history = history
        self.records = history.records
        self.candidate = candidate
        self.engine = candidate.engine()
        self.rng = random.Random(seed)
        self.outcome = Outcome(history.records)
        self.heap: list[tuple[int, int, InputEvent]] = []
        self.serial = 0
        self.now = -(2**62)
        self.submissions: dict[tuple[str, str], int] = {}

    def run(self, progress: Callable[[int], None] | None = None) -> dict[str, Estimate]:
        epochs = sorted(self.candidate.epochs, key=lambda epoch: epoch[0])
        heap, feed = self.heap, self._feed
        for done, (position, arrival) in enumerate(self.history.arrivals, 1):
            if progress is not None and done % 10_000 == 0:
                progress(done)
            while epochs and epochs[0][0] <= position:
                self.engine.policy = epochs.pop(0)[1]
            at = to_micros(arrival.at)
            while heap and heap[0][0] < at:
                feed(heapq.heappop(heap)[2])
            feed(arrival)
        while heap and heap[0][0] <= self.history.end:
            feed(heapq.heappop(heap)[2])
        return self.outcome.estimates(self.candidate.label, self.candidate.policy)

    def _feed(self, event: InputEvent) -> None:
        self.now = max(self.now, to_micros(event.at))
        if isinstance(event, TaskSubmitted):
            # Answered as it is accepted: the n-th accepted submission, the n-th answer.
            nth = self.submissions.get((event.workspace, event.task), 0)
            answer = self.records.answer(self.rng, event.workspace, event.task, nth)
            if answer is not None:
                event = msgspec.structs.replace(event, answer=answer)
        outputs = self.engine.apply(event)
        self.outcome.apply(event, outputs)
        for output in outputs:
            if isinstance(output, TaskAssigned):
                self._assigned(output)
        if isinstance(event, TaskSubmitted) and accepted(event, outputs):
            self._submitted(event)

    def _assigned(self, output: TaskAssigned) -> None:
        records, rng, ws = self.records, self.rng, output.workspace
        task = records.tasks[(ws, output.task)]
        decline, expire = records.rates(ws, output.expert)
        chance = rng.random()
        if chance < decline:
            delay = records.decline_delay(rng, ws)
            self._push(
                delay,
                lambda i, at: TaskDeclined(
                    i, at, ws, task=task.task, expert=output.expert, reason="re-synthesized"
                ),
            )
        elif chance >= decline + expire:
            seconds = records.handling_seconds(rng, ws, output.expert, task)
            self._push(
                seconds * 1_000_000,
                lambda i, at: TaskSubmitted(
                    i, at, ws, task=task.task, expert=output.expert, seconds=seconds
                ),
            )

    def _submitted(self, event: TaskSubmitted) -> None:
        key = (event.workspace, event.task)
        nth = self.submissions.get(key, 0)
        self.submissions[key] = nth + 1
        task = self.records.tasks[key]
        for reviewed, lag, reviewer in self.records.review_slots.get(key, ()):
            if reviewed == nth:
                self._review(event, task.domain, lag, reviewer)

    def _review(self, event: TaskSubmitted, domain: str, lag: int, reviewer: str) -> None:
        ws = event.workspace
        review = self.records.review(self.rng, ws, event.expert, domain)
        if review is None:
            return
        score, passed, errors = review
        by = reviewer if reviewer != event.expert else _REVIEWER
        self._push(
            lag,
            lambda i, at: TaskReviewed(
                i,
                at,
                ws,
                task=event.task,
                expert=event.expert,
                reviewer=by,
                score=score,
                passed=passed,
                errors=errors,
            ),
        )

    def _push(self, delay: int, make: Callable[[str, datetime], InputEvent]) -> None:
        when = self.now + max(0, delay)
        self.serial += 1
        event = make(f"whatif-{self.serial:07d}", from_micros(when))
        heapq.heappush(self.heap, (when, self.serial, event))
