"""The HTTP adapter: a read-only API, the dashboard, probes and Prometheus metrics.

- :class:`LiveLog`: every projection of one journal, fed entry by entry by
  a follower and read by the handlers;
- :func:`make_app`: the aiohttp application over a :class:`LiveLog`
  (``triage serve``);
- :func:`mount_worker`: a Kafka worker's probes and ``/metrics``, and
  over a :class:`LiveLog` the same API and dashboard as :func:`make_app`,
  added to Faust's own aiohttp server;
- :func:`dashboard_data`, :func:`render_page`: the dashboard, live or as
  one self-contained HTML file (``triage report --html``);
- :func:`openapi_document`: the OpenAPI 3.1 document (docs/openapi.json).
"""

from ._api import make_app, mount_worker
from ._dashboard import dashboard_data, render_page, week_bounds
from ._live import DeadLetterView, LiveLog
from ._openapi import openapi_document

__all__ = [
    "DeadLetterView",
    "LiveLog",
    "dashboard_data",
    "make_app",
    "mount_worker",
    "openapi_document",
    "render_page",
    "week_bounds",
]
