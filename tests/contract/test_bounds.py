"""Bounds of the decoder: pathological records and extreme values are dead letters, never crashes.

The examples pin the reasons; the hypothesis tests check the class: any
line built from a valid event with some fields replaced by extreme values
(ints beyond int64, floats at and past the double range, -0.0, timestamps at
years 1 and 9999 with any offset, empty and huge strings, big collections)
is either refused with ``InvalidEvent`` or folds through the engine and the
projections (``tests/robustness.py``).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_BYTES,
    MAX_DEPTH,
    ClockTick,
    InvalidEvent,
    decode_event,
    decode_events,
    decode_input,
    decode_inputs,
    decode_output,
    decode_received,
)
from tests.robustness import fold_lines
from triage.embedded import Journal, ingest_lines

HERE = Path(__file__).parent
GOLDEN = (HERE / "golden" / "v1.jsonl").read_text().splitlines()
TICK = '{"type":"clock.tick","id":"k","at":"2026-11-25T09:30:00Z","workspace":"w"'


def tick_with(field: str) -> bytes:
    return f'{TICK},"x":{field}}}'.encode()


DEEP = 100_000
PATHOLOGICAL = [
    pytest.param(b"[" * DEEP, "nested deeper than 64 levels", id="open-brackets"),
    pytest.param(b"[" * DEEP + b"]" * DEEP, "nested deeper than 64 levels", id="deep-array"),
    pytest.param(tick_with("[" * DEEP + "]" * DEEP), "nested deeper", id="deep-unknown-field"),
    pytest.param(tick_with("[" * DEEP), "nested deeper", id="deep-unclosed-field"),
    pytest.param(tick_with('{"a":' * DEEP + "1" + "}" * DEEP), "nested deeper", id="deep-objects"),
    pytest.param(
        ('{"x":' + "[" * DEEP + "]" * DEEP + ',"type":"clock.tick"}').encode(),
        "nested deeper",
        id="deep-before-type",
    ),
    pytest.param(
        tick_with("[" * MAX_DEPTH + "]" * MAX_DEPTH), "nested deeper", id="one-level-too-deep"
    ),
    pytest.param(
        f'{TICK},"x":"{"a" * 10_000_000}"}}'.encode(),
        "larger than the limit of 1,048,576",
        id="10MB-string",
    ),
    pytest.param(b"\xef\xbb\xbf" + TICK.encode() + b"}", "byte order mark (BOM)", id="bom"),
    pytest.param(TICK.replace('"k"', '"k\xff"').encode("latin-1") + b"}", "UTF-8", id="latin-1"),
    pytest.param(b'{"type":"clock.tick","id":"\xed\xa0\x80"}', "UTF-8", id="utf8-surrogate"),
    pytest.param(TICK.replace('"k"', '"\ud800"') + "}", "not UTF-8", id="str-surrogate"),
    pytest.param(
        TICK.replace('"at":"2026-11-25T09:30:00Z"', '"at":1e999') + "}",
        "at `$.at`",
        id="huge-number",
    ),
    pytest.param(
        '{"type":"task.created","id":"' + "t" * 1_000_000 + '"}',
        "length <= 128",
        id="1MB-id",
    ),
    pytest.param(
        '{"type":"' + "x" * 1_000_000 + '"}',
        "unknown event type 'xxxx",
        id="1MB-type",
    ),
]


@pytest.mark.parametrize(("raw", "reason"), PATHOLOGICAL)
def test_pathological_records_are_dead_letters_with_a_reason(raw: bytes | str, reason: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode_input(raw)
    assert reason in caught.value.reason
    # The other decoders refuse it too, if need be for another reason (an input type).
    for decode in (decode_input, decode_output, decode_event):
        with pytest.raises(InvalidEvent) as caught:
            decode(raw)
        assert 0 < len(caught.value.reason) < 1_000


#: Stored records are bytes; one nested within msgspec's recursion guard is the next test's.
STORED_PATHOLOGICAL = [
    p for p in PATHOLOGICAL if p.id not in {"str-surrogate", "one-level-too-deep"}
]


@pytest.mark.parametrize(("raw", "reason"), STORED_PATHOLOGICAL)
def test_the_batch_decoders_refuse_pathological_records_with_the_same_reason(
    raw: bytes | str, reason: str
) -> None:
    record = raw.encode() if isinstance(raw, str) else raw
    valid = TICK.encode() + b"}"
    for decode, batch in ((decode_input, decode_inputs), (decode_event, decode_events)):
        with pytest.raises(InvalidEvent) as one:
            decode(record)
        with pytest.raises(InvalidEvent) as many:
            batch([valid, record, valid])
        assert many.value.reason == one.value.reason


@pytest.mark.parametrize(("raw", "reason"), STORED_PATHOLOGICAL)
def test_received_records_are_refused_in_a_batch_as_one_by_one(
    raw: bytes | str, reason: str
) -> None:
    record = raw.encode() if isinstance(raw, str) else raw
    valid = TICK.encode() + b"}"
    with pytest.raises(InvalidEvent) as one:
        decode_input(record)
    first, refused, last = decode_received([valid, record, valid])
    assert isinstance(refused, InvalidEvent) and refused.reason == one.value.reason
    assert first == last == decode_input(valid)


def test_received_records_nested_a_level_too_deep_are_refused_in_a_batch() -> None:
    # Unlike the stored records' decoders, this one counts brackets, as decode_input does.
    shallow = tick_with("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    (refused,) = decode_received([shallow])
    assert isinstance(refused, InvalidEvent) and "nested deeper" in refused.reason


def test_the_batch_decoders_leave_shallow_nesting_in_unknown_fields_to_msgspec() -> None:
    # The documented difference: stored records are the codec's own, canonical,
    # so the batch decoders do not count brackets; msgspec's recursion guard
    # still refuses what would exhaust the stack, with the screened reason.
    shallow = tick_with("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    with pytest.raises(InvalidEvent, match="nested deeper"):
        decode_event(shallow)
    assert decode_events([shallow]) == [decode_event(TICK.encode() + b"}")]
    deep = tick_with("[" * DEEP + "]" * DEEP)
    with pytest.raises(InvalidEvent, match="nested deeper"):
        decode_events([deep])


def test_nesting_up_to_the_limit_is_accepted_in_unknown_fields() -> None:
    # The event object itself is one level.
    depth = MAX_DEPTH - 1
    event = decode_input(tick_with("[" * depth + "]" * depth))
    assert isinstance(event, ClockTick)
    with pytest.raises(InvalidEvent, match="nested deeper"):
        decode_input(tick_with("[" * (depth + 1) + "]" * (depth + 1)))


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps("[{" * 1_000 + '\\"[')
    assert isinstance(decode_input(tick_with(text)), ClockTick)


def test_numbers_beyond_the_double_range_in_unknown_fields_are_skipped() -> None:
    assert isinstance(decode_input(tick_with("1e999")), ClockTick)
    assert isinstance(decode_input(tick_with("-" + "9" * 5_000)), ClockTick)


def test_the_verdict_does_not_depend_on_the_callers_stack() -> None:
    raw = tick_with("[" * MAX_DEPTH + "]" * MAX_DEPTH)

    def deep(n: int) -> str:
        if n:
            return deep(n - 1)
        try:
            decode_input(raw)
        except InvalidEvent as exc:
            return exc.reason
        return "accepted"

    limit = sys.getrecursionlimit()
    assert deep(limit - 200) == deep(0) == "malformed JSON: nested deeper than 64 levels"


def test_limits_are_what_the_docs_say() -> None:
    assert (MAX_BYTES, MAX_DEPTH, FIRST_YEAR, LAST_YEAR) == (1_048_576, 64, 2000, 2099)
    docs = (HERE.parent.parent / "docs" / "events.md").read_text()
    for text in ("1,048,576 bytes", "64 levels", "2000", "2099"):
        assert text in docs


@pytest.mark.parametrize(
    "at",
    [
        "2000-01-01T00:00:00Z",
        "2000-01-01T00:00:00+23:59",
        "2099-12-31T23:59:59.999999-23:59",
        "2026-11-25T09:30:00.250+07:00",
    ],
)
def test_timestamps_at_the_ends_of_the_range_are_accepted(at: str) -> None:
    line = TICK.replace("2026-11-25T09:30:00Z", at) + "}"
    assert fold_lines([line]).accepted == 1


def test_a_far_future_tick_then_a_task_with_the_longest_lease_folds() -> None:
    # The example of the issue: the clock at the end of the range, then a lease of a week.
    lines = [
        '{"type":"expert.profile","id":"p","at":"2026-11-25T09:30:00Z","workspace":"w",'
        '"expert":"ana","domains":{"stem":5},"languages":{"en":"native"},'
        '"education":"doctorate","weekly_hours":168,"concurrency":100}',
        '{"type":"expert.status","id":"s","at":"2026-11-25T09:30:00Z","workspace":"w",'
        '"expert":"ana","status":"available"}',
        '{"type":"clock.tick","id":"k","at":"2099-12-31T23:59:59.999999-23:59","workspace":"w"}',
        '{"type":"task.created","id":"t","at":"2026-11-25T09:30:00Z","workspace":"w",'
        '"task":"t","kind":"write","domain":"stem","language":"en","minutes":10080}',
    ]
    assert fold_lines(lines).outputs == 1


def test_ingest_keeps_the_valid_lines_around_a_pathological_one(tmp_path: Path) -> None:
    good = [line.encode() for line in GOLDEN[:3]]
    bad = [b"[" * DEEP, tick_with("[" * DEEP), b"\xef\xbb\xbf" + good[0], b'{"x":"\xff"}']
    with Journal(tmp_path / "log.db") as journal:
        ingested = ingest_lines(journal, [good[0], *bad, good[1], good[2]], "test")
        letters = list(journal.dead_letters())
    assert (ingested.accepted, ingested.dead_lettered) == (3, 4)
    assert [letter.location for letter in letters] == ["line 2", "line 3", "line 4", "line 5"]
    assert all(letter.error for letter in letters)


# --- the class: extreme values in every field ---------------------------------------

BIG = 2**63
EXTREME_INTS = st.one_of(
    st.integers(),
    st.sampled_from(
        [0, -1, 1, 5, 6, 100, 101, 168, 169, 10_080, 10_081, 604_800, 604_801, BIG - 1, BIG]
    ),
    st.sampled_from([-BIG, 2**64, 10**30, -(10**30)]),
)
EXTREME_FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 5e-324, 1e-300, 1 / 120, 0.999999, 1.0, 168.0, 168.000001]),
    st.sampled_from([1e308, -1e308, 1.7976931348623157e308]),
)
#: Numbers JSON can spell but a double cannot hold, and tokens JSON does not allow.
RAW_NUMBERS = st.sampled_from(
    ["1e999", "-1e999", "1e-999", "NaN", "Infinity", "-Infinity", "1" * 400, "-0", "0e0", "1E+2"]
)
OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
DATETIMES = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS),
    st.datetimes(
        min_value=datetime(1999, 12, 30), max_value=datetime(2000, 1, 2), timezones=OFFSETS
    ),
    st.datetimes(
        min_value=datetime(2099, 12, 30), max_value=datetime(2100, 1, 2), timezones=OFFSETS
    ),
).map(lambda at: at.isoformat())
RAW_TIMESTAMPS = st.sampled_from(
    [
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.9999999-23:59",
        "9999-12-31T23:59:59Z",
        "2099-12-31T23:59:59.9999999Z",
        "1999-12-31T23:59:59.9999999Z",
        "2026-02-30T00:00:00Z",
        "2026-11-25T24:00:00Z",
        "2026-11-25T09:30:00",
    ]
)
STRINGS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "a" * 128, "a" * 129, "r" * 2_048, "r" * 2_049, "x" * 200_000]),
    st.sampled_from(["\x00", "\u2028", "\U0001f600" * 40, "\\", '"', "'" * 300]),
)
SCALARS = st.one_of(EXTREME_INTS, EXTREME_FLOATS, STRINGS, DATETIMES, st.booleans(), st.none())
COLLECTIONS = st.one_of(
    st.lists(SCALARS, max_size=5),
    st.dictionaries(STRINGS, SCALARS, max_size=5),
    st.integers(min_value=0, max_value=3_000).map(lambda n: [f"x{i}" for i in range(n)]),
    st.integers(min_value=0, max_value=200).map(lambda n: {f"d{i}": 1 for i in range(n)}),
    st.integers(min_value=0, max_value=40).map(
        lambda n: {f"a{i:c}": "C1" for i in range(97, 97 + n)}
    ),
)
RAW = "\x00raw:"


def value_like(value: object) -> st.SearchStrategy[Any]:
    """Extreme values of the same JSON kind as ``value``, and sometimes of any kind."""
    if isinstance(value, bool):
        same: st.SearchStrategy[Any] = st.booleans()
    elif isinstance(value, int):
        same = EXTREME_INTS | RAW_NUMBERS.map(lambda raw: RAW + raw)
    elif isinstance(value, float):
        same = EXTREME_FLOATS | RAW_NUMBERS.map(lambda raw: RAW + raw)
    elif isinstance(value, str) and value[:2] == "20" and "T" in value:
        same = DATETIMES | RAW_TIMESTAMPS
    elif isinstance(value, str):
        same = STRINGS
    else:
        same = COLLECTIONS
    return st.one_of(same, same, same, same, SCALARS, COLLECTIONS)


def to_line(document: dict[str, Any]) -> str:
    """JSON of the document, with ``RAW`` strings written as the raw token they carry."""
    line = json.dumps(document, ensure_ascii=False)
    while RAW in line:
        start = line.index('"' + RAW)
        end = line.index('"', start + 1)
        line = line[:start] + line[start + 1 + len(RAW) : end] + line[end + 1 :]
    return line


INPUT_LINES = [json.loads(line) for line in GOLDEN if not json.loads(line).get("cause")]


@st.composite
def extreme_lines(draw: st.DrawFn) -> str:
    """A golden input event with one to four of its fields (or a new one) made extreme."""
    document = dict(draw(st.sampled_from(INPUT_LINES)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        key = draw(st.sampled_from([*document, "weekly_hours", "due", "concurrency", "judgements"]))
        if key == "type" and draw(st.integers(min_value=0, max_value=9)):
            continue
        document[key] = draw(value_like(document.get(key, 0)))
    return to_line(document)


@given(st.lists(extreme_lines(), min_size=1, max_size=8))
def test_extreme_values_are_refused_or_fold_through_engine_and_projections(
    lines: list[str],
) -> None:
    # The golden story first, so that extreme events meet experts, tasks and leases.
    story = [line for line in GOLDEN if not json.loads(line).get("cause")]
    fold_lines([*story, *lines, *story])


@given(DATETIMES | RAW_TIMESTAMPS)
def test_any_timestamp_is_refused_or_within_the_documented_years(at: str) -> None:
    line = TICK.replace("2026-11-25T09:30:00Z", at) + "}"
    try:
        event = decode_input(line)
    except InvalidEvent as exc:
        assert "at" in exc.reason
        return
    assert FIRST_YEAR <= event.at.year <= LAST_YEAR
    assert datetime(1999, 12, 31, tzinfo=UTC) < event.at < datetime(2100, 1, 2, tzinfo=UTC)
    assert fold_lines([line]).accepted == 1
