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


def _kafka_options(required: bool) -> Callable[[_F], _F]:
    """The options every command that talks to Kafka takes (docs/kafka.md)."""
    broker_help = "kafka://HOST:PORT[,HOST:PORT...]: the bootstrap servers."
    if not required:
        broker_help += " Without it, the embedded log (--log) is used."
    options = [
        click.option(
            "--broker",
            envvar="TRIAGE_BROKER",
            show_envvar=True,
            required=required,
            help=broker_help,
        ),
        click.option(
            "--topic-prefix",
            default="triage.",
            show_default=True,
            envvar="TRIAGE_TOPIC_PREFIX",
            show_envvar=True,
        ),
        click.option(
            "--partitions",
            type=click.IntRange(1, 10_000),
            default=8,
            show_default=True,
            envvar="TRIAGE_PARTITIONS",
            show_envvar=True,
            help="Partitions of the topics Triage creates.",
        ),
        click.option(
            "--replication",
            type=click.IntRange(1, 100),
            default=1,
            show_default=True,
            envvar="TRIAGE_REPLICATION",
            show_envvar=True,
            help="Replication factor of the topics Triage creates.",
        ),
        click.option(
            "--group",
            default="triage-router",
            show_default=True,
            envvar="TRIAGE_GROUP",
            show_envvar=True,
            help="Consumer group of the workers.",
        ),
        click.option(
            "--client-id",
            default="triage",
            show_default=True,
            envvar="TRIAGE_CLIENT_ID",
            show_envvar=True,
        ),
        click.option(
            "--security-protocol",
            default="PLAINTEXT",
            show_default=True,
            type=click.Choice(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]),
            envvar="TRIAGE_SECURITY_PROTOCOL",
            show_envvar=True,
        ),
        click.option(
            "--sasl-mechanism",
            type=click.Choice(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
            envvar="TRIAGE_SASL_MECHANISM",
            show_envvar=True,
        ),
        click.option("--sasl-username", envvar="TRIAGE_SASL_USERNAME", show_envvar=True),
        click.option("--sasl-password", envvar="TRIAGE_SASL_PASSWORD", show_envvar=True),
        click.option(
            "--ssl-cafile",
            envvar="TRIAGE_SSL_CAFILE",
            show_envvar=True,
            type=click.Path(exists=True, dir_okay=False),
        ),
        click.option(
            "--ssl-certfile",
            envvar="TRIAGE_SSL_CERTFILE",
            show_envvar=True,
            type=click.Path(exists=True, dir_okay=False),
        ),
        click.option(
            "--ssl-keyfile",
            envvar="TRIAGE_SSL_KEYFILE",
            show_envvar=True,
            type=click.Path(exists=True, dir_okay=False),
        ),
    ]

    def decorate(fn: _F) -> _F:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


_KAFKA_KEYS = (
    "broker",
    "topic_prefix",
    "partitions",
    "replication",
    "group",
    "client_id",
    "security_protocol",
    "sasl_mechanism",
    "sasl_username",
    "sasl_password",
    "ssl_cafile",
    "ssl_certfile",
    "ssl_keyfile",
)


def kafka_settings(options: dict[str, Any], **extra: Any) -> Any:
    """The one settings object of the Kafka runtime, from the command's options."""
    from ._settings import KafkaSettings, Security, Topics, parse_broker

    values = {key: options.pop(key) for key in _KAFKA_KEYS}
    protocol = values["security_protocol"]
    if protocol.startswith("SASL") and not (values["sasl_mechanism"] and values["sasl_username"]):
        raise ConfigError(f"{protocol} needs --sasl-mechanism and --sasl-username")
    return KafkaSettings(
        bootstrap=parse_broker(values["broker"]),
        topics=Topics(values["topic_prefix"]),
        partitions=values["partitions"],
        replication=values["replication"],
        group=values["group"],
        client_id=values["client_id"],
        security=Security(
            protocol=protocol,
            sasl_mechanism=values["sasl_mechanism"],
            sasl_username=values["sasl_username"],
            sasl_password=values["sasl_password"],
            ssl_cafile=values["ssl_cafile"],
            ssl_certfile=values["ssl_certfile"],
            ssl_keyfile=values["ssl_keyfile"],
        ),
        **extra,
    )


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
            done = runtime.done
        counts = journal.counts()
    click.echo(
        f"recovered {recovered}, processed {done}; log holds {counts['inputs']} inputs, "
        f"{counts['outputs']} outputs, {counts['deadletters']} dead letters"
    )


