"""Commands on the log, embedded or on Kafka: ingest, run, dump, report, schema."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import click
import msgspec

from events import InputEvent, TriageError, json_schema, to_micros
from projections import Report, fold, render_text, report_json

from .._clock_guard import describe_ahead
from .._policy_file import load_policy
from ..embedded import (
    DeadLetter,
    EmbeddedRuntime,
    Journal,
    WriterLock,
    ingest_lines,
    report_of,
)
from ..kafka import CONNECTION
from ..ops import parse_moment
from ._history import open_source
from ._options import client_settings, log_option, policy_option, settings_options
from ._progress import progress_bar

__all__ = [
    "ahead_guard",
    "dump",
    "ingest",
    "max_ahead_option",
    "optional_broker",
    "report",
    "run",
    "schema",
]

#: The Kafka options of a command that uses the embedded log without --broker.
optional_broker = settings_options(
    CONNECTION,
    lenient=True,
    help_of={
        "broker": "kafka://HOST:PORT[,HOST:PORT...]: the bootstrap servers. "
        "Without it, the embedded log (--log) is used."
    },
)


#: ``--max-ahead-seconds``: the guard against dates far ahead of the wall clock.
max_ahead_option = click.option(
    "--max-ahead-seconds",
    type=click.FloatRange(min=0),
    default=86_400,
    show_default=True,
    envvar="TRIAGE_MAX_AHEAD_SECONDS",
    show_envvar=True,
    help="Dead-letter events dated more than SECONDS ahead of the wall clock; "
    "0 accepts any date (backfills, simulations).",
)


def ahead_guard(max_ahead_seconds: float) -> Callable[[InputEvent], str | None] | None:
    """Why an event is dated too far ahead of the wall clock (read now), or None; 0: no guard."""
    if not max_ahead_seconds:
        return None
    wall = datetime.now(UTC)  # the wall clock: read here, for the guard only
    now = to_micros(wall)
    # Comparing datetimes first is cheaper than converting each `at`; it never
    # skips an event that describe_ahead would refuse.
    bound = wall + timedelta(microseconds=int(max_ahead_seconds * 1_000_000))

    def too_far_ahead(event: InputEvent) -> str | None:
        if event.at <= bound:
            return None
        return describe_ahead(to_micros(event.at), now, max_ahead_seconds)

    return too_far_ahead


@click.command()
@click.argument("source", type=click.File("rb"))
@max_ahead_option
@log_option()
def ingest(source: BinaryIO, max_ahead_seconds: float, log_path: Path) -> None:
    """Append the JSON Lines events of SOURCE (a file, or - for stdin) to the log.

    Invalid lines go to the dead letters with their line number and reason, as do
    events too far ahead of the wall clock and events whose id is in the log with
    another body (conflicts); an event already in the log as it is (same workspace,
    id and body) is counted as a duplicate. Unknown fields are ignored, and named
    on stderr.
    """
    name = "stdin" if source is sys.stdin.buffer else getattr(source, "name", "input")
    with Journal(log_path) as journal:
        try:
            result = ingest_lines(
                journal,
                source,
                f"ingest:{name}",
                refuse=ahead_guard(max_ahead_seconds),
                received=lambda: datetime.now(UTC),  # when each dead letter is kept
            )
        except OSError as exc:
            raise TriageError(f"cannot read {name}: {exc}") from None
    click.echo(
        f"accepted {result.accepted}, duplicates {result.duplicates}, "
        f"conflicts {result.conflicts}, dead-lettered {result.dead_lettered}"
    )
    if result.unknown_fields:
        names = ", ".join(
            f"{field} ({count} line{'s' if count != 1 else ''})"
            for field, count in result.unknown_fields.items()
        )
        click.echo(f"unknown fields ignored: {names}", err=True)


@click.command()
@click.option("--until-idle", is_flag=True, help="Stop when nothing is pending.")
@click.option(
    "--tick",
    type=click.FloatRange(min=0.01),
    default=None,
    help="While following, append a clock.tick per workspace every SECONDS of wall time.",
)
@click.option(
    "--snapshot-every",
    type=click.IntRange(min=0),
    default=100_000,
    show_default=True,
    envvar="TRIAGE_SNAPSHOT_EVERY",
    show_envvar=True,
    help="Keep a snapshot of the engine every N inputs, so that a restart folds only what "
    "follows it (0: never).",
)
@policy_option
@log_option()
def run(
    until_idle: bool,
    tick: float | None,
    snapshot_every: int,
    policy_path: Path | None,
    log_path: Path,
) -> None:
    """Route everything pending in the log; without --until-idle, keep following it."""
    policy = load_policy(policy_path)
    # SIGTERM (docker stop) and Ctrl-C end the run within a read of the log,
    # recovery included: what is processed by then is committed.
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    # No quick_check here: it reads the whole file, so a restart would again cost
    # time that grows with the history. Damage met while reading is one
    # LogError all the same; `ingest`, which appends what comes from outside,
    # checks first.
    with WriterLock(log_path, "triage run"), Journal(log_path, check=False) as journal:
        runtime = EmbeddedRuntime(journal, policy, snapshot_every=snapshot_every)
        with progress_bar("recovering", journal.processed()) as progress:
            recovered = runtime.recover(stop=stop, progress=progress)
        done = runtime.run(until_idle=until_idle, tick=tick, stop=stop)
        counts = journal.counts()
    restored = runtime.restored_from
    since = f" (from the snapshot at {restored})" if restored else ""
    click.echo(
        f"recovered {recovered}{since}, processed {done}; log holds {counts['inputs']} inputs, "
        f"{counts['outputs']} outputs, {counts['deadletters']} dead letters"
    )


@click.command()
@click.option("--deadletters", is_flag=True, help="Print the dead letters instead.")
@log_option()
@optional_broker
def dump(deadletters: bool, log_path: Path, **options: Any) -> None:
    """Print the log as JSON Lines: each input, then the outputs it caused."""
    out = sys.stdout.buffer
    if options["broker"]:
        from ..kafka import dump_kafka

        dump_kafka(client_settings(options, lenient=True), out, deadletters=deadletters)
        return
    with Journal(log_path, readonly=True) as journal:
        if deadletters:
            for letter in journal.dead_letters():
                out.write(msgspec.json.encode(_letter_dict(letter)) + b"\n")
            return
        for entry in journal.entries():
            out.write(entry.input + b"\n")
            for output in entry.outputs:
                out.write(output + b"\n")


def _letter_dict(letter: DeadLetter) -> dict[str, str]:
    return {
        "source": letter.source,
        "location": letter.location,
        "error": letter.error,
        "raw": letter.raw.decode("utf-8", errors="replace"),
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object keyed by workspace.")
@click.option(
    "--at",
    "at_text",
    metavar="TIME",
    help="The projections as they stood at TIME (RFC 3339 with an offset): the journal "
    "up to the first input after it, as `triage replay --until TIME` stops.",
)
@click.option(
    "--objectives",
    "objectives_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Evaluate this objectives file (TOML, docs/objectives.md) after the report; "
    "with --json, print the evaluated objectives instead.",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the dashboard as one self-contained HTML file instead.",
)
@click.option(
    "--week",
    default=None,
    help="With --html: the weekly client report of this ISO week, e.g. 2026-W47.",
)
@click.option("--workspace", default=None, help="With --html: the workspace (default: the first).")
@log_option()
@optional_broker
def report(
    as_json: bool,
    at_text: str | None,
    objectives_path: Path | None,
    html_path: Path | None,
    week: str | None,
    workspace: str | None,
    log_path: Path,
    **options: Any,
) -> None:
    """Print staffing, tasks, handling time, waiting, quality and utilization."""
    if objectives_path or html_path:
        if at_text is not None:
            raise TriageError("--at goes with the report itself, not --objectives or --html")
        _visibility_report(as_json, objectives_path, html_path, week, workspace, log_path, options)
        return
    if at_text is not None:
        built = _report_at(parse_moment(at_text), log_path, options)
    elif options["broker"]:
        from ..kafka import report_kafka

        built = report_kafka(client_settings(options, lenient=True))
    else:
        with (
            Journal(log_path, readonly=True) as journal,
            progress_bar("folding", journal.last()) as progress,
        ):
            built = report_of(journal, progress)
    if as_json:
        sys.stdout.buffer.write(report_json(built, with_global=True) + b"\n")
    else:
        click.echo(render_text(built))


def _visibility_report(
    as_json: bool,
    objectives_path: Path | None,
    html_path: Path | None,
    week: str | None,
    workspace: str | None,
    log_path: Path,
    options: dict[str, Any],
) -> None:
    """``report --objectives`` and ``report --html``: the projections with their series."""
    from .._objectives_file import read_objectives
    from ._visibility import fold_log, objectives_json, objectives_text, write_html

    if options["broker"]:
        raise TriageError("--objectives and --html read the embedded log: drop --broker")
    if week and not html_path:
        raise TriageError("--week needs --html")
    objectives = read_objectives(objectives_path)
    with (
        Journal(log_path, readonly=True) as journal,
        progress_bar("folding", journal.last()) as progress,
    ):
        folded = fold_log(journal, progress)
    if html_path:
        drawn = write_html(folded, html_path, objectives, workspace, week)
        click.echo(f"wrote {html_path} ({drawn}{', ' + week if week else ''})", err=True)
        return
    from projections import evaluate_objectives

    assert objectives is not None
    evaluated = evaluate_objectives(objectives, folded.report, folded.series)
    if as_json:
        sys.stdout.buffer.write(objectives_json(evaluated) + b"\n")
    else:
        click.echo(render_text(folded.report))
        click.echo(objectives_text(evaluated))


def _report_at(moment: datetime, log_path: Path, options: dict[str, Any]) -> Report:
    with (
        open_source(log_path, options, None) as source,
        progress_bar("folding", source.total) as progress,
    ):
        entries = source.entries()

        def folded() -> Iterator[tuple[bytes, Sequence[bytes]]]:
            for position, raw, outputs in entries:
                if position % 10_000 == 0:
                    progress(position, source.total)
                yield raw, outputs

        return fold(folded(), (letter.source for letter in source.dead_letters()), until=moment)


@click.command()
@click.option(
    "--format",
    "kind",
    type=click.Choice(["events", "openapi", "asyncapi"]),
    default="events",
    show_default=True,
    help="events: the JSON Schema of every event; openapi: the HTTP API (docs/openapi.json); "
    "asyncapi: the Kafka topics (docs/asyncapi.json).",
)
def schema(kind: str) -> None:
    """Print the JSON Schema of every event (or the API's documents), generated from the code."""
    if kind == "openapi":
        from ..http import openapi_document

        document = openapi_document()
    elif kind == "asyncapi":
        from ..kafka import asyncapi_document

        document = asyncapi_document()
    else:
        document = json_schema()
    click.echo(json.dumps(document, indent=2, sort_keys=True))
