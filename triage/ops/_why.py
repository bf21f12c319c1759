"""Why: one task's history, and every routing decision about it taken apart again.

Two passes over the journal. The first (:func:`find_task`) reads only the
entries that mention the task and keeps its history: every input about it
and every output about it, with positions and times. The second
(:func:`why`) replays the journal into a fresh engine, with the policy in
force at each position, up to the task's last event (to the end of the
journal if it is still queued), and explains each decision at its moment:

- an assignment is explained in the state just before it, which is the
  state its ``choose`` saw: the engine's :class:`~router.Ranking` hook is
  asked for each eligible candidate's score before the assignment changes
  anything, and the first such call for the task is where the witness takes
  its explanation (``Ranking.assigned`` comes after the state has changed);
  the witness's scores are the policy's own, so the replay writes the same
  bytes as the engine that recorded the log, and this is checked;
- a moment that concerns the task (its arrival, a requeue, a step) and
  leaves it queued without an assignment is explained in the state after it:
  who could not take it, and why;
- a cancellation of a queued task is explained in the state just before it,
  and a task still queued at the end in the state at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Final, Literal

import msgspec

from events import (
    ConfigError,
    EventRejected,
    InputEvent,
    OutputEvent,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    decode_input,
    decode_output,
    encode,
    type_name,
)
from router import DEFAULT_POLICY, Engine, Explanation, Policy, Witness, explain

from ._moment import Recorded

__all__ = ["Decision", "HistoryEntry", "Question", "Trail", "Why", "find_task", "why"]

Outcome = Literal["assigned", "waiting", "cancelled", "end"]
State = Literal["open", "completed", "cancelled"]  # open: waiting or in progress
_NO_TASK: Final = object()
_EVERY: Final = 10_000  # inputs between two calls of ``progress``


class Question(msgspec.Struct, frozen=True, kw_only=True):
    """What is asked: which task (in which workspace), about which expert, how many candidates."""

    task: str
    workspace: str | None = None
    expert: str | None = None
    top: int = 5


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One event of the task's history: an input about it, or an output about it."""

    position: int
    at: datetime
    output: bool
    type: str
    id: str
    event: msgspec.Raw


class Trail(msgspec.Struct, kw_only=True):
    """What the first pass found: where the task lives, its history, how it ended."""

    question: Question  # with the workspace found
    history: list[HistoryEntry]
    state: State
    #: Where it was completed or cancelled: no decision about it comes after.
    settled: int | None = None


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """One routing decision about the task, recomputed at its moment.

    ``outcome``: ``assigned`` (to ``expert``; ``recorded`` is who the log
    says got it), ``waiting`` (a moment about the task left it queued),
    ``cancelled`` (the moment before it was cancelled while queued), ``end``
    (still queued at the end of the history). ``position`` and ``cause``
    are the input of the moment (for ``end``, the last input replayed).
    """

    position: int
    cause: str
    cause_type: str
    outcome: Outcome
    expert: str | None = None
    attempt: int | None = None
    recorded: str | None = None
    explanation: Explanation


class Why(msgspec.Struct, frozen=True, kw_only=True):
    """A task's history and its decisions, with how the replay went."""

    workspace: str
    task: str
    expert: str | None
    state: State
    history: tuple[HistoryEntry, ...]
    decisions: tuple[Decision, ...]
    replayed: int
    last_position: int
    policies: list[tuple[int, str]]
    #: The first position at which the replay wrote other outputs than the log, if any.
    diverged: int | None


def find_task(
    entries: Iterable[Recorded],
    question: Question,
    *,
    progress: Callable[[int], None] | None = None,
) -> Trail:
    """The first pass: the task's history; ConfigError if no workspace (or several) has it."""
    needle = msgspec.json.encode(question.task)
    trails: dict[str, Trail] = {}
    for seen, (position, raw, outputs) in enumerate(entries, 1):
        if progress is not None and seen % _EVERY == 0:
            progress(position)
        if needle in raw or any(needle in output for output in outputs):
            _read(trails, question, position, raw, outputs)
    task, workspace = question.task, question.workspace
    if not trails:
        where = f" in workspace {workspace!r}" if workspace is not None else ""
        raise ConfigError(f"no task {task!r}{where} in the history")
    if len(trails) > 1:
        names = ", ".join(sorted(trails))
        raise ConfigError(f"task {task!r} is in workspaces {names}: say which with --workspace")
    (trail,) = trails.values()
    return trail


def _read(
    trails: dict[str, Trail],
    question: Question,
    position: int,
    raw: bytes,
    outputs: Sequence[bytes],
) -> None:
    """Add what one entry that mentions the task's id says about it, if anything."""
    event = decode_input(raw)
    if question.workspace is not None and event.workspace != question.workspace:
        return
    task = question.task
    mine = getattr(event, "task", _NO_TASK) == task
    caused = [decode_output(output) for output in outputs]
    refused = any(isinstance(o, EventRejected) and o.event == event.id for o in caused)
    trail = trails.get(event.workspace)
    if trail is None:
        if not (mine and isinstance(event, TaskCreated) and not refused):
            return
        asked = msgspec.structs.replace(question, workspace=event.workspace)
        trail = trails[event.workspace] = Trail(question=asked, history=[], state="open")
    if mine:
        trail.history.append(_entry(position, event, raw, output=False))
        if isinstance(event, TaskCancelled) and not refused:
            trail.state, trail.settled = "cancelled", position
    for output, encoded in zip(caused, outputs, strict=True):
        about = getattr(output, "task", None) == task
        if about or (mine and isinstance(output, EventRejected)):
            trail.history.append(_entry(position, output, encoded, output=True))
            if isinstance(output, TaskCompleted):
                trail.state, trail.settled = "completed", position


