"""A small demo log, a `triage serve` over it, and the helpers the HTTP tests share."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
OBJECTIVES = ROOT / "examples" / "objectives.toml"
WORKSPACE = "llm-finetune"


def triage(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run this tree's `triage` (python -m triage.cli), checked."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "triage.cli", *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        **kwargs,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get_json(url: str) -> object:
    status, body = get(url)
    assert status == 200, (url, status, body[:300])
    return json.loads(body)


@pytest.fixture(scope="session")
def demo_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-week demo of 60 experts (a few thousand inputs), routed."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    triage("demo", "--log", str(path), "--experts", "60", "--days", "14", "--quiet")
    return path


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    log: Path


def wait_ready(url: str, seconds: float = 60) -> None:
    """Until /readyz says ready: the journal is recovered and followed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if get(f"{url}/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never got ready")


def start_serve(log: Path, *args: str) -> Served:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TRIAGE_HTTP_TOKEN", None)
    env.pop("TRIAGE_BROKER", None)  # the embedded log, whatever the shell has
    process = subprocess.Popen(
        [sys.executable, "-m", "triage.cli", "serve", "--log", str(log), "--port", str(port),
         "--poll", "0.1", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
    except AssertionError:
        process.kill()
        raise AssertionError(process.communicate()[1]) from None
    return Served(url, process, log)


def stop_serve(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()


@pytest.fixture(scope="session")
def served(demo_log: Path) -> Iterator[Served]:
    """`triage serve` over the demo log, with the example objectives, ready."""
    running = start_serve(demo_log, "--objectives", str(OBJECTIVES))
    yield running
    stop_serve(running)
