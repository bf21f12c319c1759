"""The Faust app of a worker: its lifecycle, signals and web views.

Faust runs the worker process (start-up, graceful shutdown on SIGTERM and
SIGINT, the web server) and hosts the worker as a long-running task. The
worker itself (``Worker``) is plain asyncio over aiokafka: Faust's
agents commit offsets on their own schedule, which cannot be made atomic
with the journal, and its tables and exactly-once mode have open bugs, so
neither is part of the system of record.

The app starts none of Faust's own Kafka clients: no consumer, so no second
consumer group beside the router's (whose members would have to wait out a
dead one's session before the app even started its task), and no producer.
So a worker restarted after a crash rejoins only the router group, where
static membership gives it its partitions back at once (docs/kafka.md,
"Failover"). A broker that cannot be reached at start-up is retried with a
growing pause, never a reason to exit.

Its web port (``--web-port``) serves what ``triage serve`` serves: the
dashboard at ``/``, the API and ``/metrics``, over a follower of the whole
journal topic, beside the worker's probes and metrics (docs/http.md).

Run it with ``triage worker`` or, the usual Faust way, with
``faust -A triage.faust_app worker`` (settings from ``TRIAGE_*``).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Final

import faust
import structlog
from aiokafka.errors import KafkaError
from aiokafka.helpers import create_ssl_context
from faust.app.base import BootStrategy

from events import LogError

from .._bind_guard import require_token
from ..http import LiveLog, mount_worker
from ._follow import follow_kafka
from ._settings import KafkaSettings, WorkerConfig
from ._worker import Worker

__all__ = ["collect_less", "make_app", "run_worker", "start_when_reachable"]

#: The collector's thresholds in a worker: a young collection every 50,000 net
#: allocations, not 700 (see ``collect_less``).
_COLLECTOR_THRESHOLDS: Final = (50_000, 20, 10)

#: Pauses between attempts to reach the brokers at start-up: doubling up to the last.
_FIRST_RETRY: Final = 0.5
_LAST_RETRY: Final = 10.0

_log = structlog.get_logger("triage.worker")


def collect_less() -> None:
    """Set the garbage collector of a worker process for a large heap that lives long.

    At the interpreter's thresholds a worker spent about a tenth of its time
    collecting: every 700 allocations a young collection, and the records in
    flight (a batch waits for its transaction) survived into the older
    generations, whose collections go over the whole heap, the routing state
    included. What the process holds once started (modules, classes, the
    app) is frozen out of the collections for good. Reference counting
    frees nearly everything; the collector is for cycles, and the few a
    worker makes wait a little longer.
    """
    gc.set_threshold(*_COLLECTOR_THRESHOLDS)
    gc.freeze()


async def start_when_reachable(worker: Worker) -> None:
    """Start the worker, retrying while the brokers cannot be reached.

    Every failed attempt logs ``broker.unreachable`` with the error and the
    pause before the next; the pause doubles from 0.5 s up to 10 s. Errors
    that are not about reaching the cluster (a bug) are raised.
    """
    pause, attempt = _FIRST_RETRY, 1
    while True:
        try:
            await worker.start()
        except (KafkaError, LogError, OSError, TimeoutError) as exc:
            _log.warning(
                "broker.unreachable",
                bootstrap=worker.settings.bootstrap,
                error=str(exc) or type(exc).__name__,
                attempt=attempt,
                retry_in_seconds=pause,
            )
            await worker.stop()  # close whatever the attempt opened
            await asyncio.sleep(pause)
            pause, attempt = min(pause * 2, _LAST_RETRY), attempt + 1
            continue
        if attempt > 1:
            _log.info("broker.reachable", bootstrap=worker.settings.bootstrap, attempt=attempt)
        return


def _credentials(settings: KafkaSettings) -> Any:
    security = settings.security
    ssl_context = None
    if security.protocol in ("SSL", "SASL_SSL"):
        ssl_context = create_ssl_context(
            cafile=security.ssl_cafile,
            certfile=security.ssl_certfile,
            keyfile=security.ssl_keyfile,
        )
    if security.protocol.startswith("SASL"):
        kind = faust.SASLCredentials
        return kind(
            username=security.sasl_username,
            password=security.sasl_password,
            ssl_context=ssl_context,
            mechanism=security.sasl_mechanism,
        )
    if ssl_context is not None:
        return faust.SSLCredentials(ssl_context)
    return None


def make_app(config: WorkerConfig) -> faust.App:
    """A Faust app whose one task is the worker, with its web views on ``config.web_port``.

    With ``web_views="all"`` the port serves what ``triage serve`` does
    (the dashboard, the API, the journal's metrics), from a follower of the
    whole journal topic; always /healthz, /readyz, the worker's metrics and
    Faust's /health and /status.
    """
    settings, web_port = config.settings, config.web_port
    # Faust wants a data directory (for tables, which Triage does not use);
    # keep it out of the working directory.
    owner = str(os.getuid()) if hasattr(os, "getuid") else "user"
    datadir = Path(tempfile.gettempdir()) / f"triage-faust-{owner}" / settings.client_id
    datadir.parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{settings.group}-app",
        broker=[f"kafka://{host}" for host in settings.bootstrap.split(",")],
        broker_credentials=_credentials(settings),
        autodiscover=False,
        web_enabled=web_port > 0,
        # Faust binds every interface unless told; the port is ours to bind.
        web_bind=config.web_host,
        web_host=config.web_host,
        web_port=web_port or 6066,
        web_in_thread=False,
        # Faust's table and router views serve nothing here (Triage has no tables).
        web_router_enabled=False,
        web_tables_enabled=False,
        topic_partitions=1,
        topic_replication_factor=settings.replication,
        datadir=datadir,
    )
    # The worker is the app's only Kafka client (see the module's docstring).
    app.boot_strategy = BootStrategy(app, enable_kafka=False)
    worker = Worker(settings, config.policy)

    @app.task  # type: ignore[untyped-decorator]  # Faust's decorators are not typed
    async def route() -> None:
        # Faust cancels this task on shutdown; the worker then leaves cleanly.
        collect_less()
        await start_when_reachable(worker)
        try:
            await worker.run(asyncio.Event())
        finally:
            await worker.stop()

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "partitions": sorted(worker.owned)})

    @app.page("/status")
    async def status(web: Any, request: Any) -> Any:
        return web.json(worker.status())

    if web_port > 0:
        _mount_views(app, config, worker)
    return app


def _mount_views(app: faust.App, config: WorkerConfig, worker: Worker) -> None:
    """The web views on Faust's own aiohttp server, and the follower that feeds them."""
    # The base `Web` type does not declare it; Faust's aiohttp driver has it.
    web_app = app.web.web_app  # type: ignore[attr-defined]
    live = LiveLog(config.objectives) if config.web_views == "all" else None
    settings = config.settings
    source = f"kafka://{settings.bootstrap} ({settings.topics.journal})"
    # Registered now, before Faust adds its own index page at "/": the first wins.
    mount_worker(web_app, worker.status, live, log=source, token=config.http_token)

    if live is None:
        return  # the probes and the worker's own figures: what a worker always served

    async def refuse_an_open_bind(_: Any) -> None:
        # `faust worker --web-bind` can change the address after the settings were checked.
        require_token(app.conf.web_bind, config.http_token, option="--web-token")

    web_app.on_startup.append(refuse_an_open_bind)

    @app.task  # type: ignore[untyped-decorator]  # Faust's decorators are not typed
    async def follow() -> None:
        # A thread of its own: folding the journal must not stall the routing loop.
        stop = threading.Event()
        thread = threading.Thread(
            target=follow_kafka, args=(settings, live, stop), name="triage-follow", daemon=True
        )
        thread.start()
        try:
            await asyncio.get_running_loop().create_future()  # until Faust cancels the task
        finally:
            stop.set()


def run_worker(config: WorkerConfig) -> None:
    """Run a worker in the foreground until SIGTERM or SIGINT."""
    app = make_app(config)
    process = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    process.execute_from_commandline()
    sys.exit(process.exitcode if hasattr(process, "exitcode") else 0)
