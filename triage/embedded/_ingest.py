"""Reading JSON Lines into the log: valid events appended, the rest dead-lettered."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from events import InputEvent, InvalidEvent, decode_input

from ._journal import DeadLetter, Journal

__all__ = ["Ingested", "ingest_lines"]


class Ingested(msgspec.Struct, frozen=True):
    """What one ingest did."""

    accepted: int
    duplicates: int
    dead_lettered: int


def ingest_lines(
    journal: Journal, lines: Iterable[bytes], source: str, *, batch: int = 5_000
) -> Ingested:
    """Append every valid line as an event; every invalid one becomes a dead letter.

    Blank lines are skipped. A dead letter keeps the raw line, the reason and
    ``line N`` of ``source``; nothing stops the read.
    """
    accepted = duplicates = dead = 0
    good: list[InputEvent] = []
    bad: list[DeadLetter] = []

    def flush() -> None:
        nonlocal accepted, duplicates
        appended = journal.append(good)
        accepted += appended.accepted
        duplicates += appended.duplicates
        journal.dead_letter(bad)
        good.clear()
        bad.clear()

    for number, line in enumerate(lines, start=1):
        raw = line.rstrip(b"\r\n")
        if not raw.strip():
            continue
        try:
            good.append(decode_input(raw))
        except InvalidEvent as exc:
            dead += 1
            bad.append(
                DeadLetter(source=source, location=f"line {number}", error=exc.reason, raw=raw)
            )
        if len(good) + len(bad) >= batch:
            flush()
    flush()
    return Ingested(accepted, duplicates, dead)
