"""The wire format: golden fixtures, invalid input, and the published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import events
from events import (
    INPUT_TYPES,
    OUTPUT_TYPES,
    InvalidEvent,
    decode_event,
    decode_input,
    encode,
    type_name,
)

HERE = Path(__file__).parent
GOLDEN = sorted((HERE / "golden").glob("v*.jsonl"))
ROOT = HERE.parent.parent


def lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()]


GOLDEN_LINES = [(path.name, n, line) for path in GOLDEN for n, line in enumerate(lines(path), 1)]
INVALID_LINES = lines(HERE / "invalid.jsonl")
SCHEMA = json.loads(json.dumps(events.json_schema()))
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def test_golden_fixtures_cover_every_event_type() -> None:
    for path in GOLDEN:
        seen = {json.loads(line)["type"] for line in lines(path)}
        assert seen == INPUT_TYPES | OUTPUT_TYPES, path.name


@pytest.mark.parametrize(("name", "n", "line"), GOLDEN_LINES, ids=lambda v: str(v)[:40])
def test_golden_event_decodes_and_encodes_stably(name: str, n: int, line: str) -> None:
    event = decode_event(line)
    assert type_name(event) == json.loads(line)["type"]
    canonical = encode(event)
    assert encode(decode_event(canonical)) == canonical
    # The canonical form says the same as the fixture, defaults filled in or left out.
    original = json.loads(line)
    for key, value in json.loads(canonical).items():
        if key in original and key not in ("at", "due", "lease_until"):
            assert original[key] == value, (name, n, key)


@pytest.mark.parametrize(("name", "n", "line"), GOLDEN_LINES, ids=lambda v: str(v)[:40])
def test_golden_event_matches_the_published_schema(name: str, n: int, line: str) -> None:
    VALIDATOR.validate(json.loads(line))


@pytest.mark.parametrize("line", INVALID_LINES)
def test_invalid_input_is_refused_with_a_reason(line: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode_input(line)
    assert caught.value.reason
    try:
        document = json.loads(line)
    except json.JSONDecodeError:
        return
    # The schema agrees with the codec, except for the engine's output types,
    # which the schema describes but input does not accept.
    if isinstance(document, dict) and document.get("type") in OUTPUT_TYPES and len(document) > 4:
        return
    assert not VALIDATOR.is_valid(document)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"type":"task.created"', "malformed JSON"),
        ('{"type":"task.exploded","id":"x"}', "unknown event type 'task.exploded'"),
        ('{"type":"task.assigned","id":"x"}', "written by the engine"),
        (INVALID_LINES[10], "Expected `int`, got `str` - at `$.minutes`"),
        (INVALID_LINES[8], "timezone"),
        (INVALID_LINES[-1], "missing required field `expert`"),
    ],
)
def test_reasons_name_the_problem(line: str, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=None) as caught:
        decode_input(line)
    assert reason in caught.value.reason


def test_unknown_fields_are_ignored() -> None:
    line = (
        '{"type":"clock.tick","id":"k","at":"2026-11-25T09:30:00Z","workspace":"w","new":{"x":1}}'
    )
    assert encode(decode_input(line)) == (
        b'{"type":"clock.tick","id":"k","at":"2026-11-25T09:30:00Z","workspace":"w"}'
    )


def test_offsets_and_fractions_of_seconds_survive() -> None:
    line = '{"type":"clock.tick","id":"k","at":"2026-11-25T09:30:00.250+07:00","workspace":"w"}'
    assert b'"at":"2026-11-25T09:30:00.250000+07:00"' in encode(decode_input(line))


def test_published_schema_is_generated_from_the_code() -> None:
    published = json.loads((ROOT / "docs" / "schema" / "events.v1.json").read_text())
    assert published == SCHEMA, "run: triage schema > docs/schema/events.v1.json"
