"""The pure part of ``triage deadletters``: filters, retry files and their checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from events import InputEvent
from triage._dead_letters import (
    Kept,
    Retry,
    check_corrections,
    matches,
    read_corrections,
    stamp,
)
from triage.cli._deadletters import _hexdump, letter_json, printable

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TICK = b'{"type":"clock.tick","id":"t1","at":"2026-11-25T09:30:00Z","workspace":"acme"}'


def letter(
    letter_id: str = "1",
    *,
    error: str = "Expected `int` <= 100 - at `$.priority`",
    received: datetime | None = T0,
    retries: tuple[Retry, ...] = (),
) -> Kept:
    return Kept(
        id=letter_id,
        received=received,
        source="ingest:bad.jsonl",
        location="line 3",
        error=error,
        raw=b"{}",
        retries=retries,
    )


RETRY = Retry(event="t1", workspace="acme", at=T0 + timedelta(hours=1))


def test_status_is_open_until_a_retry_is_marked() -> None:
    assert letter().status == "open"
    assert letter(retries=(RETRY,)).status == "retried"


def test_filters_by_status_reason_and_receive_time() -> None:
    open_, retried = letter(), letter("2", retries=(RETRY,))
    assert matches(open_, status="open") and not matches(retried, status="open")
    assert matches(retried, status="retried") and not matches(open_, status="retried")
    assert matches(open_, status="all") and matches(retried, status="all")
    assert matches(open_, reason="PRIORITY") and not matches(open_, reason="malformed")
    assert matches(open_, since=T0, until=T0)
    assert not matches(open_, since=T0 + timedelta(microseconds=1))
    assert not matches(open_, until=T0 - timedelta(microseconds=1))
    assert matches(letter(received=None))
    assert not matches(letter(received=None), since=T0 - timedelta(days=1))


def test_a_retry_file_is_read_line_by_line() -> None:
    corrections, problems = read_corrections(
        [
            b'{"dead_letter": "7", "event": ' + TICK + b"}\n",
            b"\n",
            b'{"dead_letter": 8, "event": {"type": "clock.tick"}}\n',
            b'{"dead_letter": "9"}\n',
            b"not json\n",
            b'{"dead_letter": "9", "event": {}, "extra": 1}\n',
        ]
    )
    first, second = corrections
    assert (first.line, first.dead_letter, first.raw) == (1, "7", TICK)
    assert isinstance(first.event, InputEvent.__args__)  # type: ignore[attr-defined]
    assert (second.line, second.dead_letter, second.event) == (3, "8", None)
    assert "missing required field `id`" in second.invalid
    assert [p.split(":")[0] for p in problems] == ["line 4", "line 5", "line 6"]
    assert all('{"dead_letter": "ID", "event": {...}}' in p for p in problems)


def test_corrections_are_refused_with_a_reason_each() -> None:
    lines = [
        b'{"dead_letter": "1", "event": ' + TICK + b"}",
        b'{"dead_letter": "2", "event": ' + TICK + b"}",
        b'{"dead_letter": "3", "event": {"type": "clock.tick"}}',
        b'{"dead_letter": "1", "event": ' + TICK + b"}",
        b'{"dead_letter": "4", "event": ' + TICK + b"}",
    ]
    corrections, _ = read_corrections(lines)
    letters = {"1": letter("1"), "2": letter("2", retries=(RETRY,)), "3": letter("3"), "4": None}
    problems = check_corrections(corrections, letters, again=False)
    assert problems[0].startswith("line 2 (dead letter 2): already retried by event t1 at ")
    assert problems[0].endswith("; pass --again to retry it again")
    assert problems[1].startswith("line 3 (dead letter 3): the corrected event is invalid: ")
    assert problems[2] == "line 4 (dead letter 1): the dead letter is corrected already on line 1"
    assert problems[3] == "line 5 (dead letter 4): no such dead letter"
    assert len(problems) == 4
    again = check_corrections(corrections[:2], letters, again=True)
    assert again == []


def test_the_clock_guard_refuses_a_corrected_event_as_ingest_does() -> None:
    corrections, _ = read_corrections([b'{"dead_letter": "1", "event": ' + TICK + b"}"])
    problems = check_corrections(
        corrections, {"1": letter()}, again=False, refuse=lambda event: f"{event.id} is late"
    )
    assert problems == ["line 1 (dead letter 1): the corrected event is refused: t1 is late"]


def test_raw_bytes_and_text_are_printed_safely() -> None:
    assert printable("plain text") == "plain text"
    assert printable("a\x1b[31mred\x07\n") == "a\\x1b[31mred\\x07\\n"
    rows = _hexdump(b"\xff\xfeAB" + bytes(range(16)))
    assert rows[0].startswith("00000000  ff fe 41 42 00 01")
    assert rows[0].endswith("  ..AB............")
    assert rows[1].startswith("00000010  0c 0d 0e 0f")
    body = letter_json(Kept(**{**_fields(letter()), "raw": b"\xff"}), raw=True)
    assert (body["raw"], body["raw_base64"], body["size"]) == (None, "/w==", 1)
    assert letter_json(letter(), raw=True)["raw"] == "{}"
    assert "raw" not in letter_json(letter(), raw=False)


def test_times_are_kept_in_utc_with_microseconds() -> None:
    plus_one = datetime(2026, 12, 1, 13, 0, 0, 5, tzinfo=UTC).astimezone()
    assert stamp(plus_one) == "2026-12-01T13:00:00.000005Z"


def _fields(kept: Kept) -> dict[str, object]:
    return {name: getattr(kept, name) for name in kept.__struct_fields__}
