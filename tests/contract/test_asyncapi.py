"""docs/asyncapi.json is the generated AsyncAPI 3.0 document, and the AsyncAPI parser accepts it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import get_args

from events import AnyEvent, InputEvent, type_name
from tests.tools import need, need_node_module
from triage.kafka import KafkaSettings, Topics, asyncapi_document, topic_for

ROOT = Path(__file__).resolve().parent.parent.parent
DOCUMENT = ROOT / "docs" / "asyncapi.json"
VALIDATE = ROOT / "tools" / "node" / "validate-asyncapi.mjs"


def test_the_committed_document_is_the_generated_one() -> None:
    assert json.loads(DOCUMENT.read_text()) == asyncapi_document(), (
        "docs/asyncapi.json is stale: run `make docs`"
    )


def test_every_topic_is_a_channel_and_every_event_a_message() -> None:
    document = asyncapi_document()
    topics = Topics(prefix="")
    assert {c["address"] for c in document["channels"].values()} == {
        "{prefix}" + name for name in topics.all
    }
    messages = document["components"]["messages"]
    assert {m["name"] for m in messages.values()} >= {type_name(e) for e in get_args(AnyEvent)}


def test_input_events_are_on_the_topics_the_publisher_uses() -> None:
    document = asyncapi_document()
    settings = KafkaSettings(bootstrap="localhost:9092", topics=Topics(prefix=""))
    for event in get_args(InputEvent):
        topic = topic_for(settings, type_name(event))
        channel = document["channels"][topic]
        assert type_name(event).replace(".", "-") in channel["messages"], (event, topic)


def test_the_asyncapi_parser_accepts_the_document() -> None:
    node = need("node")
    need_node_module("@asyncapi/parser")
    result = subprocess.run(
        [node, str(VALIDATE), str(DOCUMENT)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "parsed: AsyncAPI 3.0.0, 8 channels" in result.stdout
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning")]
    assert not warnings, warnings
