"""Triage on Kafka: workers of one consumer group, and the clients around them.

- settings: :class:`KafkaSettings` (one frozen object, built at the edge),
  the setting tables :data:`CONNECTION` and :data:`WORKER`, and
  :func:`worker_config_from_environment`;
- the worker: :class:`Worker` (plain asyncio over aiokafka), hosted by a
  Faust app (:func:`make_app`, :func:`run_worker`);
- clients: :class:`Publisher` and :func:`publish_lines` for producers,
  :func:`read_journal`, :func:`follow_journal`, :func:`dump_kafka`,
  :func:`follow_kafka` (the journal into the web views' ``LiveLog``),
  :func:`report_kafka` and :func:`tail_assignments` for readers, :func:`create_topics`;
- dead letters: :func:`read_dead_letters`, :func:`read_dead_letter` and
  :func:`retry_on_kafka` (the retries marked on a compacted topic);
- the journal's records: :class:`JournalBatch`, :func:`partition_for`,
  :func:`topic_for`, and the topics' AsyncAPI document (:func:`asyncapi_document`).

This is the only package of Triage that imports aiokafka or Faust. Every
public function turns the Kafka client's errors into :class:`events.LogError`.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._settings import (
    CONNECTION,
    WORKER,
    KafkaSettings,
    Security,
    Setting,
    Topics,
    WorkerConfig,
    kafka_settings,
    parse_broker,
    worker_config,
    worker_config_from_environment,
)

if TYPE_CHECKING:
    from ._admin import create_topics
    from ._app import make_app, run_worker
    from ._asyncapi import asyncapi_document
    from ._follow import follow_kafka
    from ._letters import read_dead_letter, read_dead_letters, retry_on_kafka
    from ._publish import Published, Publisher, publish_lines
    from ._read import (
        JournalSink,
        dump_kafka,
        follow_journal,
        read_journal,
        report_kafka,
        tail_assignments,
    )
    from ._records import JournalBatch, decode_batch, encode_batch, partition_for, topic_for
    from ._worker import Worker

__all__ = [
    "CONNECTION",
    "WORKER",
    "JournalBatch",
    "JournalSink",
    "KafkaSettings",
    "Published",
    "Publisher",
    "Security",
    "Setting",
    "Topics",
    "Worker",
    "WorkerConfig",
    "asyncapi_document",
    "create_topics",
    "decode_batch",
    "dump_kafka",
    "encode_batch",
    "follow_journal",
    "follow_kafka",
    "kafka_settings",
    "make_app",
    "parse_broker",
    "partition_for",
    "publish_lines",
    "read_dead_letter",
    "read_dead_letters",
    "read_journal",
    "report_kafka",
    "retry_on_kafka",
    "run_worker",
    "tail_assignments",
    "topic_for",
    "worker_config",
    "worker_config_from_environment",
]

#: Where the names that need aiokafka or Faust live. They are imported on
#: first use (PEP 562), so that the settings, and with them every command's
#: options, load without the Kafka client: ``triage --help`` stays fast, and
#: the embedded commands work where the ``kafka`` extra is not installed.
_LAZY = {
    "create_topics": "_admin",
    "make_app": "_app",
    "run_worker": "_app",
    "asyncapi_document": "_asyncapi",
    "follow_kafka": "_follow",
    "read_dead_letter": "_letters",
    "read_dead_letters": "_letters",
    "retry_on_kafka": "_letters",
    "Published": "_publish",
    "Publisher": "_publish",
    "publish_lines": "_publish",
    "dump_kafka": "_read",
    "follow_journal": "_read",
    "JournalSink": "_read",
    "read_journal": "_read",
    "report_kafka": "_read",
    "tail_assignments": "_read",
    "JournalBatch": "_records",
    "decode_batch": "_records",
    "encode_batch": "_records",
    "partition_for": "_records",
    "topic_for": "_records",
    "Worker": "_worker",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
