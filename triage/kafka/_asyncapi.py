"""The AsyncAPI 3.0 document of the Kafka topics, generated from the event Structs.

Every message's payload schema comes from ``msgspec.json.schema_components``
over the contract's Structs, as the JSON Schema of docs/schema does, and
the input topics' messages come from the same table the publisher routes
by (``topic_for``), so docs/asyncapi.json cannot drift from the code; a
test keeps the committed file equal to this document, and the AsyncAPI
parser validates it.

AsyncAPI's default schema format is draft-07 based, where ``discriminator``
is the name of the tag property; msgspec writes OpenAPI's object form, so
it is turned into the name here.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final, get_args

import msgspec

from events import AnyEvent, InputEvent, OutputEvent, type_name

from ._records import _TOPIC_OF_TYPE, RetryMarks
from ._snapshots import SnapshotManifest

__all__ = ["asyncapi_document"]

_REF: Final = "#/components/schemas/{name}"
_PREFIX: Final = {
    "description": "The topic prefix (TRIAGE_TOPIC_PREFIX), e.g. `triage.` or `acme.`",
    "default": "triage.",
}
_KEY: Final = {
    "key": {
        "type": "string",
        "description": "The event's workspace id (UTF-8): one workspace, one partition",
    },
    "bindingVersion": "0.5.0",
}


def _message_name(event: type) -> str:
    return type_name(event).replace(".", "-")


def _draft07(schema: Any) -> Any:
    """``discriminator`` objects as the property name draft-07-based AsyncAPI schemas expect."""
    if isinstance(schema, dict):
        fixed = {key: _draft07(value) for key, value in schema.items()}
        if isinstance(fixed.get("discriminator"), dict):
            fixed["discriminator"] = fixed["discriminator"]["propertyName"]
        return fixed
    if isinstance(schema, list):
        return [_draft07(item) for item in schema]
    return schema


def _channel(address: str, description: str, messages: list[str]) -> dict[str, Any]:
    return {
        "address": "{prefix}" + address,
        "description": description,
        "parameters": {"prefix": {"$ref": "#/components/parameters/prefix"}},
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
    }


@cache
def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document: the eight topics, every event, the journal record, the marks."""
    events = list(get_args(AnyEvent))
    (_, schemas) = msgspec.json.schema_components([*events, SnapshotManifest], ref_template=_REF)
    inputs = {
        topic: [
            _message_name(e) for e in get_args(InputEvent) if _TOPIC_OF_TYPE[type_name(e)] == topic
        ]
        for topic in ("experts", "tasks", "work")
    }
    outputs = [_message_name(e) for e in get_args(OutputEvent)]
    messages: dict[str, Any] = {
        _message_name(event): {
            "name": type_name(event),
            "title": type_name(event),
            "summary": (event.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/json",
            "payload": {"$ref": _REF.format(name=event.__name__)},
            "bindings": {"kafka": _KEY},
        }
        for event in events
    }
    input_union = {"oneOf": [{"$ref": _REF.format(name=e.__name__)} for e in get_args(InputEvent)]}
    output_union = {
        "oneOf": [{"$ref": _REF.format(name=e.__name__)} for e in get_args(OutputEvent)]
    }
    messages["journal-batch"] = {
        "name": "journal.batch",
        "title": "Journal record",
        "summary": "One committed batch of a partition: inputs with their outputs, and positions.",
        "contentType": "application/json",
        "payload": {"$ref": _REF.format(name="JournalBatch")},
    }
    messages["dead-letter"] = {
        "name": "deadletter",
        "title": "Dead letter",
        "summary": "A record of an input topic that never became an event: its raw bytes.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "properties": {
                "triage.error": {"type": "string", "description": "Why it was refused"},
                "triage.source.topic": {"type": "string"},
                "triage.source.partition": {"type": "string", "description": "decimal"},
                "triage.source.offset": {"type": "string", "description": "decimal"},
            },
            "required": [
                "triage.error",
                "triage.source.topic",
                "triage.source.partition",
                "triage.source.offset",
            ],
        },
        "payload": {"description": "The record's value as it was read, not necessarily JSON"},
    }
    messages["retry-marks"] = {
        "name": "deadletter.retried",
        "title": "Retries of a dead letter",
        "summary": "Every retry marked on one dead letter so far; the latest record of a key "
        "is the whole story (the topic is compacted).",
        "contentType": "application/json",
        "payload": {"$ref": _REF.format(name="RetryMarks")},
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": "The dead letter's id, TOPIC:PARTITION:OFFSET of its record",
                },
                "bindingVersion": "0.5.0",
            }
        },
    }
    (_, marks) = msgspec.json.schema_components([RetryMarks], ref_template=_REF)
    schemas.update(marks)
    messages["snapshot-chunk"] = {
        "name": "snapshot.chunk",
        "title": "Snapshot chunk",
        "summary": "Up to 512 KiB of a snapshot's body, in order; its manifest follows.",
        "contentType": "application/octet-stream",
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "`{slot}/{index}`, slot 0 or 1"},
                "bindingVersion": "0.5.0",
            }
        },
        "payload": {"description": "A slice of the snapshot's JSON body (docs/kafka.md)"},
    }
    messages["snapshot-manifest"] = {
        "name": "snapshot.manifest",
        "title": "Snapshot manifest",
        "summary": "Where a partition's snapshot is, what it covers, and its digest.",
        "contentType": "application/json",
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "`{slot}`, 0 or 1"},
                "bindingVersion": "0.5.0",
            }
        },
        "payload": {"$ref": _REF.format(name="SnapshotManifest")},
    }
    schemas["JournalBatch"] = {
        "type": "object",
        "description": "Plain JSON, readable without a framework (docs/kafka.md)",
        "properties": {
            "v": {"const": 1},
            "offsets": {
                "type": "object",
                "description": "Each input topic's next offset to read in this partition",
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
            "entries": {
                "type": "array",
                "description": "Each accepted input, in order, with the outputs it caused",
                "items": {
                    "type": "array",
                    "items": [input_union, {"type": "array", "items": output_union}],
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
            "deadletters": {"type": "integer", "minimum": 0},
        },
        "required": ["v", "offsets", "entries"],
    }
    channels = {
        "experts": _channel(
            "experts", "Expert profiles, presence and removals.", inputs["experts"]
        ),
        "tasks": _channel("tasks", "New and cancelled tasks, and clock ticks.", inputs["tasks"]),
        "work": _channel("work", "Declines, submissions and reviews.", inputs["work"]),
        "assignments": _channel(
            "assignments", "Every output event of the engine, keyed by workspace.", outputs
        ),
        "deadletter": _channel(
            "deadletter", "Input records that could not be decoded or validated.", ["dead-letter"]
        ),
        "journal": _channel(
            "journal",
            "The engine's ordered log: committed batches, written in the batch's transaction.",
            ["journal-batch"],
        ),
        "deadletterRetried": _channel(
            "deadletter.retried",
            "The retries marked on dead letters by `triage deadletters retry`, compacted.",
            ["retry-marks"],
        ),
        "snapshots": _channel(
            "snapshots",
            "Snapshots of each partition's fold (compacted): chunks, then a manifest, "
            "written in a transaction of their own after the journal record they cover.",
            ["snapshot-chunk", "snapshot-manifest"],
        ),
    }

    def operation(action: str, channel: str, text: str) -> dict[str, Any]:
        return {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": text,
            "messages": [
                {"$ref": f"#/channels/{channel}/messages/{name}"}
                for name in channels[channel]["messages"]
            ],
        }

    document = {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Triage on Kafka",
            "version": "1.0.0",
            "description": "The topics a Triage worker reads and writes. Producers publish input "
            "events keyed by workspace; the workers route them and write, in one transaction "
            "per batch, the decisions, the dead letters and the journal. Events: docs/events.md.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "localhost:29092",
                "protocol": "kafka",
                "description": "The broker of docker/compose.yaml, from the host",
            }
        },
        "channels": channels,
        "operations": {
            "receiveExperts": operation("receive", "experts", "The workers consume experts."),
            "receiveTasks": operation("receive", "tasks", "The workers consume tasks."),
            "receiveWork": operation("receive", "work", "The workers consume work."),
            "sendAssignments": operation("send", "assignments", "The workers' decisions."),
            "sendDeadLetters": operation("send", "deadletter", "Refused input records."),
            "sendJournal": operation("send", "journal", "The journal's batches."),
            "sendRetryMarks": operation(
                "send", "deadletterRetried", "Retries marked by `triage deadletters retry`."
            ),
            "sendSnapshots": operation("send", "snapshots", "Snapshots of the journal's fold."),
        },
        "components": {
            "parameters": {"prefix": _PREFIX},
            "schemas": _draft07(schemas),
            "messages": messages,
        },
    }
    # Through JSON once: tuple defaults become arrays, as in the committed file.
    return msgspec.json.decode(msgspec.json.encode(document))  # type: ignore[no-any-return]
