"""structlog, configured once at start-up: JSON off a terminal, console on one.

Also the one canonical log line per routing decision, which every runtime
(embedded, Kafka) writes the same way.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Literal

import msgspec
import structlog

from events import EventRejected, OutputEvent

__all__ = ["LogFormat", "configure_logging", "log_decisions", "quiet_client_logs"]

_log = structlog.get_logger("triage")

LogFormat = Literal["auto", "json", "console"]

#: How the reason of an ``event.rejected`` starts when the engine refused the event
#: because of a fault of its own (see ``router.Engine.apply``).
_INTERNAL = "internal error:"


def configure_logging(level: str = "info", fmt: LogFormat = "auto") -> None:
    """Send structured logs to stderr at ``level``; call once, from the CLI."""
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(colors=True)
        if fmt == "console"
        else structlog.processors.JSONRenderer(sort_keys=True)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def log_decisions(outputs: Sequence[OutputEvent]) -> None:
    """One canonical log line per routing decision, with its ids bound.

    Below the info level only the engine's internal errors are written; the
    other decisions are not taken apart for lines that nobody writes.
    """
    if not _log.is_enabled_for(logging.INFO):
        outputs = [o for o in outputs if isinstance(o, EventRejected) and _internal(o.reason)]
    for out in outputs:
        fields = msgspec.to_builtins(out)
        fields.pop("reasons", None)
        kind = fields.pop("type")
        if "event" in fields:  # structlog's own name for the message
            fields["rejected"] = fields.pop("event")
        if str(fields.get("reason", "")).startswith(_INTERNAL):
            # The engine refused an event because of a fault of its own
            # (router.Engine.apply): routing goes on, and ops must hear of it.
            _log.error("engine.internal_error", **fields)
        else:
            _log.info(kind, **fields)


def _internal(reason: str) -> bool:
    return reason.startswith(_INTERNAL)


def quiet_client_logs() -> None:
    """Keep the Kafka client's own log lines off a command's stderr.

    A command that fails says why in one line of ours; the client's
    connection retries, logged on the way, would only repeat it. Workers
    keep them (they are long-running services whose logs are collected).
    """
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
