"""The ``triage`` command: the imperative shell people and scripts use.

Every command that touches the embedded log takes ``--log PATH`` (or
``TRIAGE_LOG``, default ``./triage.db``); those that talk to Kafka take
``--broker`` and the settings of docs/kafka.md. Errors are one line on
stderr and a non-zero exit, never a traceback: the adapters raise the
project's own errors (``TriageError``), and :func:`main` prints them.
"""

from __future__ import annotations

import sys

import click

from events import TriageError

from .._logging import configure_logging
from ._demo import demo
from ._kafka import publish, tail, topics, worker
from ._log import dump, ingest, report, run, schema

__all__ = ["cli", "main"]


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


for command in (ingest, run, dump, report, demo, worker, topics, publish, tail, schema):
    cli.add_command(command)


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
