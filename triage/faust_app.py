"""The worker as a Faust app module, for ``faust -A triage.faust_app worker``.

Importing this module reads the ``TRIAGE_*`` environment, with exactly the
meaning and defaults that ``triage worker`` gives it (both read the setting
tables of ``triage.kafka``; TRIAGE_BROKER is required), and builds the app:
that is what ``-A`` expects of it. Nothing else imports it; ``triage
worker`` builds the same app from its options.
"""

from __future__ import annotations

import os

from ._logging import configure_logging
from .kafka import make_app, worker_config_from_environment

__all__ = ["app"]

configure_logging(
    os.environ.get("TRIAGE_LOG_LEVEL", "info"),
    os.environ.get("TRIAGE_LOG_FORMAT", "json"),  # type: ignore[arg-type]
)
app = make_app(worker_config_from_environment())
