"""Replay: the recorded inputs through a fresh engine, every decision checked again.

An audit of the log and of this version of the engine at once: each input
is decoded and applied in the recorded order, with the policy that was in
force at its position, and the outputs the engine gives now are encoded
and compared, byte for byte, with the outputs the log recorded for it. The
first difference is reported with where it is (position, input, which
output) and both sides; the replay stops there, because every later
decision depends on the state that has already diverged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from itertools import islice
from typing import Final

import msgspec

from events import (
    InputEvent,
    InvalidEvent,
    OutputEvent,
    decode_input,
    decode_inputs,
    encode,
    type_name,
)
from router import DEFAULT_POLICY, Engine, Policy

from ._moment import Recorded

__all__ = ["Divergence", "ReplayResult", "replay"]

#: (first input position, policy) for every policy change, in order.
Epochs = Sequence[tuple[int, Policy]]


class Divergence(msgspec.Struct, frozen=True, kw_only=True):
    """The first place where the replay does not give what the log recorded.

    ``output`` counts from 1 within the input's outputs. ``recorded`` is
    None when the replay wrote an output the log does not have; ``replayed``
    is None when the log has an output the replay did not write.
    """

    position: int
    input_id: str
    input_type: str
    workspace: str
    at: datetime
    output: int
    #: The first field (in the contract's order) whose value differs, when both exist.
    field: str | None
    recorded: str | None
    replayed: str | None


class ReplayResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a replay did: inputs and outputs checked, over which times, with which policies."""

    inputs: int
    outputs: int
    first_at: datetime | None
    last_at: datetime | None
    last_position: int
    policies: list[tuple[int, str]]
    divergence: Divergence | None

    @property
    def identical(self) -> bool:
        """Every recorded decision came out again."""
        return self.divergence is None


def replay(
    entries: Iterable[Recorded],
    epochs: Epochs = (),
    *,
    sink: Callable[[int, InputEvent, Sequence[OutputEvent]], None] | None = None,
    progress: Callable[[int], None] | None = None,
    every: int = 10_000,
) -> ReplayResult:
    """Replay ``entries`` into a fresh engine and compare every output with the recorded one.

    ``epochs`` gives the policy from each position on (none: the default
    policy throughout). ``sink(position, event, outputs)`` receives every
    replayed input with its outputs (to write a copy of the journal); the input at
    which the replay diverges is not passed to it. ``progress(position)`` is
    called every ``every`` inputs.
    """
    run = _Replay(epochs, sink, progress, every)
    source = iter(entries)
    while chunk := list(islice(source, _CHUNK)):
        divergence = run.chunk(chunk)
        if divergence is not None:
            return run.result(divergence)
    if progress is not None:
        progress(run.position)
    return run.result(None)


#: Entries decoded at once; small, as the fold's chunks (projections/_fold.py), for the collector.
_CHUNK: Final = 100


