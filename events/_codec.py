"""One JSON codec for every event: reusable module-level decoders and encoder.

Decoding is the boundary where bytes become contract events; anything that
does not match the contract raises :class:`InvalidEvent` with a reason a
person can act on. Upcasting of older event versions belongs here and only
here, so the core sees one current version.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from ._errors import InvalidEvent
from ._model import INPUT_TYPES, OUTPUT_TYPES, AnyEvent, Event, InputEvent, OutputEvent

__all__ = [
    "SCHEMA_ID",
    "decode_event",
    "decode_input",
    "decode_output",
    "encode",
    "json_schema",
]

SCHEMA_ID: Final = "urn:triage:events:v1"

_input_decoder: Final[msgspec.json.Decoder[InputEvent]] = msgspec.json.Decoder(InputEvent)
_output_decoder: Final[msgspec.json.Decoder[OutputEvent]] = msgspec.json.Decoder(OutputEvent)
_any_decoder: Final[msgspec.json.Decoder[AnyEvent]] = msgspec.json.Decoder(AnyEvent)
_probe_decoder: Final = msgspec.json.Decoder(dict[str, Any])
_encoder: Final = msgspec.json.Encoder()


def encode(event: Event) -> bytes:
    """The canonical JSON of an event: one line, fields in contract order."""
    return _encoder.encode(event)


def decode_input(raw: bytes | str) -> InputEvent:
    """Decode one input event (what producers publish), or raise InvalidEvent."""
    try:
        return _input_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidEvent(_explain(raw, exc, accepted=INPUT_TYPES)) from None


def decode_output(raw: bytes | str) -> OutputEvent:
    """Decode one output event (what the engine writes), or raise InvalidEvent."""
    try:
        return _output_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidEvent(_explain(raw, exc, accepted=OUTPUT_TYPES)) from None


def decode_event(raw: bytes | str) -> AnyEvent:
    """Decode any event of the contract, input or output, or raise InvalidEvent."""
    try:
        return _any_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidEvent(_explain(raw, exc, accepted=INPUT_TYPES | OUTPUT_TYPES)) from None


def _explain(raw: bytes | str, exc: msgspec.DecodeError, accepted: frozenset[str]) -> str:
    """Turn a decoder error into a reason that names the real problem.

    msgspec reports an unknown tag as "Invalid value 'x' - at `$.type`"; say
    instead whether the type is unknown or belongs to the other direction.
    """
    message = str(exc)
    if not isinstance(exc, msgspec.ValidationError):
        return f"malformed JSON: {message}"
    if not message.endswith("at `$.type`"):
        return message
    try:
        kind = _probe_decoder.decode(raw).get("type")
    except msgspec.DecodeError:
        return message
    if not isinstance(kind, str):
        return f"`type` must be a string, got {type(kind).__name__}"
    if kind in OUTPUT_TYPES and kind not in accepted:
        return f"event type {kind!r} is written by the engine, not accepted as input"
    if kind not in accepted:
        return f"unknown event type {kind!r}; expected one of: {', '.join(sorted(accepted))}"
    return message


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of every event, generated from the Structs."""
    (root,), defs = msgspec.json.schema_components([AnyEvent], ref_template="#/$defs/{name}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Triage events, wire contract v1",
        "description": (
            "One event is one JSON object. Unknown fields are ignored. "
            "Input types: " + ", ".join(sorted(INPUT_TYPES)) + ". "
            "Output types (written by the engine): " + ", ".join(sorted(OUTPUT_TYPES)) + "."
        ),
        **root,
        "$defs": defs,
    }
