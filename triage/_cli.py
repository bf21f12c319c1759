"""The ``triage`` command: the imperative shell people and scripts use.

Every command that touches the embedded log takes ``--log PATH`` (or
``TRIAGE_LOG``, default ``./triage.db``). Errors are one line on stderr and
a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import click
import msgspec

from events import ConfigError, TriageError, decode_event, json_schema
from router import DEFAULT_POLICY, Policy

from ._embedded import EmbeddedRuntime
from ._ingest import ingest_lines
from ._journal import Journal
from ._logging import configure_logging

__all__ = ["cli", "main"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _log_option(default: str = "triage.db") -> Callable[[_F], _F]:
    option: Callable[[_F], _F] = click.option(
        "--log",
        "log_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=default,
        show_default=True,
        envvar="TRIAGE_LOG",
        show_envvar=True,
        help="The embedded log (a SQLite file).",
    )
    return option


def _policy_option(fn: _F) -> _F:
    return click.option(
        "--policy",
        "policy_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        envvar="TRIAGE_POLICY",
        show_envvar=True,
        help="Routing policy, a TOML or JSON file (see docs/routing.md).",
    )(fn)


def load_policy(path: Path | None) -> Policy:
    """The policy in a TOML or JSON file, or the default one."""
    if path is None:
        return DEFAULT_POLICY
    try:
        text = path.read_bytes()
        data = tomllib.loads(text.decode()) if path.suffix == ".toml" else json.loads(text)
        return msgspec.convert(data, Policy)
    except (OSError, ValueError, msgspec.ValidationError) as exc:
        raise ConfigError(f"cannot use the policy {path}: {exc}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="triage")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    envvar="TRIAGE_LOG_LEVEL",
    show_envvar=True,
    help="Level of the structured logs on stderr.",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "console"]),
    default="auto",
    show_default=True,
    envvar="TRIAGE_LOG_FORMAT",
    show_envvar=True,
    help="auto: console on a terminal, JSON otherwise.",
)
def cli(log_level: str, log_format: str) -> None:
    """Triage routes human-data work (writing, rating, reviews, audits) to the right experts.

    Events go in (tasks, expert profiles and presence, submissions, reviews),
    decisions come out, and everything is kept in an ordered log that can be
    replayed. With no broker configured the log is a SQLite file.
    """
    configure_logging(log_level, log_format)  # type: ignore[arg-type]


@cli.command()
@click.argument("source", type=click.File("rb"))
@_log_option()
def ingest(source: BinaryIO, log_path: Path) -> None:
    """Append the JSON Lines events of SOURCE (a file, or - for stdin) to the log.

    Invalid lines go to the dead letters with their line number and reason;
    events already in the log (same workspace and id) are counted as duplicates.
    """
    name = "stdin" if source is sys.stdin.buffer else getattr(source, "name", "input")
    with Journal(log_path) as journal:
        try:
            result = ingest_lines(journal, source, f"ingest:{name}")
        except OSError as exc:
            raise TriageError(f"cannot read {name}: {exc}") from None
    click.echo(
        f"accepted {result.accepted}, duplicates {result.duplicates}, "
        f"dead-lettered {result.dead_lettered}"
    )


@cli.command()
@click.option("--until-idle", is_flag=True, help="Stop when nothing is pending.")
@click.option(
    "--tick",
    type=click.FloatRange(min=0.01),
    default=None,
    help="While following, append a clock.tick per workspace every SECONDS of wall time.",
)
@_policy_option
@_log_option()
def run(until_idle: bool, tick: float | None, policy_path: Path | None, log_path: Path) -> None:
    """Route everything pending in the log; without --until-idle, keep following it."""
    policy = load_policy(policy_path)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Journal(log_path) as journal:
        runtime = EmbeddedRuntime(journal, policy)
        recovered = runtime.recover()
        try:
            done = runtime.run(until_idle=until_idle, tick=tick, stop=stop)
        except KeyboardInterrupt:
            done = 0
        counts = journal.counts()
    click.echo(
        f"recovered {recovered}, processed {done}; log holds {counts['inputs']} inputs, "
        f"{counts['outputs']} outputs, {counts['deadletters']} dead letters"
    )


@cli.command()
@click.option("--deadletters", is_flag=True, help="Print the dead letters instead.")
@_log_option()
def dump(deadletters: bool, log_path: Path) -> None:
    """Print the log as JSON Lines: each input, then the outputs it caused."""
    out = sys.stdout.buffer
    with Journal(log_path, create=False) as journal:
        if deadletters:
            for letter in journal.dead_letters():
                out.write(msgspec.json.encode(_letter_dict(letter)) + b"\n")
            return
        for entry in journal.entries():
            out.write(entry.input + b"\n")
            for output in entry.outputs:
                out.write(output + b"\n")


def _letter_dict(letter: Any) -> dict[str, str]:
    return {
        "source": letter.source,
        "location": letter.location,
        "error": letter.error,
        "raw": letter.raw.decode("utf-8", errors="replace"),
    }


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object keyed by workspace.")
@_log_option()
def report(as_json: bool, log_path: Path) -> None:
    """Print staffing, tasks, handling time, waiting, quality and utilization."""
    from projections import render_text, report_json

    with Journal(log_path, create=False) as journal:
        built = build_report(journal)
    if as_json:
        sys.stdout.buffer.write(report_json(built) + b"\n")
    else:
        click.echo(render_text(built))


def build_report(journal: Journal) -> Any:
    """Fold the whole journal into the projections."""
    from projections import Projections

    folded = Projections()
    for entry in journal.entries():
        folded.apply(decode_event(entry.input))
        for output in entry.outputs:
            folded.apply(decode_event(output))
    for letter in journal.dead_letters():
        folded.dead_letter(letter.source)
    return folded.report()


@cli.command()
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the simulation.")
@click.option("--experts", type=click.IntRange(min=1), default=285, show_default=True)
@click.option("--days", type=click.IntRange(min=1, max=366), default=28, show_default=True)
@click.option("--force", is_flag=True, help="Replace a log at --log that does not hold a demo.")
@click.option("--quiet", is_flag=True, help="No progress bar and no report.")
@_policy_option
@_log_option(default="triage-demo.db")
def demo(
    seed: int,
    experts: int,
    days: int,
    force: bool,
    quiet: bool,
    policy_path: Path | None,
    log_path: Path,
) -> None:
    """Simulate a month of an LLM fine-tuning project and route it, then report.

    285 experts in ten languages and four domains write, rate, edit,
    fact-check, red-team and audit; they go away and come back, decline, and
    now and then let a lease run out. Every event goes through the same
    engine and log as production; replay it with `triage dump --log PATH`.
    """
    from ._demo import run_demo

    run_demo(
        log_path=log_path,
        seed=seed,
        experts=experts,
        days=days,
        force=force,
        quiet=quiet,
        policy=load_policy(policy_path),
    )


@cli.command()
def schema() -> None:
    """Print the JSON Schema of every event, generated from the code."""
    click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))


def main() -> None:
    """Entry point: run the CLI, turning Triage errors into one clear line."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except TriageError as exc:
        click.echo(f"triage: error: {exc}", err=True)
        sys.exit(1)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
