"""The journal on Kafka folded into a :class:`~triage.http.LiveLog`, for the web views.

``triage serve --broker`` and every worker's web port (``--web-views
all``) follow the journal topic this way: all its partitions, so each one
shows the whole platform, not only the partitions a worker routes (a wall
screen must not go blank, or show half the figures, when the group
rebalances). The follower is a plain reader (``read_committed``, no
consumer group), so it never takes part in the router group's
assignments and sees exactly the batches that were committed.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Final

import structlog

from ..http import DeadLetterView, LiveLog
from ._read import follow_journal
from ._settings import KafkaSettings

__all__ = ["follow_kafka"]

#: Pause before a follower that lost the brokers reads the journal again.
RETRY_SECONDS: Final = 5.0

_log = structlog.get_logger("triage.serve")


class _LiveSink:
    """Feeds a :class:`LiveLog`; positions count the journal's entries."""

    def __init__(self, live: LiveLog) -> None:
        self.live = live

    def entry(self, raw: bytes, outputs: list[bytes]) -> None:
        self.live.apply(self.live.position + 1, raw, outputs)

    def dead_letter(
        self,
        source: str,
        location: str,
        error: str,
        *,
        letter: str = "",
        received: datetime | None = None,
    ) -> None:
        self.live.dead_letter(
            DeadLetterView(
                source=source, location=location, error=error, id=letter, received=received
            )
        )

    def retried(self, letter: str, event: str, at: datetime) -> None:
        self.live.retried(letter, event, at)

    def caught_up(self) -> None:
        _log.info("serve.ready", position=self.live.position)
        self.live.mark_ready()


def follow_kafka(
    settings: KafkaSettings,
    live: LiveLog,
    stop: threading.Event,
    *,
    retry_seconds: float = RETRY_SECONDS,
) -> None:
    """Follow the journal on Kafka into ``live`` until ``stop``; a lost broker is retried.

    A retry starts the fold again from nothing and reads the journal from
    its start, so nothing is counted twice; ``live.ready`` (and with it
    /readyz) is false until it has caught up again.
    """
    while not stop.is_set():
        try:
            follow_journal(settings, _LiveSink(live), stop)
        except Exception as exc:  # the follower must outlive a lost broker: retry
            _log.warning("serve.read_failed", broker=settings.bootstrap, error=str(exc))
            live.reset()
            stop.wait(retry_seconds)
