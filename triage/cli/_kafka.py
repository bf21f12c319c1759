"""Commands that need a broker: worker, topics, publish, tail (docs/kafka.md)."""

from __future__ import annotations

import sys
from typing import Any, BinaryIO

import click

from ..kafka import CONNECTION, WORKER, worker_config
from ._options import client_settings, settings_options

__all__ = ["publish", "tail", "topics", "worker"]

_required_broker = settings_options(CONNECTION, required=frozenset({"broker"}))


@click.command()
@_required_broker
@settings_options(WORKER)
def worker(**values: Any) -> None:
    """Route on Kafka: one worker of the consumer group (a Faust app).

    Workers split the partitions of the input topics; each workspace is routed
    by exactly one worker at a time, and the others take over when one dies.
    Decisions go to the assignments topic; the worker's own journal topic is
    the ordered log it recovers from.
    """
    from ..kafka import run_worker

    run_worker(worker_config(values))


@click.command()
@_required_broker
def topics(**options: Any) -> None:
    """Create Triage's topics if they are missing (idempotent), and list them."""
    from ..kafka import create_topics

    for line in create_topics(client_settings(options)):
        click.echo(line)


@click.command()
@click.argument("source", type=click.File("rb"))
@click.option(
    "--raw",
    is_flag=True,
    help="Publish every line as it is, valid or not (to the topic of its type, or --topic).",
)
@click.option("--topic", "topic_name", help="Publish everything to this topic.")
@_required_broker
def publish(source: BinaryIO, raw: bool, topic_name: str | None, **options: Any) -> None:
    """Publish the JSON Lines events of SOURCE (a file, or - for stdin) to their topics.

    Each event goes to the topic of its type, keyed by its workspace, with an
    idempotent producer. Invalid lines are reported (line and reason) and
    skipped, unless --raw.
    """
    from ..kafka import publish_lines

    result = publish_lines(client_settings(options), source, raw=raw, topic=topic_name)
    for line in result.problems:
        click.echo(line, err=True)
    click.echo(f"published {result.published}, skipped {result.skipped}")


@click.command()
@click.option("--from-beginning", is_flag=True, help="Start at the oldest decision kept.")
@click.option(
    "--follow/--no-follow", default=True, show_default=True, help="Keep waiting for new decisions."
)
@_required_broker
def tail(from_beginning: bool, follow: bool, **options: Any) -> None:
    """Print the decisions of the assignments topic as JSON Lines, as they come."""
    from ..kafka import tail_assignments

    tail_assignments(
        client_settings(options), sys.stdout.buffer, from_beginning=from_beginning, follow=follow
    )
