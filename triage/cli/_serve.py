"""``triage serve``: the HTTP API, dashboard and metrics over the embedded log, following it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import structlog

from events import LogError

from .._bind_guard import require_token
from .._objectives_file import read_objectives
from ..embedded import Journal
from ..kafka import CONNECTION
from ._options import client_settings, log_option, settings_options

if TYPE_CHECKING:
    from ..http import LiveLog

#: With --broker, serve follows the journal on Kafka instead of the embedded log.
_optional_broker = settings_options(
    CONNECTION,
    lenient=True,
    help_of={
        "broker": "kafka://HOST:PORT[,HOST:PORT...]: follow the journal on Kafka. "
        "Without it, the embedded log (--log) is followed."
    },
)

__all__ = ["follow", "serve"]

_log = structlog.get_logger("triage.serve")


def follow(path: Path, live: LiveLog, stop: threading.Event, poll: float) -> None:
    """Fold the journal at ``path`` into ``live``, then every entry processed after, until ``stop``.

    Only inputs up to ``processed()`` are read: their outputs are written
    in the same transaction, so an entry is never folded half-done. A read
    that fails (the file locked or replaced) is logged and retried at the
    next poll, from where the fold stopped; the server stays up.
    """
    from ..http import DeadLetterView

    with Journal(path, readonly=True) as journal:
        letters = retries = 0  # the last dead letter and the last retry folded
        while not stop.is_set():
            try:
                for entry in journal.entries(after=live.position, upto=journal.processed()):
                    live.apply(entry.pos, entry.input, entry.outputs)
                    if stop.is_set():
                        return
                for letter in journal.kept_letters(after=letters):
                    last = letter.retries[-1] if letter.retries else None
                    live.dead_letter(
                        DeadLetterView(
                            source=letter.source,
                            location=letter.location,
                            error=letter.error,
                            id=letter.id,
                            received=letter.received,
                            status=letter.status,
                            retried_by=None if last is None else last.event,
                            retried_at=None if last is None else last.at,
                        )
                    )
                    letters = int(letter.id)
                for position, letter_id, mark in journal.retries_after(retries):
                    live.retried(letter_id, mark.event, mark.at)
                    retries = position
            except Exception as exc:  # the follower must outlive a bad read: retry next poll
                _log.warning("serve.read_failed", log=str(path), error=str(exc))
            else:
                if not live.ready:
                    _log.info("serve.ready", log=str(path), position=live.position)
                live.mark_ready()
            stop.wait(poll)


@click.command()
@log_option()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option(
    "--token",
    envvar="TRIAGE_HTTP_TOKEN",
    show_envvar=True,
    default=None,
    help="Bearer token required on every route but /healthz and /readyz; "
    "needed to bind a non-loopback address.",
)
@click.option(
    "--objectives",
    "objectives_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Objectives file (TOML, docs/objectives.md) to evaluate.",
)
@click.option(
    "--poll",
    type=click.FloatRange(min=0.05),
    default=0.5,
    show_default=True,
    help="Seconds between reads of the log for new entries.",
)
@_optional_broker
def serve(
    log_path: Path,
    host: str,
    port: int,
    token: str | None,
    objectives_path: Path | None,
    poll: float,
    **options: Any,
) -> None:
    """Serve the read-only API, the live dashboard (/) and /metrics over the log, following it.

    See docs/http.md. The log is read only; `triage run` (or the Kafka
    workers, with --broker) keep writing it.
    """
    from aiohttp import web

    from ..http import LiveLog, make_app

    require_token(host, token, option="--token")
    live = LiveLog(read_objectives(objectives_path))
    stop = threading.Event()
    if options["broker"]:
        settings = client_settings(options, lenient=True)
        source = f"kafka://{settings.bootstrap} ({settings.topics.journal})"
        from ..kafka import follow_kafka

        follower = threading.Thread(
            target=follow_kafka, args=(settings, live, stop), name="follow", daemon=True
        )
    else:
        if not log_path.exists():
            raise LogError(f"no log at {log_path}")
        source = str(log_path)
        follower = threading.Thread(
            target=follow, args=(log_path, live, stop, poll), name="follow", daemon=True
        )
    follower.start()
    app = make_app(live, log=source, token=token)
    click.echo(f"serving http://{host}:{port}/ over {source}", err=True)
    try:
        web.run_app(app, host=host, port=port, print=None, access_log=None)
    finally:
        stop.set()
        follower.join(timeout=5)