def _entry(
    position: int, event: InputEvent | OutputEvent, raw: bytes, *, output: bool
) -> HistoryEntry:
    return HistoryEntry(
        position=position,
        at=event.at,
        output=output,
        type=type_name(event),
        id=event.id,
        event=msgspec.Raw(bytes(raw)),
    )


def why(
    entries: Iterable[Recorded],
    epochs: Sequence[tuple[int, Policy]],
    trail: Trail,
    *,
    progress: Callable[[int], None] | None = None,
) -> Why:
    """The second pass: replay up to the task's last decision and explain each one.

    The replay stops where the task was completed or cancelled; one still
    queued is replayed to the end of the journal, and explained once more
    there.
    """
    investigation = _Investigation(epochs, trail)
    stop = trail.settled
    for position, raw, recorded in entries:
        if stop is not None and position > stop:
            break
        investigation.feed(position, raw, recorded)
        if progress is not None and investigation.replayed % _EVERY == 0:
            progress(position)
    if progress is not None:
        progress(investigation.position)
    return investigation.finish(at_end=stop is None)


class _Investigation:
    """The replay of the second pass, one entry at a time."""

    def __init__(self, epochs: Sequence[tuple[int, Policy]], trail: Trail) -> None:
        asked = trail.question
        assert asked.workspace is not None
        self.trail = trail
        self.workspace, self.task = asked.workspace, asked.task
        self.pending = sorted(epochs, key=lambda epoch: epoch[0])
        self.witness = Witness(self.workspace, self.task, expert=asked.expert, top=asked.top)
        self.engine = Engine(
            self.pending[0][1] if self.pending else DEFAULT_POLICY, ranking=self.witness
        )
        self.policies: list[tuple[int, str]] = []
        self.decisions: list[Decision] = []
        self.replayed = self.position = 0
        self.diverged: int | None = None
        self.explained_at = -1  # the position of the last explanation in the state after it

    def feed(self, position: int, raw: bytes, recorded: Sequence[bytes]) -> None:
        engine, pending = self.engine, self.pending
        if pending and pending[0][0] <= position:
            while pending and pending[0][0] <= position:
                engine.policy = pending.pop(0)[1]
            self.policies.append((position, engine.policy.name))
        elif not self.policies:
            self.policies.append((position, engine.policy.name))
        event = decode_input(raw)
        ours = event.workspace == self.workspace
        mine = ours and getattr(event, "task", _NO_TASK) == self.task
        if mine and isinstance(event, TaskCancelled):
            self._waiting(position, event, "cancelled", after=False)
        self.witness.take()
        outputs = engine.apply(event)
        if self.diverged is None and [encode(o) for o in outputs] != [bytes(r) for r in recorded]:
            self.diverged = position
        self.replayed += 1
        self.position = position
        if not ours:
            return
        found = self.witness.take()
        if found:
            self._assigned(position, event, found, outputs, recorded)
        elif mine or any(getattr(o, "task", None) == self.task for o in outputs):
            self._waiting(position, event, "waiting", after=True)

    def finish(self, *, at_end: bool) -> Why:
        if at_end and self.explained_at != self.position:
            explanation = self._explain()
            if explanation is not None:
                self.decisions.append(
                    Decision(
                        position=self.position,
                        cause="",
                        cause_type="",
                        outcome="end",
                        explanation=explanation,
                    )
                )
        asked = self.trail.question
        return Why(
            workspace=self.workspace,
            task=self.task,
            expert=asked.expert,
            state=self.trail.state,
            history=tuple(self.trail.history),
            decisions=tuple(self.decisions),
            replayed=self.replayed,
            last_position=self.position,
            policies=self.policies,
            diverged=self.diverged,
        )

    def _explain(self) -> Explanation | None:
        """The task's explanation in the engine's state now, if it is waiting for an expert."""
        ws = self.engine.workspaces.get(self.workspace)
        task = ws.tasks.get(self.task) if ws is not None else None
        if ws is None or task is None or not task.queued:
            return None
        asked = self.trail.question
        return explain(ws, task, self.engine.policy, top=asked.top, expert=asked.expert)

    def _waiting(self, position: int, event: InputEvent, outcome: Outcome, *, after: bool) -> None:
        explanation = self._explain()
        if explanation is None:
            return
        if after:
            self.explained_at = position
        self.decisions.append(
            Decision(
                position=position,
                cause=event.id,
                cause_type=type_name(event),
                outcome=outcome,
                explanation=explanation,
            )
        )

    def _assigned(
        self,
        position: int,
        event: InputEvent,
        found: list[tuple[Explanation, str]],
        outputs: Sequence[OutputEvent],
        recorded: Sequence[bytes],
    ) -> None:
        """Each explained assignment, with its attempt and the assignee the log recorded."""
        made = [o for o in outputs if isinstance(o, TaskAssigned) and o.task == self.task]
        logged = [
            o
            for o in (decode_output(r) for r in recorded)
            if isinstance(o, TaskAssigned) and o.task == self.task
        ]
        for index, (explanation, assignee) in enumerate(found):
            self.decisions.append(
                Decision(
                    position=position,
                    cause=event.id,
                    cause_type=type_name(event),
                    outcome="assigned",
                    expert=assignee,
                    attempt=made[index].attempt if index < len(made) else None,
                    recorded=logged[index].expert if index < len(logged) else None,
                    explanation=explanation,
                )
            )
