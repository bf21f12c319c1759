"""The worker as a Faust app module, for ``faust -A triage.faust_app worker``.

Importing this module reads the ``TRIAGE_*`` environment, with exactly the
meaning and defaults that ``triage worker`` gives it (TRIAGE_BROKER is
required), and builds the app: that is what ``-A`` expects of it. Nothing
else imports it; ``triage worker`` builds the same app from its options.
"""

from __future__ import annotations

import os

from ._app import make_app
from ._cli import worker_config_from_environment
from ._logging import configure_logging

__all__ = ["app"]

configure_logging(
    os.environ.get("TRIAGE_LOG_LEVEL", "info"),
    os.environ.get("TRIAGE_LOG_FORMAT", "json"),  # type: ignore[arg-type]
)
_settings, _policy, _web_host, _web_port = worker_config_from_environment()
app = make_app(_settings, _policy, web_host=_web_host, web_port=_web_port)
