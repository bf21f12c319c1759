"""``triage deadletters --broker`` on a real broker: list, show and retry what a worker refused."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.http.conftest import free_port
from tests.integration.conftest import TRIAGE, Cluster, wait_until
from tests.integration.test_serve import fetch
from tests.integration.test_worker import QUICKSTART, journal_lines

LATE = (
    b'{"type":"task.created","id":"t-late","at":"2026-11-02T12:00:00Z",'
    b'"workspace":"acme-llm","task":"late-001","kind":"write","domain":"general",'
    b'"language":"en","minutes":20,"priority":%d}'
)


def listed(cluster: Cluster, *args: str) -> list[dict[str, Any]]:
    found = cluster.triage("deadletters", "--json", *args).stdout
    return [json.loads(line) for line in found.splitlines()]


def test_dead_letters_on_kafka_are_listed_shown_and_retried(cluster: Cluster) -> None:
    tasks = cluster.env["TRIAGE_TOPIC_PREFIX"] + "tasks"
    cluster.publish(QUICKSTART.read_bytes())
    cluster.publish((LATE % 101) + b"\n\xff\xfe\n", "--raw", "--topic", tasks)
    cluster.start_worker("w1")
    wait_until(lambda: len(listed(cluster)) == 2, 90, "two dead letters")
    wait_until(lambda: cluster.processed() == 20, 90, "20 inputs in the journal")
    (late,) = [x for x in listed(cluster) if "priority" in x["error"]]
    (binary,) = [x for x in listed(cluster) if x["id"] != late["id"]]
    prefix = cluster.env["TRIAGE_TOPIC_PREFIX"]
    assert late["id"].startswith(f"{prefix}deadletter:") and late["status"] == "open"
    assert late["source"] == tasks and late["location"].startswith("partition ")
    assert late["error"] == "Expected `int` <= 100 - at `$.priority`"
    assert late["received"].endswith("Z")

    text = cluster.triage("deadletters", "show", binary["id"]).stdout.decode()
    assert "not UTF-8:" in text and "00000000  ff fe" in text
    shown = json.loads(cluster.triage("deadletters", "show", late["id"], "--json").stdout)
    assert shown["raw"].encode() == LATE % 101
    assert listed(cluster, "--reason", "priority") == [late]
    assert listed(cluster, "--status", "retried") == []

    # The correction is published as the publisher does, routed, and the original marked.
    fixes = b'{"dead_letter": "%s", "event": %s}\n' % (late["id"].encode(), LATE % 100)
    done = cluster.triage("deadletters", "retry", "--file", "-", stdin=fixes).stdout.decode()
    assert f"{late['id']}: retried by event t-late of acme-llm, published" in done
    wait_until(lambda: cluster.processed() == 21, 90, "the corrected event in the journal")
    lines = journal_lines(cluster)
    assert any(b'"id":"t-late"' in line and b'"task.created"' in line for line in lines)
    assert any(b'"cause":"t-late"' in line and b'"task.assigned"' in line for line in lines)
    (retried,) = listed(cluster, "--status", "retried")
    assert retried["id"] == late["id"]
    assert [r["event"] for r in retried["retries"]] == ["t-late"]
    assert [x["id"] for x in listed(cluster, "--status", "open")] == [binary["id"]]
    report = json.loads(cluster.triage("report", "--json").stdout)
    assert report[""]["dead_letters"] | {"by_source": None} == {
        "total": 2,
        "by_source": None,
        "retried": 1,
    }

    # A second retry is refused unless --again; then the workers see a duplicate.
    refused = subprocess.run(
        [TRIAGE, "deadletters", "retry", "--file", "-"],
        env=cluster.env,
        input=fixes,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 1 and b"already retried by event t-late" in refused.stderr
    cluster.triage("deadletters", "retry", "--again", "--file", "-", stdin=fixes)
    (twice,) = listed(cluster, "--status", "retried")
    assert [r["event"] for r in twice["retries"]] == ["t-late", "t-late"]
    cluster.publish(QUICKSTART.read_bytes())  # more resends behind it, to wait for
    wait_until(lambda: _duplicates(cluster) >= 22, 90, "the resends seen as duplicates")
    assert cluster.processed() == 21

    # `triage serve --broker` tells the retried letter from the open one.
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen(
        [TRIAGE, "serve", "--port", str(port)],  # TRIAGE_BROKER is set: Kafka
        env=cluster.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: fetch(f"{url}/readyz")[0] == 200, 90, "serve caught up")
        wait_until(
            lambda: json.loads(fetch(f"{url}/api/v1/deadletters")[1])["retried"] == 1,
            60,
            "the retry in the API",
        )
        body = json.loads(fetch(f"{url}/api/v1/deadletters")[1])
        assert {x["id"]: (x["status"], x["retried_by"]) for x in body["dead_letters"]} == {
            late["id"]: ("retried", "t-late"),
            binary["id"]: ("open", None),
        }
    finally:
        serve.terminate()
        serve.wait(timeout=20)


def _duplicates(cluster: Cluster) -> int:
    statuses = [cluster.status(worker) for worker in cluster.workers]
    return sum(
        partition["duplicates"]
        for status in statuses
        if status is not None
        for partition in status["partitions"].values()
    )
