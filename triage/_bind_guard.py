"""The rule of every HTTP port Triage opens: beyond the loopback, only with a token.

``triage serve`` and a worker's web port serve the same read-only API and
dashboard: the figures of every workspace, task ids and expert ids among
them. On 127.0.0.1 only the machine's own users can reach them; on any
other address the port is on a network, so a bearer token is required
(``--token`` / ``--web-token``, or ``TRIAGE_HTTP_TOKEN``) and a server
without one refuses to start. Pure: it reads no socket and no clock.
"""

from __future__ import annotations

import ipaddress

from events import ConfigError

__all__ = ["is_loopback", "require_token"]


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps a port on this machine (``localhost``, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_token(host: str, token: str | None, *, option: str) -> None:
    """Refuse (:class:`ConfigError`) to bind ``host`` beyond the loopback without a token."""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"refusing to serve on {host} without a token: set {option} or TRIAGE_HTTP_TOKEN"
        )
