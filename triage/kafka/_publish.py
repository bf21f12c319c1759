"""Publishing events to Triage's input topics: a Publisher class and JSON Lines."""

from __future__ import annotations

import asyncio
from typing import BinaryIO

import msgspec
from aiokafka import AIOKafkaProducer

from events import InputEvent, InvalidEvent, decode_input, encode, type_name

from ._errors import kafka_errors, start_or_close
from ._records import topic_for
from ._settings import KafkaSettings

__all__ = ["Published", "Publisher", "publish_lines"]


class Published(msgspec.Struct, frozen=True):
    """What one publish did, with a line per skipped input."""

    published: int
    skipped: int
    problems: list[str]


class Publisher:
    """A small publisher for upstream systems: validated events, keyed by workspace.

    >>> async with Publisher(settings) as publisher:       # doctest: +SKIP
    ...     await publisher.publish(task_created_event)

    Events are checked against the contract before they leave (by
    construction, when they are the ``events`` Structs), go to the topic of
    their type, and use an idempotent producer with ``acks=all``, so a retry
    inside the client never duplicates a record. Resending an event is safe
    too: the engine ignores an id it has seen.
    """

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._producer = AIOKafkaProducer(
            client_id=f"{settings.client_id}-publisher",
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            **settings.client_options(),
        )

    async def __aenter__(self) -> Publisher:
        await start_or_close(self._producer)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def publish(self, event: InputEvent) -> None:
        """Send one event and wait until the broker has it."""
        await self.send(event)
        await self._producer.flush()

    async def send(self, event: InputEvent) -> None:
        """Queue one event for sending; ``flush`` or leaving the block waits for it."""
        await self.send_raw(type_name(event), event.workspace, encode(event))

    async def send_raw(
        self, event_type: str, workspace: str, value: bytes, topic: str | None = None
    ) -> None:
        """Queue bytes as they are (for tests of bad input, and for relays)."""
        await self._producer.send(
            topic or topic_for(self.settings, event_type), value=value, key=workspace.encode()
        )

    async def flush(self) -> None:
        """Wait until everything queued is on the broker."""
        await self._producer.flush()


@kafka_errors
def publish_lines(
    settings: KafkaSettings, source: BinaryIO, *, raw: bool = False, topic: str | None = None
) -> Published:
    """Publish JSON Lines; invalid lines are skipped with a reason unless ``raw``."""
    return asyncio.run(_publish_lines(settings, source, raw=raw, topic=topic))


async def _publish_lines(
    settings: KafkaSettings, source: BinaryIO, *, raw: bool, topic: str | None
) -> Published:
    published = skipped = 0
    problems: list[str] = []
    async with Publisher(settings) as publisher:
        for number, line in enumerate(source, start=1):
            value = line.rstrip(b"\r\n")
            if not value.strip():
                continue
            try:
                event = decode_input(value)
            except InvalidEvent as exc:
                if not raw:
                    skipped += 1
                    problems.append(f"line {number}: {exc.reason}")
                    continue
                kind, space = _probe(value)
                await publisher.send_raw(kind, space, value, topic)
            else:
                payload = value if raw else encode(event)
                kind = type_name(event)
                await publisher.send_raw(kind, event.workspace, payload, topic)
            published += 1
        await publisher.flush()
    return Published(published, skipped, problems)


def _probe(value: bytes) -> tuple[str, str]:
    """Type and workspace of a line that is not a valid event, as far as they can be read."""
    try:
        probe = msgspec.json.decode(value)
    except (msgspec.DecodeError, RecursionError):  # deep nesting: msgspec's own limit
        return "", ""
    if not isinstance(probe, dict):
        return "", ""
    return str(probe.get("type", "")), str(probe.get("workspace", ""))