@cli.command()
@click.option("--deadletters", is_flag=True, help="Print the dead letters instead.")
@_log_option()
@_kafka_options(required=False)
def dump(deadletters: bool, log_path: Path, **options: Any) -> None:
    """Print the log as JSON Lines: each input, then the outputs it caused."""
    out = sys.stdout.buffer
    if options["broker"]:
        from ._kafka import dump_kafka

        dump_kafka(kafka_settings(options), out, deadletters=deadletters)
        return
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
@_kafka_options(required=False)
def report(as_json: bool, log_path: Path, **options: Any) -> None:
    """Print staffing, tasks, handling time, waiting, quality and utilization."""
    from projections import render_text, report_json

    if options["broker"]:
        from ._kafka import report_kafka

        built = report_kafka(kafka_settings(options))
    else:
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
@_kafka_options(required=True)
@click.option(
    "--tick",
    "tick_seconds",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    envvar="TRIAGE_TICK_SECONDS",
    show_envvar=True,
    help="Seconds between the clock.tick each workspace gets (0: none).",
)
@click.option(
    "--batch-max",
    type=click.IntRange(1, 100_000),
    default=2_000,
    show_default=True,
    envvar="TRIAGE_BATCH_MAX",
    show_envvar=True,
    help="Most input events in one transaction.",
)
@click.option(
    "--batch-ms",
    type=click.IntRange(0, 60_000),
    default=5,
    show_default=True,
    envvar="TRIAGE_BATCH_MS",
    show_envvar=True,
    help="Longest wait for more input before a transaction is committed.",
)
@click.option(
    "--merge-wait-ms",
    type=click.IntRange(0, 600_000),
    default=500,
    show_default=True,
    envvar="TRIAGE_MERGE_WAIT_MS",
    show_envvar=True,
    help="How long records of one input topic wait for a lagging other (time-ordered merge).",
)
@click.option(
    "--commit-gap-ms",
    type=click.IntRange(0, 60_000),
    default=3,
    show_default=True,
    envvar="TRIAGE_COMMIT_GAP_MS",
    show_envvar=True,
    help="Pause of a partition between one transaction and its next (lets the last one settle).",
)
@click.option(
    "--retry-backoff-ms",
    type=click.IntRange(1, 10_000),
    default=10,
    show_default=True,
    envvar="TRIAGE_RETRY_BACKOFF_MS",
    show_envvar=True,
    help="Back-off of the transactional producers before they retry a request.",
)
@click.option(
    "--web-host",
    default="127.0.0.1",
    show_default=True,
    envvar="TRIAGE_WEB_HOST",
    show_envvar=True,
    help="Address of the worker's web views (health, status).",
)
@click.option(
    "--web-port",
    type=click.IntRange(0, 65535),
    default=6066,
    show_default=True,
    envvar="TRIAGE_WEB_PORT",
    show_envvar=True,
    help="Port of the web views (0: none).",
)
@_policy_option
def worker(**params: Any) -> None:
    """Route on Kafka: one worker of the consumer group (a Faust app).

    Workers split the partitions of the input topics; each workspace is routed
    by exactly one worker at a time, and the others take over when one dies.
    Decisions go to the assignments topic; the worker's own journal topic is
    the ordered log it recovers from.
    """
    from ._app import run_worker

    settings, policy, web_host, web_port = worker_config(params)
    run_worker(settings, policy, web_host=web_host, web_port=web_port)


def worker_config(params: dict[str, Any]) -> tuple[Any, Policy, str, int]:
    """Settings, policy and web address of a worker, from ``triage worker``'s options."""
    options = dict(params)
    web_host, web_port = options.pop("web_host"), options.pop("web_port")
    policy = load_policy(options.pop("policy_path"))
    kafka = {key: options.pop(key) for key in _KAFKA_KEYS}
    # What is left are the worker's own settings (tick, batches, merge, commits).
    return kafka_settings(kafka, **options), policy, web_host, web_port


def worker_config_from_environment() -> tuple[Any, Policy, str, int]:
    """The same, from the TRIAGE_* environment alone (``faust -A triage.faust_app``)."""
    try:
        context = worker.make_context("triage.faust_app", [])
    except click.ClickException as exc:
        raise ConfigError(exc.format_message()) from None
    return worker_config(context.params)


@cli.command()
@_kafka_options(required=True)
def topics(**options: Any) -> None:
    """Create Triage's topics if they are missing (idempotent), and list them."""
    from ._kafka import create_topics

    for line in create_topics(kafka_settings(options)):
        click.echo(line)


@cli.command()
@click.argument("source", type=click.File("rb"))
@click.option(
    "--raw",
    is_flag=True,
    help="Publish every line as it is, valid or not (to the topic of its type, or --topic).",
)
@click.option("--topic", "topic_name", help="Publish everything to this topic.")
@_kafka_options(required=True)
def publish(source: BinaryIO, raw: bool, topic_name: str | None, **options: Any) -> None:
    """Publish the JSON Lines events of SOURCE (a file, or - for stdin) to their topics.

    Each event goes to the topic of its type, keyed by its workspace, with an
    idempotent producer. Invalid lines are reported (line and reason) and
    skipped, unless --raw.
    """
    from ._kafka import publish_lines

    result = publish_lines(kafka_settings(options), source, raw=raw, topic=topic_name)
    for line in result.problems:
        click.echo(line, err=True)
    click.echo(f"published {result.published}, skipped {result.skipped}")


@cli.command()
@click.option("--from-beginning", is_flag=True, help="Start at the oldest decision kept.")
@click.option(
    "--follow/--no-follow", default=True, show_default=True, help="Keep waiting for new decisions."
)
@_kafka_options(required=True)
def tail(from_beginning: bool, follow: bool, **options: Any) -> None:
    """Print the decisions of the assignments topic as JSON Lines, as they come."""
    from ._kafka import tail_assignments

    tail_assignments(
        kafka_settings(options), sys.stdout.buffer, from_beginning=from_beginning, follow=follow
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
    except Exception as exc:
        # Kafka client errors (unreachable broker, refused credentials) are the
        # user's to fix, not bugs: one line, like every other error.
        if type(exc).__module__.split(".")[0] != "aiokafka":
            raise
        click.echo(f"triage: error: kafka: {exc}", err=True)
        sys.exit(1)
