"""``triage deadletters``: list, show and retry the dead letters, embedded or on Kafka.

``list`` (the default) prints one line per dead letter (id, receive time,
status, source position, reason); ``show ID`` everything about one, its raw
bytes included; ``retry --file FILE`` submits corrected events through the
normal input path and marks the originals retried. Every field printed for
people has its control characters escaped: a dead letter is whatever a
producer sent, and must not drive the terminal.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Final

import click
import msgspec

from events import ConfigError, InputEvent

from .._dead_letters import (
    Correction,
    Kept,
    RetryRefusedError,
    Status,
    check_corrections,
    matches,
    read_corrections,
    stamp,
)
from ..embedded import Journal, retry_dead_letters
from ..ops import parse_moment
from ._log import ahead_guard, max_ahead_option, optional_broker
from ._options import client_settings, json_option, log_option
from ._progress import progress_bar

__all__ = ["deadletters", "letter_json", "printable"]

_HEX_ROW: Final = 16
_SHOWN: Final = frozenset(chr(code) for code in range(32, 127))  # printable ASCII


class _ListByDefault(click.Group):
    """``triage deadletters [OPTIONS]`` is ``triage deadletters list [OPTIONS]``.

    The subcommand may also come after options (``deadletters --log x.db show 7``):
    it is moved to the front, unless it is the value of an option.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and (args[0] in self.commands or args[0] in ctx.help_option_names):
            return super().parse_args(ctx, args)
        valued = {
            name
            for command in self.commands.values()
            for param in command.params
            if isinstance(param, click.Option) and not param.is_flag
            for name in param.opts
        }
        for index, arg in enumerate(args):
            if arg == "--":
                break
            if arg in self.commands and args[index - 1] not in valued:
                return super().parse_args(ctx, [arg, *args[:index], *args[index + 1 :]])
        return super().parse_args(ctx, ["list", *args])


@click.group(cls=_ListByDefault)
def deadletters() -> None:
    """List, show and retry the dead letters: records that never became events.

    Without a subcommand, `list`. See docs/ops.md, "Working off the dead letters".
    """


@deadletters.command("list")
@click.option(
    "--reason", metavar="TEXT", help="Only letters whose reason contains TEXT (any case)."
)
@click.option("--since", metavar="TIME", help="Only letters received at or after TIME (RFC 3339).")
@click.option("--until", metavar="TIME", help="Only letters received at or before TIME.")
@click.option(
    "--status",
    type=click.Choice(["open", "retried", "all"]),
    default="all",
    show_default=True,
    help="open: not retried yet; retried: a corrected event was submitted for it.",
)
@json_option
@log_option()
@optional_broker
def list_command(
    reason: str | None,
    since: str | None,
    until: str | None,
    status: Status,
    as_json: bool,
    log_path: Path,
    **options: Any,
) -> None:
    """One line per dead letter: id, when received, status, where it came from, and why."""
    since_at = parse_moment(since) if since else None
    until_at = parse_moment(until) if until else None
    letters = [
        letter
        for letter in _all_letters(log_path, options)
        if matches(letter, reason=reason, since=since_at, until=until_at, status=status)
    ]
    out = sys.stdout.buffer
    if as_json:
        for letter in letters:
            out.write(msgspec.json.encode(letter_json(letter, raw=False)) + b"\n")
        return
    click.echo(_table(letters))


@deadletters.command("show")
@click.argument("letter_id", metavar="ID")
@json_option
@log_option()
@optional_broker
def show(letter_id: str, as_json: bool, log_path: Path, **options: Any) -> None:
    """Everything about one dead letter, its raw bytes as received included."""
    letter = _some_letters(log_path, options, [letter_id]).get(letter_id)
    if letter is None:
        raise ConfigError(f"no dead letter {letter_id} in {_where(log_path, options)}")
    if as_json:
        sys.stdout.buffer.write(msgspec.json.encode(letter_json(letter, raw=True)) + b"\n")
        return
    click.echo(_details(letter))


