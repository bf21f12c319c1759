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

import msgspec

from events import InputEvent, OutputEvent, decode_input, encode, type_name
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
    pending = sorted(epochs, key=lambda epoch: epoch[0])
    engine = Engine(pending[0][1] if pending else DEFAULT_POLICY)
    used: list[tuple[int, str]] = []
    apply = engine.apply
    inputs = outputs = position = 0
    first_at: datetime | None = None
    event: InputEvent | None = None
    for position, raw, recorded in entries:
        if pending and pending[0][0] <= position:
            while pending and pending[0][0] <= position:
                engine.policy = pending.pop(0)[1]
            used.append((position, engine.policy.name))
        elif not used:
            used.append((position, engine.policy.name))
        event = decode_input(raw)
        if first_at is None:
            first_at = event.at
        caused = apply(event)
        encoded = [encode(output) for output in caused]
        if encoded != recorded:
            divergence = _first_difference(position, event, encoded, recorded)
            if divergence is not None:
                return ReplayResult(
                    inputs=inputs,
                    outputs=outputs,
                    first_at=first_at,
                    last_at=event.at,
                    last_position=position,
                    policies=used,
                    divergence=divergence,
                )
        if sink is not None:
            sink(position, event, caused)
        inputs += 1
        outputs += len(encoded)
        if progress is not None and inputs % every == 0:
            progress(position)
    if progress is not None:
        progress(position)
    return ReplayResult(
        inputs=inputs,
        outputs=outputs,
        first_at=first_at,
        last_at=event.at if event is not None else None,
        last_position=position,
        policies=used,
        divergence=None,
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
