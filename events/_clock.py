"""Clock ticks made by a runtime: the one place that names them.

A runtime that follows a log with no traffic (``triage run --tick``, a
Kafka worker) appends a ``clock.tick`` per workspace now and then so that
leases run out on time. The ticks are logged inputs like any other, so a
replay decides exactly as the live run did; their ids derive from the
instant, so two runtimes that tick at the same microsecond write the same
event, which the log then keeps once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from ._model import ClockTick

__all__ = ["clock_ticks"]


def clock_ticks(at: datetime, workspaces: Iterable[str]) -> list[ClockTick]:
    """One ``clock.tick`` at ``at`` for each workspace, in workspace order."""
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return [ClockTick(f"tick:{stamp}", at, workspace) for workspace in sorted(workspaces)]
