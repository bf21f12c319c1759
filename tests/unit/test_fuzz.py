"""A seeded fuzzer over the golden lines: whatever it makes is a dead letter or folds cleanly.

Deterministic (``random.Random(seed)``), so a failure is replayed by its
seed. Each fuzzed line is a golden line (tests/contract/golden/v1.jsonl)
with one to three mutations: byte flips, inserted and deleted bytes,
truncation, deep nesting, extreme numbers, timestamps and strings in place
of the ones it had, a byte order mark, bytes that are not UTF-8. The fuzzed
lines go, mixed with the golden story, through ``tests/robustness.py``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from events import InvalidEvent, decode_input
from tests.robustness import fold_lines

GOLDEN = (Path(__file__).parent.parent / "contract" / "golden" / "v1.jsonl").read_bytes()
LINES = [line for line in GOLDEN.splitlines() if line.strip()]
STORY = [line for line in LINES if b'"cause"' not in line]

NUMBER = re.compile(rb"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
VALUE = re.compile(rb'(?<=:)"(?:[^"\\]|\\.)*"')
TIMESTAMP = re.compile(rb'"\d{4}-\d{2}-\d{2}T[^"]*"')

EXTREME_NUMBERS = [
    b"0", b"-0", b"-0.0", b"1", b"-1", b"5", b"6", b"100", b"101", b"168", b"168.0000001",
    b"10080", b"10081", b"604800", b"604801", b"9223372036854775807", b"9223372036854775808",
    b"-9223372036854775809", b"18446744073709551616", b"1" * 300, b"1e308",
    b"1.7976931348623157e308", b"1e309", b"1e999", b"-1e999", b"5e-324", b"1e-400", b"NaN",
    b"Infinity", b"0.1e1", b"1E2",
]  # fmt: skip
EXTREME_TIMESTAMPS = [
    b'"0001-01-01T00:00:00+14:00"', b'"0001-01-01T00:00:00Z"', b'"9999-12-31T23:59:59-23:59"',
    b'"9999-12-31T23:59:59.9999999Z"', b'"1999-12-31T23:59:59Z"', b'"2000-01-01T00:00:00+23:59"',
    b'"2099-12-31T23:59:59.999999-23:59"', b'"2100-01-01T00:00:00Z"', b'"2026-02-29T00:00:00Z"',
    b'"2026-11-25T09:30:00+24:00"', b'"2026-11-25T09:30:60Z"', b'"2026-11-25T09:30:00"',
]  # fmt: skip
EXTREME_STRINGS = [
    b'""', b'"' + b"a" * 128 + b'"', b'"' + b"a" * 129 + b'"', b'"' + b"r" * 2_049 + b'"',
    b'"' + b"x" * 300_000 + b'"', b'"\\u0000"', b'"\\ud800"', b'"\\udc00\\ud800"', b'"\xff\xfe"',
    b'"\xed\xa0\x80"', b'"\\"', b'"' + "😀".encode() * 50 + b'"', b"null", b"[]", b"{}",
]  # fmt: skip


def flip(rng: random.Random, line: bytes) -> bytes:
    at = rng.randrange(len(line))
    return line[:at] + bytes([rng.randrange(256)]) + line[at + 1 :]


def insert(rng: random.Random, line: bytes) -> bytes:
    at = rng.randrange(len(line) + 1)
    return line[:at] + bytes([rng.choice(b'{}[]",:\\0e-.')]) + line[at:]


def delete(rng: random.Random, line: bytes) -> bytes:
    at = rng.randrange(len(line))
    return line[:at] + line[at + rng.randint(1, 8) :]


def truncate(rng: random.Random, line: bytes) -> bytes:
    return line[: rng.randrange(len(line))]


def nest(rng: random.Random, line: bytes) -> bytes:
    depth = rng.choice([2, 10, 62, 63, 64, 65, 1_000, 100_000])
    value = rng.choice([b"1", b'"x"', b"{}", b""])
    closed = rng.random() < 0.8
    nested = b"[" * depth + value + (b"]" * depth if closed else b"")
    where = rng.choice(["field", "value", "whole"])
    if where == "whole":
        return nested
    if where == "field":
        return line[:-1] + b',"extra":' + nested + b"}"
    return _replace_one(rng, VALUE, line, nested)


def number(rng: random.Random, line: bytes) -> bytes:
    return _replace_one(rng, NUMBER, line, rng.choice(EXTREME_NUMBERS))


def timestamp(rng: random.Random, line: bytes) -> bytes:
    return _replace_one(rng, TIMESTAMP, line, rng.choice(EXTREME_TIMESTAMPS))


def string(rng: random.Random, line: bytes) -> bytes:
    pattern = STRING if rng.random() < 0.1 else VALUE
    return _replace_one(rng, pattern, line, rng.choice(EXTREME_STRINGS + EXTREME_NUMBERS))


def field(rng: random.Random, line: bytes) -> bytes:
    """A field the contract bounds, with a value at or just past a bound."""
    name = rng.choice(list(EDGES))
    return line[:-1] + b',"' + name + b'":' + rng.choice(EDGES[name]) + b"}"


EDGES = {
    b"weekly_hours": [b"5e-324", b"0.0083", b"168", b"168.0000001", b"1e308"],
    b"concurrency": [b"1", b"100", b"101", b"9223372036854775808"],
    b"minutes": [b"1", b"10080", b"10081", b"-1"],
    b"judgements": [b"1", b"100", b"101"],
    b"priority": [b"0", b"100", b"101", b"-0"],
    b"seconds": [b"0", b"604800", b"604801", b"18446744073709551616"],
    b"score": [b"0", b"-0.0", b"1", b"1.0000001", b"5e-324", b"1e999"],
    b"due": EXTREME_TIMESTAMPS,
    b"exclude": [b'["' + b'","'.join(b"x%d" % n for n in range(k)) + b'"]' for k in (1, 1000)],
    b"errors": [b'["' + b'","'.join(b"e%d" % n for n in range(k)) + b'"]' for k in (32, 33)],
}


def wrap(rng: random.Random, line: bytes) -> bytes:
    return rng.choice([b"\xef\xbb\xbf", b"\xff", b" ", b"\x00", b"[", b"{"]) + line


def _replace_one(rng: random.Random, pattern: re.Pattern[bytes], line: bytes, new: bytes) -> bytes:
    found = list(pattern.finditer(line))
    if not found:
        return line
    match = rng.choice(found)
    return line[: match.start()] + new + line[match.end() :]


MUTATIONS: list[Callable[[random.Random, bytes], bytes]] = [
    flip, insert, delete, truncate, nest, number, number, timestamp, timestamp, string, string,
    wrap, field, field, field,
]  # fmt: skip


def fuzzed(seed: int, count: int) -> list[bytes]:
    """``count`` fuzzed lines, the same for the same seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        line = rng.choice(STORY if rng.random() < 0.8 else LINES)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            if line:
                line = rng.choice(MUTATIONS)(rng, line)
        out.append(line)
    return out


def test_the_fuzzer_is_deterministic() -> None:
    assert fuzzed(7, 50) == fuzzed(7, 50)
    assert fuzzed(7, 50) != fuzzed(8, 50)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fuzzed_golden_lines_are_dead_letters_or_fold_cleanly(seed: int) -> None:
    lines = fuzzed(seed, 1_000)
    stream: list[bytes] = []
    for at in range(0, len(lines), 100):
        stream += STORY + lines[at : at + 100]
    folded = fold_lines(stream)
    # The fuzzer must reach both sides: some mutations stay valid, most do not.
    assert folded.refused > 300
    assert folded.accepted - len(STORY) * 10 > 100


def test_every_refusal_of_the_fuzzer_has_a_reason() -> None:
    reasons = set()
    for line in fuzzed(4, 500):
        try:
            decode_input(line)
        except InvalidEvent as exc:
            reasons.add(exc.reason.split(" - ")[0][:30])
    assert len(reasons) > 20
