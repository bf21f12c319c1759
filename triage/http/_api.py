"""The HTTP API over a :class:`LiveLog`, as an aiohttp application.

aiohttp rather than an ASGI stack: Faust's web server already is aiohttp,
so a Kafka worker serves the same handlers without a second server, and
the embedded ``triage serve`` needs nothing more. Every route is a GET and
read-only; JSON is encoded by msgspec from the projections' Structs, so
the bodies are the figures of ``triage report --json``. A bearer token,
when set, is required on everything but ``/healthz`` and ``/readyz``
(header ``Authorization: Bearer ...``, or ``?access_token=`` for a wall
screen's browser, RFC 6750 2.3).
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import msgspec
from aiohttp import web
from prometheus_client.core import CollectorRegistry

from projections import report_json

from ._dashboard import dashboard_data, render_page
from ._live import LiveLog
from ._metrics import CONTENT_TYPE, exposition, registry_of, worker_registry
from ._openapi import openapi_document
from ._responses import (
    ApiError,
    DeadLetters,
    ExpertProfileResponse,
    Health,
    Queue,
    ServiceStatus,
    TaskHistory,
    Workspaces,
)

__all__ = ["make_app", "mount_worker"]

_OPEN_PATHS: Final = frozenset({"/healthz", "/readyz"})
_MAX_LIMIT: Final = 10_000
_LIVE: web.AppKey[LiveLog] = web.AppKey("live", LiveLog)
_encoder = msgspec.json.Encoder()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(body=_encoder.encode(body), status=status, content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json(ApiError(error=message), status)


def _auth(token: str, open_paths: frozenset[str] = _OPEN_PATHS) -> Any:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in open_paths:
            return await handler(request)
        given = request.headers.get("Authorization", "")
        if not given and "access_token" in request.query:
            given = f"Bearer {request.query['access_token']}"
        if not hmac.compare_digest(given.encode(), expected):
            response = _error(401, "a bearer token is required")
            response.headers["WWW-Authenticate"] = 'Bearer realm="triage"'
            return response
        return await handler(request)

    return check


def make_app(live: LiveLog, *, log: str, token: str | None = None) -> web.Application:
    """The API, the dashboard, the probes and the metrics over ``live``."""
    app = web.Application(middlewares=[_auth(token)] if token else [])
    app[_LIVE] = live

    async def healthz(request: web.Request) -> web.Response:
        return _json(Health(status="ok", position=live.position))

    async def readyz(request: web.Request) -> web.Response:
        if live.ready:
            return _json(Health(status="ready", position=live.position))
        return _json(Health(status="recovering", position=live.position), 503)

    probes = [("/healthz", healthz), ("/readyz", readyz), ("/metrics", _scrape(registry_of(live)))]
    _add_routes(app, [*_views(live, log), *probes])
    return app


def _add_routes(app: web.Application, routes: list[tuple[str, Handler]]) -> None:
    for path, handler in routes:
        app.router.add_get(path, handler, allow_head=False)


def _off_loop(view: Callable[[web.Request], web.Response]) -> Handler:
    """``view`` as a handler that runs on a thread of the default executor.

    Building a report takes a while on a long journal (a tenth of a second
    for a month of 285 experts), and on a worker the event loop is the one
    that routes: a dashboard's refresh must not hold a transaction up. The
    probes stay on the loop, so they answer while a report is built.
    """

    async def handler(request: web.Request) -> web.StreamResponse:
        return await asyncio.to_thread(view, request)

    return handler


def _scrape(registry: CollectorRegistry) -> Handler:
    def metrics(request: web.Request) -> web.Response:
        return web.Response(body=exposition(registry), headers={"Content-Type": CONTENT_TYPE})

    return _off_loop(metrics)


def _views(live: LiveLog, log: str) -> list[tuple[str, Handler]]:
    """Every route but the probes and /metrics: the dashboard, the API, its document."""
    started = time.monotonic()

    def openapi(request: web.Request) -> web.Response:
        return _json(openapi_document())

    def status(request: web.Request) -> web.Response:
        return _json(
            ServiceStatus(
                log=log,
                ready=live.ready,
                position=live.position,
                workspaces=live.workspaces(),
                dead_letters=len(live.dead_letters()),
                uptime_seconds=round(time.monotonic() - started, 1),
            )
        )

    def workspaces(request: web.Request) -> web.Response:
        return _json(Workspaces(workspaces=live.workspaces()))

    def whole_report(request: web.Request) -> web.Response:
        return web.Response(
            body=report_json(live.report(), with_global=True), content_type="application/json"
        )

    def workspace_report(request: web.Request) -> web.Response:
        name = request.match_info["workspace"]
        report = live.report().workspaces.get(name)
        if report is None:
            return _error(404, f"no workspace {name!r}")
        return _json(report)

    def objectives(request: web.Request) -> web.Response:
        name = request.match_info["workspace"]
        evaluated = live.objectives_report()
        if evaluated is None:
            return _error(404, "no objectives file: start with --objectives FILE")
        result = evaluated.workspaces.get(name)
        if result is None:
            return _error(404, f"no objectives for workspace {name!r}")
        return _json(result)

    def history(request: web.Request) -> web.Response:
        name, task = request.match_info["workspace"], request.match_info["task"]
        events = live.history(name, task)
        if events is None:
            return _error(404, f"no task {task!r} in workspace {name!r}")
        return _json(TaskHistory(workspace=name, task=task, events=events))

    def expert(request: web.Request) -> web.Response:
        name, expert_id = request.match_info["workspace"], request.match_info["expert"]
        view = live.expert(name, expert_id)
        if view is None:
            return _error(404, f"no expert {expert_id!r} in workspace {name!r}")
        ws = live.report().workspaces.get(name)
        return _json(
            ExpertProfileResponse(
                workspace=name,
                profile=view,
                load=_part(ws.utilization.by_expert if ws else None, expert_id),
                handling=_part(ws.handling.by_expert if ws else None, expert_id),
                quality=_part(ws.quality.by_expert if ws else None, expert_id),
            )
        )

    def queue(request: web.Request) -> web.Response:
        name = request.match_info["workspace"]
        raw = request.query.get("limit", "100")
        if not raw.isdigit() or not 1 <= int(raw) <= _MAX_LIMIT:
            return _error(400, f"limit must be an integer from 1 to {_MAX_LIMIT}")
        if name not in live.workspaces():
            return _error(404, f"no workspace {name!r}")
        tasks = live.queue(name, None)
        return _json(Queue(workspace=name, total=len(tasks), tasks=tasks[: int(raw)]))

    def dead_letters(request: web.Request) -> web.Response:
        letters = live.dead_letters()
        retried = sum(1 for letter in letters if letter.status == "retried")
        return _json(DeadLetters(total=len(letters), dead_letters=letters, retried=retried))

    def data_of(name: str) -> dict[str, Any]:
        return live.with_series(
            lambda report, series: dashboard_data(name, report, series, live.objectives_report())
        )

    def dashboard_json(request: web.Request) -> web.Response:
        name = request.match_info.get("workspace") or _first(live)
        if name is None or name not in live.workspaces():
            return _error(404, f"no workspace {name!r}")
        return _json(data_of(name))

    def page(request: web.Request) -> web.Response:
        name = request.query.get("workspace") or _first(live)
        data = data_of(name) if name is not None and name in live.workspaces() else None
        return web.Response(
            text=render_page(data, title=f"Triage · {name or 'no events'}", live=True),
            content_type="text/html",
        )

    routes = [
        ("/", page),
        ("/openapi.json", openapi),
        ("/api/v1/status", status),
        ("/api/v1/report", whole_report),
        ("/api/v1/deadletters", dead_letters),
        ("/api/v1/dashboard", dashboard_json),
        ("/api/v1/workspaces", workspaces),
        ("/api/v1/workspaces/{workspace}/report", workspace_report),
        ("/api/v1/workspaces/{workspace}/objectives", objectives),
        ("/api/v1/workspaces/{workspace}/queue", queue),
        ("/api/v1/workspaces/{workspace}/dashboard", dashboard_json),
        ("/api/v1/workspaces/{workspace}/tasks/{task}/history", history),
        ("/api/v1/workspaces/{workspace}/experts/{expert}", expert),
    ]
    return [(path, _off_loop(view)) for path, view in routes]


def _part(table: dict[str, Any] | None, expert: str) -> dict[str, Any] | None:
    if table is None or expert not in table:
        return None
    return msgspec.to_builtins(table[expert])  # type: ignore[no-any-return]


def _first(live: LiveLog) -> str | None:
    names = live.workspaces()
    return names[0] if names else None


def mount_worker(
    app: web.Application,
    status: Callable[[], dict[str, Any]],
    live: LiveLog | None = None,
    *,
    log: str = "",
    token: str | None = None,
) -> None:
    """Add a Kafka worker's routes to an aiohttp app (Faust's own server).

    Always ``/healthz``, ``/readyz`` and ``/metrics``; with ``live`` (the
    journal followed), also the dashboard at ``/`` and the whole API of
    :func:`make_app`, and ``/metrics`` carries the journal's figures beside
    the worker's own. Ready means the worker owns at least one partition
    (it has recovered it and is consuming) and ``live``, if any, has caught
    up with the journal and follows it; a worker of a group larger than the
    partitions is healthy but idle. With ``token``, every route but the
    probes (``/healthz``, ``/readyz`` and Faust's ``/health``) requires it,
    Faust's ``/status`` included: call this before the app starts, while
    its middlewares can still change.
    """
    if token:  # Faust's /health is the image's liveness probe: open as the others
        app.middlewares.append(_auth(token, _OPEN_PATHS | {"/health"}))

    def probe(state: str) -> object:
        # With the views, the bodies are those of `serve` (the OpenAPI's Health).
        return {"status": state} if live is None else Health(status=state, position=live.position)

    async def healthz(request: web.Request) -> web.Response:
        return _json(probe("ok"))

    async def readyz(request: web.Request) -> web.Response:
        if not status().get("partitions"):
            state = "idle"
        elif live is not None and not live.ready:
            state = "recovering"
        else:
            state = "ready"
        return _json(probe(state), 200 if state == "ready" else 503)

    probes = [("/healthz", healthz), ("/readyz", readyz)]
    metrics = ("/metrics", _scrape(worker_registry(status, live)))
    _add_routes(app, [*(_views(live, log) if live is not None else []), *probes, metrics])
