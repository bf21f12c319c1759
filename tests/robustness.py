"""The property every accepted line must have: the whole system folds it without error.

A line is either refused by the decoder with :class:`InvalidEvent` (a dead
letter with a reason), or it is an event whose canonical form decodes again,
which the engine and the projections process, whose outputs encode and
decode, and after which the report is built, rendered and encoded with
finite numbers only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import msgspec

from events import InvalidEvent, decode_input, decode_output, encode
from projections import Projections, render_text, report_json
from router import Engine, Policy


class Folded(msgspec.Struct):
    """What a fold of lines did."""

    accepted: int = 0
    refused: int = 0
    outputs: int = 0


def fold_lines(lines: Iterable[bytes | str], policy: Policy | None = None) -> Folded:
    """Decode and fold every line as a runtime would; fail on anything but the property."""
    engine = Engine(policy) if policy else Engine()
    projections = Projections()
    folded = Folded()
    for raw in lines:
        try:
            event = decode_input(raw)
        except InvalidEvent as exc:
            assert isinstance(exc.reason, str) and exc.reason
            assert len(exc.reason) < 2_000, exc.reason[:200]
            projections.dead_letter("fuzz")
            folded.refused += 1
            continue
        folded.accepted += 1
        canonical = encode(event)
        assert decode_input(canonical) == event, canonical[:200]
        projections.apply(event)
        for output in engine.apply(event):
            line = encode(output)
            assert decode_output(line) == output, line[:200]
            projections.apply(output)
            folded.outputs += 1
    report = projections.report()
    render_text(report)
    document = msgspec.json.decode(report_json(report, with_global=True))
    _assert_finite(msgspec.to_builtins(report))
    assert isinstance(document, dict)
    return folded


def _assert_finite(value: Any) -> None:
    if isinstance(value, float):
        assert math.isfinite(value), value
    elif isinstance(value, dict):
        for item in value.values():
            _assert_finite(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _assert_finite(item)