@deadletters.command("retry")
@click.option(
    "--file",
    "source",
    type=click.File("rb"),
    required=True,
    help='JSON Lines, one correction a line: {"dead_letter": "ID", "event": {...}} (- for stdin).',
)
@click.option("--again", is_flag=True, help="Retry dead letters that are retried already.")
@max_ahead_option
@json_option
@log_option()
@optional_broker
def retry(
    source: BinaryIO,
    again: bool,
    max_ahead_seconds: float,
    as_json: bool,
    log_path: Path,
    **options: Any,
) -> None:
    """Submit corrected events for dead letters, and mark those retried.

    Each event goes in by the normal input path (embedded: as `triage ingest`;
    Kafka: published to its input topic, keyed by workspace) and is deduplicated
    by its id like any input. If any line cannot be retried (an unknown or already
    retried letter, an invalid event), nothing is submitted and nothing is marked.
    """
    name = "stdin" if source is sys.stdin.buffer else getattr(source, "name", "input")
    try:
        corrections, problems = read_corrections(source)
    except OSError as exc:
        raise ConfigError(f"cannot read {name}: {exc}") from None
    guard = ahead_guard(max_ahead_seconds)
    try:
        if problems:
            raise RetryRefusedError(problems)
        if not corrections:
            raise ConfigError(f"{name} holds no correction: nothing to retry")
        at = datetime.now(UTC)  # the wall clock of the retry, kept with each mark
        if options["broker"]:
            done = _retry_kafka(options, corrections, guard, again=again, at=at)
        else:
            with Journal(log_path) as journal:
                done = retry_dead_letters(
                    journal, corrections, source=f"retry:{name}", at=at, again=again, refuse=guard
                ).retried
    except RetryRefusedError as exc:
        for problem in exc.problems:
            click.echo(f"triage: {problem}", err=True)
        raise
    if as_json:
        body = [
            {"dead_letter": letter, "workspace": workspace, "event": event, "outcome": outcome}
            for letter, workspace, event, outcome in done
        ]
        sys.stdout.buffer.write(msgspec.json.encode({"retried": body, "at": stamp(at)}) + b"\n")
        return
    for letter, workspace, event, outcome in done:
        click.echo(
            f"{letter}: retried by event {printable(event)} of {printable(workspace)}, {outcome}"
        )
    count = len(done)
    click.echo(f"retried {count} dead letter{'s' if count != 1 else ''} at {stamp(at)}")


# --- the backends ------------------------------------------------------------------


def _where(log_path: Path, options: dict[str, Any]) -> str:
    return f"kafka {options['broker']}" if options["broker"] else f"the log {log_path}"


def _all_letters(log_path: Path, options: dict[str, Any]) -> list[Kept]:
    if options["broker"]:
        from ..kafka import read_dead_letters

        settings = client_settings(options, lenient=True)
        with progress_bar("reading", None) as progress:
            return read_dead_letters(settings, progress)
    with Journal(log_path, readonly=True) as journal:
        total = journal.dead_letter_count()
        letters = []
        with progress_bar("reading", total) as progress:
            for letter in journal.kept_letters():
                letters.append(letter)
                if len(letters) % 1_000 == 0:
                    progress(len(letters), total)
        return letters


def _some_letters(
    log_path: Path, options: dict[str, Any], ids: Sequence[str]
) -> dict[str, Kept | None]:
    if options["broker"]:
        from ..kafka import read_dead_letter

        return read_dead_letter(client_settings(options, lenient=True), ids)
    with Journal(log_path, readonly=True) as journal:
        return {
            letter: journal.kept_letter(int(letter))
            if letter.isascii() and letter.isdigit()
            else None
            for letter in ids
        }


def _retry_kafka(
    options: dict[str, Any],
    corrections: Sequence[Correction],
    guard: Callable[[InputEvent], str | None] | None,
    *,
    again: bool,
    at: datetime,
) -> list[tuple[str, str, str, str]]:
    from ..kafka import read_dead_letter, retry_on_kafka

    settings = client_settings(options, lenient=True)
    letters = read_dead_letter(settings, [c.dead_letter for c in corrections])
    problems = check_corrections(corrections, letters, again=again, refuse=guard)
    if problems:
        raise RetryRefusedError(problems)
    retries = []
    for correction in corrections:
        letter, event = letters[correction.dead_letter], correction.event
        assert letter is not None and event is not None  # checked above
        retries.append((letter, event))
    retry_on_kafka(settings, retries, at)
    return [(letter.id, event.workspace, event.id, "published") for letter, event in retries]


