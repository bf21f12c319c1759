"""Commands on the log, embedded or on Kafka: ingest, run, dump, report, schema."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import click
import msgspec

from events import InputEvent, TriageError, json_schema, to_micros
from projections import render_text, report_json

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
from ..kafka import CONNECTION, kafka_settings
from ._options import log_option, policy_option, settings_options

__all__ = ["dump", "ingest", "report", "run", "schema"]

#: The Kafka options of a command that uses the embedded log without --broker.
_optional_broker = settings_options(
    CONNECTION,
    help_of={
        "broker": "kafka://HOST:PORT[,HOST:PORT...]: the bootstrap servers. "
        "Without it, the embedded log (--log) is used."
    },
)


@click.command()
@click.argument("source", type=click.File("rb"))
@click.option(
    "--max-ahead-seconds",
    type=click.FloatRange(min=0),
    default=86_400,
    show_default=True,
    envvar="TRIAGE_MAX_AHEAD_SECONDS",
    show_envvar=True,
    help="Dead-letter events dated more than SECONDS ahead of the wall clock; "
    "0 accepts any date (backfills, simulations).",
)
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
    wall = datetime.now(UTC)  # the wall clock: read here, for the guard only
    now = to_micros(wall)
    # Comparing datetimes first is cheaper than converting each `at`; it never
    # skips an event that describe_ahead would refuse.
    bound = wall + timedelta(microseconds=int(max_ahead_seconds * 1_000_000))

    def too_far_ahead(event: InputEvent) -> str | None:
        if event.at <= bound:
            return None
        return describe_ahead(to_micros(event.at), now, max_ahead_seconds)

    with Journal(log_path) as journal:
        try:
            result = ingest_lines(
                journal,
                source,
                f"ingest:{name}",
                refuse=too_far_ahead if max_ahead_seconds else None,
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
@policy_option
@log_option()
def run(until_idle: bool, tick: float | None, policy_path: Path | None, log_path: Path) -> None:
    """Route everything pending in the log; without --until-idle, keep following it."""
    policy = load_policy(policy_path)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with WriterLock(log_path, "triage run"), Journal(log_path) as journal:
        runtime = EmbeddedRuntime(journal, policy)
        recovered = runtime.recover()
        try:
            done = runtime.run(until_idle=until_idle, tick=tick, stop=stop)
        except KeyboardInterrupt:
            done = runtime.done
        counts = journal.counts()
    click.echo(
        f"recovered {recovered}, processed {done}; log holds {counts['inputs']} inputs, "
        f"{counts['outputs']} outputs, {counts['deadletters']} dead letters"
    )


@click.command()
@click.option("--deadletters", is_flag=True, help="Print the dead letters instead.")
@log_option()
@_optional_broker
def dump(deadletters: bool, log_path: Path, **options: Any) -> None:
    """Print the log as JSON Lines: each input, then the outputs it caused."""
    out = sys.stdout.buffer
    if options["broker"]:
        from ..kafka import dump_kafka

        dump_kafka(kafka_settings(options), out, deadletters=deadletters)
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
@log_option()
@_optional_broker
def report(as_json: bool, log_path: Path, **options: Any) -> None:
    """Print staffing, tasks, handling time, waiting, quality and utilization."""
    if options["broker"]:
        from ..kafka import report_kafka

        built = report_kafka(kafka_settings(options))
    else:
        with Journal(log_path, readonly=True) as journal:
            built = report_of(journal)
    if as_json:
        sys.stdout.buffer.write(report_json(built, with_global=True) + b"\n")
    else:
        click.echo(render_text(built))


@click.command()
def schema() -> None:
    """Print the JSON Schema of every event, generated from the code."""
    click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))
