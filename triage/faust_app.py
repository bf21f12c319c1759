"""The worker as a Faust app module, for ``faust -A triage.faust_app worker``.

Importing this module reads the ``TRIAGE_*`` environment (TRIAGE_BROKER is
required) and builds the app: that is what ``-A`` expects of it. Nothing
else imports it; ``triage worker`` builds the same app from its options.
"""

from __future__ import annotations

import os

from events import ConfigError
from router import DEFAULT_POLICY

from ._app import make_app
from ._logging import configure_logging
from ._settings import KafkaSettings, Topics, parse_broker

__all__ = ["app"]

if "TRIAGE_BROKER" not in os.environ:
    raise ConfigError("set TRIAGE_BROKER (kafka://HOST:PORT) to run the Faust app")

configure_logging(
    os.environ.get("TRIAGE_LOG_LEVEL", "info"),
    os.environ.get("TRIAGE_LOG_FORMAT", "json"),  # type: ignore[arg-type]
)
app = make_app(
    KafkaSettings(
        bootstrap=parse_broker(os.environ["TRIAGE_BROKER"]),
        topics=Topics(os.environ.get("TRIAGE_TOPIC_PREFIX", "triage.")),
        partitions=int(os.environ.get("TRIAGE_PARTITIONS", "8")),
        replication=int(os.environ.get("TRIAGE_REPLICATION", "1")),
        group=os.environ.get("TRIAGE_GROUP", "triage-router"),
        client_id=os.environ.get("TRIAGE_CLIENT_ID", "triage"),
        tick_seconds=float(os.environ.get("TRIAGE_TICK_SECONDS", "60")),
    ),
    DEFAULT_POLICY,
    web_host=os.environ.get("TRIAGE_WEB_HOST", "127.0.0.1"),
    web_port=int(os.environ.get("TRIAGE_WEB_PORT", "6066")),
)