class _Replay:
    """The state of one replay, which goes through the entries a chunk at a time.

    A chunk's inputs are decoded in one call; then each is applied and its
    outputs, if any, encoded and compared with the recorded ones, before the
    next. The outputs are not kept past their comparison (and the sink): a
    chunk's worth of them, kept, made the collector's full passes over the
    engine's state more frequent, which cost more than the loop saved.
    """

    def __init__(
        self,
        epochs: Epochs,
        sink: Callable[[int, InputEvent, Sequence[OutputEvent]], None] | None,
        progress: Callable[[int], None] | None,
        every: int,
    ) -> None:
        self.pending = sorted(epochs, key=lambda epoch: epoch[0])
        self.engine = Engine(self.pending[0][1] if self.pending else DEFAULT_POLICY)
        self.used: list[tuple[int, str]] = []
        self.sink = sink
        self.progress = progress
        self.every = every
        self.inputs = self.outputs = self.position = 0
        self.first_at: datetime | None = None
        self.last_at: datetime | None = None

    def chunk(self, chunk: list[Recorded]) -> Divergence | None:
        """Replay a chunk of entries, in parts that each run under one policy."""
        positions = [entry[0] for entry in chunk]
        start = 0
        while start < len(chunk):
            end = self._policy_at(positions, start)
            if end - start > 1:
                divergence = self._part(chunk[start:end])
            else:
                divergence = self._one(chunk[start])
            if divergence is not None:
                return divergence
            start = end
        return None

    def _policy_at(self, positions: list[int], start: int) -> int:
        """Switch to the policy in force at ``positions[start]``; the end of its run."""
        pending = self.pending
        position = positions[start]
        if pending and pending[0][0] <= position:
            while pending and pending[0][0] <= position:
                self.engine.policy = pending.pop(0)[1]
            self.used.append((position, self.engine.policy.name))
        elif not self.used:
            self.used.append((position, self.engine.policy.name))
        if not pending:
            return len(positions)
        switch = pending[0][0]
        return next(
            (n for n in range(start + 1, len(positions)) if positions[n] >= switch),
            len(positions),
        )

    def _part(self, part: list[Recorded]) -> Divergence | None:
        """Entries under one policy: decoded at once, then applied and compared in order."""
        positions, raws, recorded = zip(*part, strict=True)
        try:
            events = decode_inputs(raws)
        except InvalidEvent:
            # Input by input, so that the entries before the one refused are
            # replayed and compared, and the refusal raised where it is.
            for entry in part:
                divergence = self._one(entry)
                if divergence is not None:
                    return divergence
            return None
        if self.first_at is None:
            self.first_at = events[0].at
        apply = self.engine.apply
        sink = self.sink
        for position, event, theirs in zip(positions, events, recorded, strict=True):
            caused = apply(event)
            if (caused or theirs) and (
                len(caused) != len(theirs) or list(map(encode, caused)) != theirs
            ):
                mine = [encode(output) for output in caused]
                divergence = _first_difference(position, event, mine, theirs)
                if divergence is not None:
                    self._done(part, recorded, next(n for n, e in enumerate(events) if e is event))
                    self.position, self.last_at = position, event.at
                    return divergence
            if sink is not None:
                sink(position, event, caused)
        self._done(part, recorded, len(part))
        self.last_at = events[-1].at
        return None

    def _one(self, entry: Recorded) -> Divergence | None:
        position, raw, recorded = entry
        event = decode_input(raw)
        if self.first_at is None:
            self.first_at = event.at
        caused = self.engine.apply(event)
        encoded = [encode(output) for output in caused]
        if encoded != recorded:
            divergence = _first_difference(position, event, encoded, recorded)
            if divergence is not None:
                self.position, self.last_at = position, event.at
                return divergence
        if self.sink is not None:
            self.sink(position, event, caused)
        self._done([entry], [recorded], 1)
        self.last_at = event.at
        return None

    def _done(self, part: list[Recorded], recorded: Sequence[Sequence[bytes]], count: int) -> None:
        """The first ``count`` entries of ``part`` replayed identically: count them, say so."""
        if count == 0:
            return
        before = self.inputs
        self.inputs += count
        self.outputs += sum(map(len, recorded[:count]))
        self.position = part[count - 1][0]
        if self.progress is not None:
            every = self.every
            for done in range(before + every - before % every, self.inputs + 1, every):
                self.progress(part[done - before - 1][0])

    def result(self, divergence: Divergence | None) -> ReplayResult:
        """What the replay did, up to the divergence if there is one."""
        return ReplayResult(
            inputs=self.inputs,
            outputs=self.outputs,
            first_at=self.first_at,
            last_at=self.last_at,
            last_position=self.position,
            policies=self.used,
            divergence=divergence,
        )


def _first_difference(
    position: int, event: InputEvent, replayed: list[bytes], recorded: Sequence[bytes]
) -> Divergence | None:
    for index in range(max(len(replayed), len(recorded))):
        mine = replayed[index] if index < len(replayed) else None
        theirs = bytes(recorded[index]) if index < len(recorded) else None
        if mine != theirs:
            return Divergence(
                position=position,
                input_id=event.id,
                input_type=type_name(event),
                workspace=event.workspace,
                at=event.at,
                output=index + 1,
                field=_first_field(mine, theirs),
                recorded=None if theirs is None else theirs.decode("utf-8", "replace"),
                replayed=None if mine is None else mine.decode("utf-8", "replace"),
            )
    return None


def _first_field(mine: bytes | None, theirs: bytes | None) -> str | None:
    if mine is None or theirs is None:
        return None
    try:
        ours, recorded = msgspec.json.decode(mine), msgspec.json.decode(theirs)
    except msgspec.DecodeError:
        return None
    if not isinstance(ours, dict) or not isinstance(recorded, dict):
        return None
    for key in [*ours, *(k for k in recorded if k not in ours)]:
        if ours.get(key) != recorded.get(key):
            return str(key)
    return None
