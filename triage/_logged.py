"""Inputs read back from a log, as the current contract sees them.

An input accepted by an older Triage may break a bound that this one
states (a timestamp in the year 9999, weekly hours past a week). Read back
from the log, it must neither stop recovery nor be routed: it is refused
the way the engine refuses a valid event it cannot act on, with an
``event.rejected`` that names the reason, and it changes no state. The
same log therefore always gives the same outputs, and a runtime never
wedges on history it cannot read any more.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from events import EventRejected, InputEvent, InvalidEvent, decode_input
from router import output_id

__all__ = ["decode_logged"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_probe: Final = msgspec.json.Decoder(dict[str, Any])


def decode_logged(body: bytes) -> InputEvent | EventRejected:
    """The logged input ``body`` as an event, or its refusal if it no longer decodes."""
    try:
        return decode_input(body)
    except InvalidEvent as exc:
        reason = exc.reason
    try:
        fields = _probe.decode(body)
    except (msgspec.DecodeError, RecursionError):  # RecursionError: nested past any limit
        fields = {}
    cause = str(fields.get("id") or "?")[:128]
    try:
        at = datetime.fromisoformat(str(fields.get("at")))
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
    except ValueError:
        at = _EPOCH
    return EventRejected(
        output_id(cause, 1),
        at,
        str(fields.get("workspace") or "?")[:128],
        cause=cause,
        event=cause,
        reason=f"no longer a valid event: {reason}"[:500],
    )
