"""Dead letters as the ops commands see them, on any backend, and retries of them.

A dead letter is a record that never became an event. Each backend keeps
its own (the embedded log's ``deadletters`` table, the Kafka dead-letter
topic) and reads it into a :class:`Kept`: a stable id, when it was received,
where it came from, why it was refused, its raw bytes, and the retries
marked on it. A dead letter is *open* until a corrected event has been
submitted for it; then it is *retried* (by that event's id, at that time).
Nothing is deleted: a retry adds a mark, and a retried letter stays.

A retry file is JSON Lines, one correction per line::

    {"dead_letter": "7", "event": {"type": "clock.tick", "id": "t1", ...}}

:func:`read_corrections` parses one, :func:`check_corrections` says what is
wrong with a set of corrections before anything is written. Both are pure:
the shell reads the file and the letters, and writes the retries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final, Literal

import msgspec

from events import ConfigError, InputEvent, InvalidEvent, decode_input

__all__ = [
    "Correction",
    "Kept",
    "Retry",
    "RetryRefusedError",
    "Status",
    "check_corrections",
    "matches",
    "read_corrections",
    "stamp",
]

Status = Literal["open", "retried", "all"]


class Retry(msgspec.Struct, frozen=True, kw_only=True):
    """A mark on a dead letter: the corrected event submitted for it, and when (wall clock)."""

    event: str
    workspace: str
    at: datetime


class Kept(msgspec.Struct, frozen=True, kw_only=True):
    """One dead letter as a backend keeps it, with the retries marked on it (oldest first).

    ``id`` is stable: the row of the embedded log (``7``), or the dead
    letter's own record on Kafka (``triage.deadletter:0:17``, topic,
    partition and offset). ``received`` is when the log kept it (``None`` on
    an embedded log written before schema 4). ``source`` and ``location``
    say where it came from: ``ingest:FILE`` and ``line N``, or the input
    topic and ``partition P offset O``.
    """

    id: str
    received: datetime | None
    source: str
    location: str
    error: str
    raw: bytes
    key: bytes | None = None  # the record's key, on Kafka
    retries: tuple[Retry, ...] = ()

    @property
    def status(self) -> Literal["open", "retried"]:
        """``retried`` once a corrected event has been submitted for it, else ``open``."""
        return "retried" if self.retries else "open"


class RetryRefusedError(ConfigError):
    """A retry file that cannot be retried as it is; ``problems`` says why, a line each.

    Nothing of the file is submitted and nothing is marked.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        count = len(problems)
        super().__init__(
            f"nothing was retried: {count} problem{'s' if count != 1 else ''} in the retry file"
        )
        self.problems = list(problems)


def stamp(at: datetime) -> str:
    """A wall-clock time as the logs keep it: RFC 3339, UTC, microseconds, ``Z``."""
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def matches(
    letter: Kept,
    *,
    reason: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    status: Status = "all",
) -> bool:
    """Does the letter pass the filters of ``triage deadletters``?

    ``reason`` is a case-insensitive substring of the error; ``since`` and
    ``until`` bound the receive time (both inclusive), and a letter with no
    receive time matches no time bound.
    """
    if status not in ("all", letter.status):
        return False
    if reason is not None and reason.casefold() not in letter.error.casefold():
        return False
    if since is not None or until is not None:
        if letter.received is None:
            return False
        if since is not None and letter.received < since:
            return False
        if until is not None and letter.received > until:
            return False
    return True


class Correction(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a retry file: the dead letter it corrects and the corrected event."""

    line: int
    dead_letter: str
    raw: bytes  # the corrected event's JSON, as written in the file
    event: InputEvent | None  # None: the corrected event is itself invalid
    invalid: str = ""  # why, when it is


class _Line(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    dead_letter: str | int
    event: msgspec.Raw


_line_decoder: Final = msgspec.json.Decoder(_Line)


def read_corrections(lines: Iterable[bytes]) -> tuple[list[Correction], list[str]]:
    """The corrections of a retry file, and a problem per line that is not one.

    A line must be an object with exactly ``dead_letter`` (the id, a string;
    an integer is taken as one) and ``event`` (the corrected event, an
    object). Blank lines are skipped. An ``event`` that is not a valid
    event is kept as a correction with its reason: :func:`check_corrections`
    reports it with the dead letter it was meant for.
    """
    corrections: list[Correction] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        text = line.rstrip(b"\r\n")
        if not text.strip():
            continue
        try:
            parsed = _line_decoder.decode(text)
        except (msgspec.DecodeError, RecursionError) as exc:
            problems.append(
                f"line {number}: not a correction ({exc}); write "
                '{"dead_letter": "ID", "event": {...}}'
            )
            continue
        raw = bytes(parsed.event)
        try:
            event: InputEvent | None = decode_input(raw)
            invalid = ""
        except InvalidEvent as exc:
            event, invalid = None, exc.reason
        corrections.append(
            Correction(
                line=number,
                dead_letter=str(parsed.dead_letter),
                raw=raw,
                event=event,
                invalid=invalid,
            )
        )
    return corrections, problems


def check_corrections(
    corrections: Sequence[Correction],
    letters: Mapping[str, Kept | None],
    *,
    again: bool,
    refuse: Callable[[InputEvent], str | None] | None = None,
) -> list[str]:
    """What stops these corrections from being retried, one line each (empty: nothing).

    ``letters`` maps each named id to its dead letter (``None``: no such
    letter). A correction is refused if its letter is unknown, named twice
    in the file, already retried (unless ``again``), or if its event is
    invalid or refused by ``refuse`` (the guard against dates too far
    ahead of the wall clock, as ``triage ingest`` applies it).
    """
    problems: list[str] = []
    named: dict[str, int] = {}
    for correction in corrections:
        where = f"line {correction.line} (dead letter {correction.dead_letter})"
        letter = letters.get(correction.dead_letter)
        first = named.setdefault(correction.dead_letter, correction.line)
        if first != correction.line:
            problems.append(f"{where}: the dead letter is corrected already on line {first}")
        elif letter is None:
            problems.append(f"{where}: no such dead letter")
        elif letter.retries and not again:
            last = letter.retries[-1]
            problems.append(
                f"{where}: already retried by event {last.event} at {stamp(last.at)}; "
                "pass --again to retry it again"
            )
        if correction.event is None:
            problems.append(f"{where}: the corrected event is invalid: {correction.invalid}")
        elif refuse is not None:
            why = refuse(correction.event)
            if why is not None:
                problems.append(f"{where}: the corrected event is refused: {why}")
    return problems
