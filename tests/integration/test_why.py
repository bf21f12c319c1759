"""`triage why` on a Kafka history: the same explanations as on the embedded log."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.integration.conftest import TRIAGE, Cluster, wait_until

ROOT = Path(__file__).resolve().parent.parent.parent
QUICKSTART = ROOT / "examples" / "quickstart.jsonl"


def test_why_explains_an_assignment_and_a_non_assignment_on_kafka(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.publish(QUICKSTART.read_bytes())
    cluster.start_worker("why")
    wait_until(lambda: cluster.processed() >= 20, 120, "20 inputs")

    body = json.loads(cluster.triage("why", "write-001", "--json").stdout)
    assert body["workspace"] == "acme-llm" and body["state"] == "completed"
    assert body["diverged"] is None
    assert any("does not record the policy" in note for note in body["notes"])
    (decision,) = body["decisions"]
    assert decision["outcome"] == "assigned" and decision["expert"] == decision["recorded"] == "ana"
    assert decision["explanation"]["eligible"] == 2

    text = cluster.triage("why", "review-001", "--expert", "ana").stdout.decode()
    assert "ana: removed by concurrency: 1 of 1 slots taken (and by parent)" in text
    assert "bo got it" in text and "ana never got it" in text

    # The same answer as on the history taken offline into an embedded log.
    copy = tmp_path / "copy.db"
    cluster.triage("replay", "--to", str(copy))
    env = {k: v for k, v in cluster.env.items() if k != "TRIAGE_BROKER"}
    offline = subprocess.run(
        [TRIAGE, "why", "review-001", "--expert", "ana", "--log", str(copy)],
        env=env,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    assert offline.splitlines()[2:] == [
        line for line in text.splitlines()[2:] if not line.startswith("note:")
    ]

    missing = subprocess.run(
        [TRIAGE, "why", "nope"], env=cluster.env, capture_output=True, text=True, check=False
    )
    assert missing.returncode == 1 and "no task 'nope'" in missing.stderr
