"""`triage replay` and `triage whatif` on a Kafka history, and taking it offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import Cluster, wait_until

ROOT = Path(__file__).resolve().parent.parent.parent
QUICKSTART = ROOT / "examples" / "quickstart.jsonl"
TRIAGE = str(Path(sys.executable).parent / "triage")


def test_replay_of_a_kafka_history_and_its_offline_copy(cluster: Cluster, tmp_path: Path) -> None:
    cluster.publish(QUICKSTART.read_bytes())
    cluster.start_worker("ops")
    wait_until(lambda: cluster.processed() >= 20, 120, "20 inputs")
    body = json.loads(cluster.triage("replay", "--json").stdout)
    assert body["identical"] and body["inputs"] == 20
    assert any("does not record the policy" in note for note in body["notes"])

    copy = tmp_path / "copy.db"
    cluster.triage("replay", "--to", str(copy))
    env = {k: v for k, v in cluster.env.items() if k != "TRIAGE_BROKER"}

    def offline(*args: str) -> bytes:
        return subprocess.run(
            [TRIAGE, *args, "--log", str(copy)], env=env, capture_output=True, check=True
        ).stdout

    assert b"identical" in offline("replay")
    online = sorted(cluster.triage("dump").stdout.splitlines())
    assert sorted(offline("dump").splitlines()) == online
    assert json.loads(offline("report", "--json")) == json.loads(
        cluster.triage("report", "--json").stdout
    )
    moment = "2026-11-02T09:40:00Z"
    assert offline("report", "--at", moment) == cluster.triage("report", "--at", moment).stdout

    whatif = json.loads(cluster.triage("whatif", "--json", "--baseline", "random").stdout)
    ((_, columns),) = whatif["workspaces"].items()
    assert [c["label"] for c in columns] == ["recorded", "recorded policy", "random"]