# --- for people and for programs ------------------------------------------------------


def printable(text: str) -> str:
    """``text`` with every character that is not printable escaped as Python writes it."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def letter_json(letter: Kept, *, raw: bool) -> dict[str, Any]:
    """A dead letter as JSON: with ``raw``, its bytes as text (if UTF-8) and as base64."""
    body: dict[str, Any] = {
        "id": letter.id,
        "received": None if letter.received is None else stamp(letter.received),
        "status": letter.status,
        "source": letter.source,
        "location": letter.location,
        "error": letter.error,
        "retries": [
            {"event": r.event, "workspace": r.workspace, "at": stamp(r.at)} for r in letter.retries
        ],
        "size": len(letter.raw),
    }
    if raw:
        try:
            body["raw"] = letter.raw.decode("utf-8")
        except UnicodeDecodeError:
            body["raw"] = None
        body["raw_base64"] = base64.b64encode(letter.raw).decode()
        if letter.key is not None:
            body["key_base64"] = base64.b64encode(letter.key).decode()
    return body


def _status(letter: Kept) -> str:
    if not letter.retries:
        return "open"
    last = letter.retries[-1]
    more = f" ({len(letter.retries)} retries)" if len(letter.retries) > 1 else ""
    return f"retried by {printable(last.event)} at {_short(last.at)}{more}"


def _short(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _table(letters: Sequence[Kept]) -> str:
    if not letters:
        return "No dead letters."
    rows = [("ID", "RECEIVED", "STATUS", "FROM", "REASON")]
    for letter in letters:
        rows.append(
            (
                letter.id,
                "-" if letter.received is None else _short(letter.received),
                _status(letter),
                printable(f"{letter.source} {letter.location}"),
                printable(letter.error),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        + "  "
        + row[4]
        for row in rows
    ]
    retried = sum(1 for letter in letters if letter.retries)
    count = len(letters)
    lines.append("")
    lines.append(
        f"{count} dead letter{'s' if count != 1 else ''}: {count - retried} open, {retried} retried"
    )
    return "\n".join(lines)


def _details(letter: Kept) -> str:
    received = "unknown (kept before the log had receive times)"
    if letter.received is not None:
        received = stamp(letter.received)
    lines = [
        f"dead letter {letter.id}",
        f"  received  {received}",
        f"  status    {letter.status}",
        f"  source    {printable(letter.source)}",
        f"  location  {printable(letter.location)}",
        f"  reason    {printable(letter.error)}",
    ]
    for number, mark in enumerate(letter.retries, start=1):
        lines.append(
            f"  retry {number}   event {printable(mark.event)} of {printable(mark.workspace)}"
            f" at {stamp(mark.at)}"
        )
    if letter.key is not None:
        lines.append(f"  key       {_bytes_line(letter.key)}")
    size = len(letter.raw)
    try:
        text = letter.raw.decode("utf-8")
    except UnicodeDecodeError:
        lines.append(f"  raw       {size:,} bytes, not UTF-8:")
        lines.extend(f"    {row}" for row in _hexdump(letter.raw))
    else:
        escaped = "" if text.isprintable() else ", control characters escaped"
        lines.append(f"  raw       {size:,} bytes, UTF-8{escaped}:")
        lines.append(f"    {printable(text)}")
    return "\n".join(lines)


def _bytes_line(value: bytes) -> str:
    try:
        return printable(value.decode("utf-8"))
    except UnicodeDecodeError:
        return repr(value)


def _hexdump(data: bytes) -> list[str]:
    """Offset, hex and the printable ASCII of every 16 bytes, as ``xxd`` shows them."""
    rows = []
    for start in range(0, len(data), _HEX_ROW):
        chunk = data[start : start + _HEX_ROW]
        hexes = " ".join(f"{byte:02x}" for byte in chunk)
        ascii_ = "".join(chr(byte) if chr(byte) in _SHOWN else "." for byte in chunk)
        rows.append(f"{start:08x}  {hexes:<{_HEX_ROW * 3 - 1}}  {ascii_}")
    return rows
