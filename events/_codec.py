"""One JSON codec for every event: reusable module-level decoders and encoder.

Decoding is the boundary where bytes become contract events; anything that
does not match the contract raises :class:`InvalidEvent` with a reason a
person can act on. Upcasting of older event versions belongs here and only
here, so the core sees one current version.

No record, however it is made, gets past the decoders as anything but an
event or an :class:`InvalidEvent`: a record larger than ``MAX_BYTES``, nested
deeper than ``MAX_DEPTH``, starting with a byte order mark or not UTF-8 is
refused before the JSON decoder sees it, so pathological input costs a
bounded amount of time and memory and never raises ``RecursionError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import accumulate, repeat
from operator import add
from typing import Any, Final, TypeVar

import msgspec

from ._errors import InvalidEvent
from ._model import INPUT_TYPES, OUTPUT_TYPES, AnyEvent, Event, InputEvent, OutputEvent

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "SCHEMA_ID",
    "decode_event",
    "decode_events",
    "decode_input",
    "decode_inputs",
    "decode_output",
    "decode_received",
    "encode",
    "json_schema",
]

SCHEMA_ID: Final = "urn:triage:events:v1"

_input_decoder: Final[msgspec.json.Decoder[InputEvent]] = msgspec.json.Decoder(InputEvent)
_output_decoder: Final[msgspec.json.Decoder[OutputEvent]] = msgspec.json.Decoder(OutputEvent)
_any_decoder: Final[msgspec.json.Decoder[AnyEvent]] = msgspec.json.Decoder(AnyEvent)
_E = TypeVar("_E")


class _Probe(msgspec.Struct):
    """Only the ``type`` of a record: every other field is skipped, whatever it holds."""

    type: Any = None


_probe_decoder: Final = msgspec.json.Decoder(_Probe)
_encoder: Final = msgspec.json.Encoder()

#: The largest record accepted, in bytes: the largest valid event (every field
#: at its bound, ids in 4-byte characters) is about half of it; Kafka's default.
MAX_BYTES: Final = 1_048_576
#: The deepest nesting of arrays and objects accepted. A v1 event nests three
#: levels; the rest is headroom for unknown fields of newer producers.
MAX_DEPTH: Final = 64
#: Reasons quote values of the input; a quote is cut to this many characters.
_QUOTE: Final = 200
_BOM: Final = b"\xef\xbb\xbf"
_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS: Final = bytes(b for b in range(256) if b not in b"[]{}")
_STEP: Final = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def encode(event: Event) -> bytes:
    """The canonical JSON of an event: one line, fields in contract order."""
    return _encoder.encode(event)


def decode_input(raw: bytes | str) -> InputEvent:
    """Decode one input event (what producers publish), or raise InvalidEvent."""
    return _decode(_input_decoder, raw, INPUT_TYPES)


def decode_output(raw: bytes | str) -> OutputEvent:
    """Decode one output event (what the engine writes), or raise InvalidEvent."""
    return _decode(_output_decoder, raw, OUTPUT_TYPES)


def decode_event(raw: bytes | str) -> AnyEvent:
    """Decode any event of the contract, input or output, or raise InvalidEvent."""
    return _decode(_any_decoder, raw, INPUT_TYPES | OUTPUT_TYPES)


def _decode(decoder: msgspec.json.Decoder[_E], raw: bytes | str, accepted: frozenset[str]) -> _E:
    data = _screen(raw)
    try:
        return decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidEvent(_explain(data, exc, accepted=accepted)) from None
    except RecursionError:
        raise InvalidEvent(_TOO_DEEP) from None


def decode_inputs(records: Sequence[bytes]) -> list[InputEvent]:
    """Decode stored input events at once: what ``[decode_input(r) for r in records]`` gives.

    For records the codec wrote (a journal's bodies). See :func:`decode_events`.
    """
    if _storable(records):
        try:
            return list(map(_input_decoder.decode, records))
        except (msgspec.DecodeError, RecursionError):
            pass  # one of them is refused: say which, and why, as decode_input does
    return [decode_input(record) for record in records]


def decode_events(records: Sequence[bytes]) -> list[AnyEvent]:
    """Decode stored events, inputs and outputs, at once: ``[decode_event(r) for r in records]``.

    For records the codec wrote: a journal's bodies, canonical JSON. The
    screening of :func:`decode_input` is for bytes from producers and costs
    as much as the decoding itself; here one C-level pass over the batch
    checks the sizes, msgspec refuses a byte order mark or malformed JSON,
    and its recursion guard bounds the nesting. Any refusal sends the whole
    batch through the screened decoder, so the first InvalidEvent, and its
    reason, are the ones record-by-record decoding gives. The one record
    accepted here that :func:`decode_event` refuses is one nested more than
    ``MAX_DEPTH`` levels deep inside fields the contract does not have,
    which the codec never writes.
    """
    if _storable(records):
        try:
            return list(map(_any_decoder.decode, records))
        except (msgspec.DecodeError, RecursionError):
            pass
    return [decode_event(record) for record in records]


def decode_received(records: Sequence[bytes]) -> list[InputEvent | InvalidEvent]:
    """Decode input events as producers sent them, at once: each one's event or refusal.

    For each record, what :func:`decode_input` returns, or the InvalidEvent
    it raises (returned, not raised, so that one bad record leaves the
    others decoded). The screening is done for the whole batch in a few
    C-level passes (sizes, byte order marks, bracket counts); a batch that
    any of them stops, or that holds anything but bytes, is screened record
    by record, as :func:`decode_input` does. A record the decoder refuses is
    decoded again by :func:`decode_input` for its reason, so every refusal
    has the words that decoding it alone gives.
    """
    try:
        screened = (
            max(map(len, records), default=0) <= MAX_BYTES
            and not any(map(bytes.startswith, records, repeat(_BOM)))
            and max(map(add, _counts(records, b"["), _counts(records, b"{")), default=0)
            <= MAX_DEPTH
        )
    except TypeError:  # a record that is not bytes (a tombstone's None): one by one
        screened = False
    decode = _input_decoder.decode if screened else decode_input
    decoded: list[InputEvent | InvalidEvent] = []
    append = decoded.append
    for record in records:
        try:
            append(decode(record))
        except InvalidEvent as exc:
            append(exc)
        except (msgspec.DecodeError, RecursionError):
            append(_refusal(record))
    return decoded


def _refusal(record: bytes) -> InvalidEvent:
    """Why :func:`decode_input` refuses a record that the decoder refused."""
    try:
        decode_input(record)
    except InvalidEvent as exc:
        return exc
    raise AssertionError("the decoder refused what decode_input accepts")  # pragma: no cover


def _counts(records: Sequence[bytes], bracket: bytes) -> Iterator[int]:
    return map(bytes.count, records, repeat(bracket))


def _storable(records: Sequence[bytes]) -> bool:
    """Every record is within the size limit (a length each, in C)."""
    return max(map(len, records), default=0) <= MAX_BYTES


_TOO_DEEP: Final = f"malformed JSON: nested deeper than {MAX_DEPTH} levels"


def _screen(raw: bytes | str) -> bytes:
    """The record as UTF-8 bytes, if it is small and shallow enough to decode.

    Cheap on the usual record: a length, a prefix and two counts. Only a
    record with more brackets than ``MAX_DEPTH`` has its depth measured
    (outside strings), and only a record that passed these checks reaches
    msgspec, whose recursion is bounded by Python's stack.
    """
    if isinstance(raw, str):
        if len(raw) > MAX_BYTES:
            raise InvalidEvent(_too_large(len(raw)))
        try:
            data = raw.encode()
        except UnicodeEncodeError as exc:
            raise InvalidEvent(f"malformed JSON: not UTF-8 ({exc.reason})") from None
    else:
        data = bytes(raw)
    if len(data) > MAX_BYTES:
        raise InvalidEvent(_too_large(len(data)))
    if data.startswith(_BOM):
        raise InvalidEvent(
            "malformed JSON: starts with a UTF-8 byte order mark (BOM); send UTF-8 without it"
        )
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and _depth(data) > MAX_DEPTH:
        raise InvalidEvent(_TOO_DEEP)
    return data


def _too_large(size: int) -> str:
    return f"record of {size:,} bytes is larger than the limit of {MAX_BYTES:,}"


def _depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects, brackets inside strings not counted.

    An unterminated string leaves its brackets in, which can only make a
    record that is malformed anyway look deeper.
    """
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _clip(text: str) -> str:
    return text if len(text) <= _QUOTE else text[:_QUOTE] + "..."


def _explain(raw: bytes, exc: msgspec.DecodeError, accepted: frozenset[str]) -> str:
    """Turn a decoder error into a reason that names the real problem.

    msgspec reports an unknown tag as "Invalid value 'x' - at `$.type`"; say
    instead whether the type is unknown or belongs to the other direction.
    """
    message = _clip_message(str(exc))
    if not isinstance(exc, msgspec.ValidationError):
        return f"malformed JSON: {message}"
    if not message.endswith("at `$.type`"):
        return message
    try:
        kind = _probe_decoder.decode(raw).type
    except msgspec.ValidationError:
        return message
    except msgspec.DecodeError as malformed:
        # The type was refused before the decoder reached the real problem.
        return f"malformed JSON: {_clip_message(str(malformed))}"
    except RecursionError:
        return _TOO_DEEP
    if not isinstance(kind, str):
        return f"`type` must be a string, got {type(kind).__name__}"
    if kind in OUTPUT_TYPES and kind not in accepted:
        return f"event type {kind!r} is written by the engine, not accepted as input"
    if kind not in accepted:
        return (
            f"unknown event type {_clip(repr(kind))}; "
            f"expected one of: {', '.join(sorted(accepted))}"
        )
    return message


def _clip_message(message: str) -> str:
    """A decoder message with any long quoted value cut, its path (`` - at `$...` ``) kept."""
    if len(message) <= 2 * _QUOTE:
        return message
    text, sep, path = message.rpartition(" - at `")
    if not sep:
        return _clip(message)
    return f"{_clip(text)}{sep}{_clip(path)}" + ("" if path.endswith("`") else "`")


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of every event, generated from the Structs."""
    (root,), defs = msgspec.json.schema_components([AnyEvent], ref_template="#/$defs/{name}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Triage events, wire contract v1.1",
        "description": (
            "One event is one JSON object. Unknown fields are ignored. "
            "Input types: " + ", ".join(sorted(INPUT_TYPES)) + ". "
            "Output types (written by the engine): " + ", ".join(sorted(OUTPUT_TYPES)) + "."
        ),
        **root,
        "$defs": defs,
    }
