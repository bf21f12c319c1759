"""The ``triage`` command: the imperative shell people and scripts use.

Every command that touches the embedded log takes ``--log PATH`` (or
``TRIAGE_LOG``, default ``./triage.db``); those that talk to Kafka take
``--broker`` and the settings of docs/kafka.md. Errors are one line on
stderr and a non-zero exit, never a traceback: the adapters raise the
project's own errors (``TriageError``), and :func:`main` prints them.
"""

from __future__ import annotations

import os
import sys

import click

from events import TriageError

from .._logging import configure_logging
from ._deadletters import deadletters
from ._demo import demo
from ._export import export
from ._kafka import publish, tail, topics, worker
from ._log import dump, ingest, report, run, schema
from ._ops import replay_command, whatif
from ._serve import serve
from ._why import why_command

__all__ = ["cli", "main"]


class _Triage(click.Group):
    """The command group, with one change: a reader that goes away is not an error."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # `triage dump | head`: that is how pipes end. Point stdout at
            # /dev/null so that the flush at exit is quiet, and exit 0.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)


@click.group(
    cls=_Triage, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
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


for command in (
    ingest,
    run,
    dump,
    report,
    deadletters,
    replay_command,
    whatif,
    why_command,
    serve,
    export,
    demo,
    worker,
    topics,
    publish,
    tail,
    schema,
):
    cli.add_command(command)


def main() -> None:
    """Entry point: run the CLI, turning Triage errors into one clear line."""
    try:
        cli.main(standalone_mode=False)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("triage: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except TriageError as exc:
        click.echo(f"triage: error: {exc}", err=True)
        sys.exit(1)
    except BrokenPipeError:  # the final flush, outside any command
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
