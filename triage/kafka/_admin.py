"""Topics: create the ones that are missing, and read how many partitions one has."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from events import LogError

from ._errors import kafka_errors, start_or_close
from ._settings import KafkaSettings

__all__ = ["create_missing_topics", "create_topics", "partitions_of"]


@kafka_errors
def create_topics(settings: KafkaSettings) -> list[str]:
    """Create the topics that are missing; say what was created and what existed."""
    return asyncio.run(create_missing_topics(settings))


async def create_missing_topics(settings: KafkaSettings) -> list[str]:
    admin = AIOKafkaAdminClient(client_id=settings.client_id, **settings.client_options())
    await start_or_close(admin)
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name,
                settings.partitions,
                settings.replication,
            )
            for name in settings.topics.all
            if name not in existing
        ]
        lines = [f"exists {name}" for name in settings.topics.all if name in existing]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker won the race
                await admin.create_topics(wanted)
            lines += [f"created {t.name} ({settings.partitions} partitions)" for t in wanted]
        await _wait_for_topics(admin, settings.topics.all)
        return sorted(lines, key=lambda line: line.split()[-1])
    finally:
        await admin.close()


def _configs(settings: KafkaSettings, name: str) -> dict[str, str]:
    """A topic's configuration: the journal kept forever, the marks and snapshots compacted."""
    configs = {"min.insync.replicas": str(settings.min_insync)}
    if name == settings.topics.journal:
        configs["retention.ms"] = "-1"
    elif name == settings.topics.retried:
        # One record per dead letter, its latest carrying every retry: compaction
        # keeps exactly that, forever.
        configs |= {"cleanup.policy": "compact", "retention.ms": "-1"}
    elif name == settings.topics.snapshots:
        # Two slots per partition: compaction keeps each slot's newest snapshot.
        # Smaller segments than the default 1 GiB, so that old ones are dropped.
        configs |= {"cleanup.policy": "compact", "segment.bytes": str(64 * 1024 * 1024)}
    return configs


async def _wait_for_topics(admin: AIOKafkaAdminClient, names: Iterable[str]) -> None:
    """Until every topic has leaders for all its partitions (new topics take a moment)."""
    for _ in range(100):
        described = await admin.describe_topics(list(names))
        if all(
            t.get("partitions") and all(p["leader"] >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        await asyncio.sleep(0.1)
    raise LogError("topics were created but have no leaders yet")


async def partitions_of(settings: KafkaSettings, topic: str) -> list[int]:
    """The partition numbers of a topic, or LogError if there is no such topic."""
    admin = AIOKafkaAdminClient(
        client_id=f"{settings.client_id}-admin", **settings.client_options()
    )
    await start_or_close(admin)
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    numbers = sorted(p["partition"] for p in described.get("partitions") or ())
    if not numbers:
        raise LogError(f"no topic {topic} on {settings.bootstrap}")
    return numbers
