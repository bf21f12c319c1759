"""The wire format: golden fixtures, invalid input, and the published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import msgspec
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


#: The event types each version of the contract added; a version's fixtures cover all of its own.
NEW_IN_V1_1 = {"task.escalated", "task.extended"}
VERSION_TYPES = {
    "v1.jsonl": (INPUT_TYPES | OUTPUT_TYPES) - NEW_IN_V1_1,
    "v1_1.jsonl": INPUT_TYPES | OUTPUT_TYPES,
}
#: Invalid lines whose rule JSON Schema cannot state (it compares no two fields).
BEYOND_SCHEMA = {"bad-47", "bad-48"}


def test_golden_fixtures_cover_every_event_type() -> None:
    assert sorted(path.name for path in GOLDEN) == sorted(VERSION_TYPES)
    for path in GOLDEN:
        seen = {json.loads(line)["type"] for line in lines(path)}
        assert seen == VERSION_TYPES[path.name], path.name


def test_v1_1_fixtures_use_every_new_field() -> None:
    events_v1_1 = [decode_event(line) for line in lines(HERE / "golden" / "v1_1.jsonl")]
    created = [e for e in events_v1_1 if isinstance(e, events.TaskCreated)]
    for name in ("quality", "experts", "steps", "max_judgements", "agreement"):
        assert any(getattr(e, name) not in (None, ()) for e in created), name
    step_fields = {
        name
        for e in created
        for step in e.steps or ()
        for name in ("skill", "fluency", "education", "quality", "experts")
        if getattr(step, name) is not msgspec.UNSET
    }
    assert step_fields == {"skill", "fluency", "education", "quality", "experts"}
    assert any(isinstance(e, events.TaskSubmitted) and e.answer is not None for e in events_v1_1)
    assert any(isinstance(e, events.TaskAssigned) and e.record is not None for e in events_v1_1)


def test_null_in_v1_1_fields_is_the_same_as_leaving_them_out() -> None:
    line = (
        '{"type":"task.created","id":"n","at":"2026-11-25T09:30:00Z","workspace":"w",'
        '"task":"t","kind":"rate","domain":"stem","language":"en","minutes":5,'
        '"quality":null,"experts":null,"steps":null,"max_judgements":null,"agreement":null}'
    )
    assert encode(decode_input(line)) == (
        b'{"type":"task.created","id":"n","at":"2026-11-25T09:30:00Z","workspace":"w",'
        b'"task":"t","kind":"rate","domain":"stem","language":"en","minutes":5}'
    )


def test_a_v1_assignment_encodes_without_record() -> None:
    (line,) = [line for line in lines(HERE / "golden" / "v1.jsonl") if '"task.assigned"' in line]
    assert b'"record"' not in encode(decode_event(line))


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
    if isinstance(document, dict) and document.get("id") in BEYOND_SCHEMA:
        VALIDATOR.validate(document)  # the codec alone refuses it
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


BOUND_REASONS = {
    "bad-18": "`at` must be written with a year from 2000 to 2099, got 1999-12-31",
    "bad-19": "`at` must be written with a year from 2000 to 2099, got 2100-01-01",
    "bad-20": "`at` must be written with a year from 2000 to 2099, got 9999-12-31",
    "bad-21": "`due` must be written with a year from 2000 to 2099, got 0001-01-01",
    "bad-22": "Expected `float` <= 168.0 - at `$.weekly_hours`",
    "bad-23": "Expected `float` <= 168.0 - at `$.weekly_hours`",
    "bad-24": "Expected `int` <= 100 - at `$.concurrency`",
    "bad-25": "Expected `int` <= 10080 - at `$.minutes`",
    "bad-26": "Expected `int` <= 100 - at `$.judgements`",
    "bad-27": "Expected `int` <= 604800 - at `$.seconds`",
    "bad-28": "Expected `int` <= 604800 - at `$.seconds`",
    "bad-29": "Number out of range - at `$.score`",
    "bad-30": "Expected `str` of length >= 1 - at `$.task`",
    "bad-31": "Expected `str` of length <= 128 - at `$.expert`",
    "bad-32": "Expected `str` of length <= 2048 - at `$.ref`",
    "bad-33": "Expected `array` of length <= 1000 - at `$.exclude`",
    "bad-34": "Expected `array` of length <= 32 - at `$.errors`",
    "bad-35": "Expected `str` of length >= 1 - at `$.errors[0]`",
    "bad-36": "Expected `str` of length <= 35 - at `$.language`",
    "bad-37": "Expected `object` of length <= 50 - at `$.domains`",
    "bad-38": "Expected `object` of length <= 20 - at `$.languages`",
    "bad-39": "Expected `str` of length <= 2048 - at `$.reason`",
    "bad-40": "Expected `float` <= 1.0 - at `$.quality`",
    "bad-41": "Expected `int` >= 1 - at `$.steps[0].after_minutes`",
    "bad-42": "Expected `int`, got `null` - at `$.steps[0].skill`",
    "bad-43": "Expected `array`, got `null` - at `$.steps[0].experts`",
    "bad-44": "Object missing required field `after_minutes` - at `$.steps[0]`",
    "bad-45": "Invalid enum value 'D1' - at `$.steps[0].fluency`",
    "bad-46": "Expected `float` >= 0.0 - at `$.steps[0].quality`",
    "bad-47": "`max_judgements` (2) must not be below `judgements` (3)",
    "bad-48": "`after_minutes` of step 2 (60) must be greater than that of the step before (60)",
    "bad-49": "Expected `float` <= 1.0 - at `$.agreement`",
    "bad-50": "Expected `int` <= 100 - at `$.max_judgements`",
    "bad-51": "Expected `int` <= 525600 - at `$.steps[0].after_minutes`",
    "bad-52": "Expected `str` of length >= 1 - at `$.answer`",
    "bad-53": "Expected `str` of length <= 64 - at `$.answer`",
    "bad-54": "event type 'task.escalated' is written by the engine, not accepted as input",
}
BOUND_LINES = {
    line.split('"id":"', 1)[1].split('"', 1)[0]: line for line in INVALID_LINES if '"id":"' in line
}


@pytest.mark.parametrize(("event_id", "reason"), sorted(BOUND_REASONS.items()))
def test_values_out_of_their_bounds_are_refused_naming_the_field(
    event_id: str, reason: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode_input(BOUND_LINES[event_id])
    assert caught.value.reason.startswith(reason)


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


def test_the_batch_decoders_give_what_decoding_one_by_one_gives() -> None:
    records = [line.encode() for _, _, line in GOLDEN_LINES]
    assert events.decode_events(records) == [decode_event(raw) for raw in records]
    inputs = [raw for raw in records if decode_event(raw).__struct_config__.tag in INPUT_TYPES]
    assert events.decode_inputs(inputs) == [decode_input(raw) for raw in inputs]
    assert events.decode_events([]) == events.decode_inputs([]) == []


def test_received_records_decode_in_a_batch_as_one_by_one() -> None:
    def one(raw: bytes) -> object:
        try:
            return decode_input(raw)
        except InvalidEvent as exc:
            return exc.reason

    valid = [raw.encode() for _, _, raw in GOLDEN_LINES]
    inputs = [raw for raw in valid if decode_event(raw).__struct_config__.tag in INPUT_TYPES]
    batch = [*inputs, *(line.encode() for line in INVALID_LINES), *valid]
    got = [r.reason if isinstance(r, InvalidEvent) else r for r in events.decode_received(batch)]
    assert got == [one(raw) for raw in batch]
    assert events.decode_received([]) == []


@pytest.mark.parametrize("line", INVALID_LINES)
def test_the_batch_decoders_refuse_as_decoding_one_by_one_does(line: str) -> None:
    valid = [raw.encode() for _, _, raw in GOLDEN_LINES[:3]]
    batch = [*valid, line.encode(), *valid]
    with pytest.raises(InvalidEvent) as one:
        decode_input(line)
    with pytest.raises(InvalidEvent) as many:
        events.decode_inputs(batch)
    assert many.value.reason == one.value.reason
    with pytest.raises(InvalidEvent) as one:
        decode_event(line)
    with pytest.raises(InvalidEvent) as many:
        events.decode_events(batch)
    assert many.value.reason == one.value.reason


def test_a_tasks_language_is_refused_as_msgspec_refuses_a_pattern() -> None:
    class Tagged(msgspec.Struct):
        language: events._model.LanguageTag  # the pattern as msgspec checks it

    task = (
        '{"type":"task.created","id":"x","at":"1999-11-25T09:30:00Z","workspace":"w",'
        '"task":"t","kind":"k","domain":"d","minutes":30,"language":%s}'
    )
    for tag in ("e", "en-", "toolongtag", "en_GB", "", "en\\n", "pt-BR", "en", "x" * 36):
        try:
            msgspec.json.decode(f'{{"language":"{tag}"}}', type=Tagged)
            expected = None
        except msgspec.ValidationError as exc:
            expected = str(exc)
        with pytest.raises(InvalidEvent) as caught:
            decode_input(task % f'"{tag}"')  # 1999: a valid tag is refused for its year
        if expected is None:
            assert caught.value.reason.startswith("`at` must be written with a year")
        else:
            assert caught.value.reason == expected
    assert SCHEMA["$defs"]["TaskCreated"]["properties"]["language"] == {
        "type": "string",
        "maxLength": 35,
        "pattern": events._model._LANGUAGE_PATTERN,
        "description": events._model._LANGUAGE_DESCRIPTION,
    }
