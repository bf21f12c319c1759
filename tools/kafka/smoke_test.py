#!/usr/bin/env python3
"""Smoke test: does each pinned Kafka version work with aiokafka (and faust)?

Not a pytest file: run it by hand after changing VERSIONS, with an
interpreter that has aiokafka (and optionally faust-streaming) installed,
e.g. a scratch venv outside the repo::

    python3 -m venv /tmp/kvenv
    /tmp/kvenv/bin/pip install 'aiokafka>=0.13' faust-streaming
    /tmp/kvenv/bin/python tools/kafka/smoke_test.py [--version V ...] [-v]

For every version it fetches the jars, starts a broker and checks: topic
creation with 4 partitions, an idempotent producer, a consumer group with
commits, a transaction (send_offsets_to_transaction + commit, plus an
aborted one) read back by a read_committed consumer, data surviving a
SIGKILL + restart, and, if faust is importable, a faust worker consuming
through an agent.  Prints one line per check and exits non-zero on failure.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import broker as kb
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

STEP_TIMEOUT = 60.0


async def create_topics(bs: str, *names: str, partitions: int = 4) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bs)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
        # CreateTopics returns before the new partitions reach the broker's
        # metadata cache, so an immediate describe can still show none.
        want, got = {n: partitions for n in names}, {}
        for _ in range(50):
            meta = await admin.describe_topics(list(names))
            got = {t["topic"]: len(t["partitions"]) for t in meta}
            if got == want:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"partitions: wanted {want}, got {got}")
    finally:
        await admin.close()


async def consume(bs: str, topic: str, n: int, settle: float = 0.0, **kw) -> list:
    """Read until ``n`` records arrived (the step timeout bounds it), then for
    ``settle`` more seconds to catch records that should not be there."""
    c = AIOKafkaConsumer(topic, bootstrap_servers=bs, auto_offset_reset="earliest", **kw)
    await c.start()
    out: list = []
    try:
        while len(out) < n:
            for recs in (await c.getmany(timeout_ms=500)).values():
                out.extend(recs)
        if settle:
            for recs in (await c.getmany(timeout_ms=int(settle * 1000))).values():
                out.extend(recs)
        if kw.get("group_id") and not kw.get("enable_auto_commit", True):
            await c.commit()
            committed = [await c.committed(tp) for tp in c.assignment()]
            assert sum(committed) == n, committed
    finally:
        await c.stop()
    return out


async def check_idempotent_and_group(bs: str) -> str:
    await create_topics(bs, "smoke")
    p = AIOKafkaProducer(bootstrap_servers=bs, enable_idempotence=True, acks="all")
    await p.start()
    try:
        for i in range(20):
            await p.send("smoke", key=str(i % 5).encode(), value=f"v{i}".encode())
        await p.flush()
    finally:
        await p.stop()
    recs = await consume(bs, "smoke", 20, group_id="g1", enable_auto_commit=False)
    parts = sorted({r.partition for r in recs})
    return f"20 records over partitions {parts}, group offsets committed"


async def check_transactions(bs: str) -> str:
    await create_topics(bs, "tx-in", "tx-out")
    p = AIOKafkaProducer(bootstrap_servers=bs)
    await p.start()
    for i in range(10):
        await p.send("tx-in", key=str(i).encode(), value=f"in{i}".encode())
    await p.stop()

    c = AIOKafkaConsumer("tx-in", bootstrap_servers=bs, group_id="txg", enable_auto_commit=False,
                         auto_offset_reset="earliest", isolation_level="read_committed")
    txp = AIOKafkaProducer(bootstrap_servers=bs, transactional_id="smoke-tx")
    await c.start()
    await txp.start()
    try:
        seen = 0
        while seen < 10:  # consume-transform-produce, one transaction per batch
            batch = await c.getmany(timeout_ms=500)
            if not batch:
                continue
            async with txp.transaction():
                for recs in batch.values():
                    for r in recs:
                        await txp.send("tx-out", key=r.key, value=r.value.replace(b"in", b"out"))
                offsets = {tp: recs[-1].offset + 1 for tp, recs in batch.items()}
                await txp.send_offsets_to_transaction(offsets, "txg")
            seen += sum(len(r) for r in batch.values())
        await txp.begin_transaction()  # an aborted one that read_committed must hide
        await txp.send("tx-out", value=b"aborted")
        await txp.abort_transaction()
        committed = sum([await c.committed(tp) or 0 for tp in c.assignment()])
        assert committed == 10, committed
    finally:
        await txp.stop()
        await c.stop()
    raw = await consume(bs, "tx-out", 11, isolation_level="read_uncommitted")
    assert b"aborted" in [r.value for r in raw], raw
    out = await consume(bs, "tx-out", 10, settle=1.5, isolation_level="read_committed")
    assert len(out) == 10 and all(r.value.startswith(b"out") for r in out), out
    return "10 records consumed-transformed-produced in txns with offsets; abort hidden"


async def check_after_crash(bs: str) -> str:
    recs = await consume(bs, "smoke", 20)
    c = AIOKafkaConsumer("smoke", bootstrap_servers=bs, group_id="g1")
    await c.start()
    try:
        committed = sum([await c.committed(TopicPartition("smoke", i)) or 0 for i in range(4)])
    finally:
        await c.stop()
    assert committed == 20, committed
    return f"{len(recs)} records and group offsets ({committed}) survived SIGKILL + restart"


FAUST_APP = textwrap.dedent("""
    import faust
    app = faust.App("smoke-faust", broker="kafka://{bs}", store="memory://", web_enabled=False,
                    topic_partitions=4, topic_replication_factor=1)
    # Faust declares only its internal topics; with auto-creation off the
    # source topic must exist already (created below, like a deploy would).
    topic = app.topic("faust-in", value_type=bytes, value_serializer="raw")

    @app.agent(topic)
    async def sink(stream):
        async for value in stream:
            with open({out!r}, "a") as f:
                f.write(value.decode() + "\\n")
""")


async def check_faust(bs: str, work: Path) -> str:
    out = work / "faust-out.txt"
    await create_topics(bs, "faust-in")
    (work / "smoke_faust_app.py").write_text(FAUST_APP.format(bs=bs, out=str(out)))
    cmd = [sys.executable, "-m", "faust", "-A", "smoke_faust_app", "worker", "-l", "info",
           "--without-web"]
    with open(work / "faust.log", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONPATH": str(work)})
    result = None
    p = AIOKafkaProducer(bootstrap_servers=bs)
    await p.start()
    try:
        # Keep sending until the worker has joined the group and its agent sees data.
        for i in range(int(STEP_TIMEOUT) - 15):
            assert proc.poll() is None, f"faust worker exited {proc.returncode}"
            await p.send_and_wait("faust-in", f"m{i}".encode())
            if out.exists() and out.read_text().strip():
                result = f"agent consumed {len(out.read_text().split())} record(s)"
                break
            await asyncio.sleep(1)
    finally:
        await p.stop()
        t = time.monotonic()
        proc.terminate()
        try:
            proc.wait(10)
            stopped = f"worker stopped on SIGTERM in {time.monotonic() - t:.1f}s"
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            stopped = "worker hung on SIGTERM, killed"
    if result is None:
        sys.stderr.write((work / "faust.log").read_text()[-3000:])
        raise AssertionError(f"agent consumed nothing; {stopped}")
    return f"{result}; {stopped}"


def run_version(version: str) -> bool:
    ok = True

    def step(name: str, fn):
        nonlocal ok
        t = time.monotonic()
        try:
            res = fn()
            if asyncio.iscoroutine(res):
                res = asyncio.run(asyncio.wait_for(res, STEP_TIMEOUT))
            print(f"  ok   {name:<16} {time.monotonic() - t:5.1f}s  {res or ''}", flush=True)
            return res
        except Exception as e:  # report it and carry on with the next check
            ok = False
            took = time.monotonic() - t
            print(f"  FAIL {name:<16} {took:5.1f}s  {type(e).__name__}: {e}", flush=True)
            return None

    print(f"Kafka {version}", flush=True)
    step("fetch", lambda: kb.fetch(version))
    with tempfile.TemporaryDirectory(prefix="kafka-smoke-") as tmp:
        work = Path(tmp)
        b = step("start", lambda: kb.start(version, data_dir=work / "data", log_dir=work / "logs"))
        if b is None:
            return False
        try:
            step("idempotent+group", lambda: check_idempotent_and_group(b.bootstrap))
            step("transactions", lambda: check_transactions(b.bootstrap))
            step("kill+restart", lambda: (b.kill(), b.restart()) and "same port and data dir")
            step("data after crash", lambda: check_after_crash(b.bootstrap))
            try:
                import faust  # noqa: F401
            except ImportError:
                print("  skip faust (not installed)")
            else:
                step("faust agent", lambda: check_faust(b.bootstrap, work))
            step("stop", lambda: b.stop() or f"exit code {b.proc.returncode}")
        finally:
            b.close()
            if not ok:
                print(b.log_tail(15))
    return ok


def _versions() -> str:
    def v(dist: str) -> str:
        try:
            return dist_version(dist)
        except PackageNotFoundError:
            return "-"
    python = sys.version.split()[0]
    return f"aiokafka {v('aiokafka')}, faust-streaming {v('faust-streaming')}, Python {python}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action="append", choices=list(kb.VERSIONS), help="default: all")
    ap.add_argument("-v", "--verbose", action="store_true", help="show aiokafka's own log")
    args = ap.parse_args()
    # aiokafka logs expected transient errors (coordinator not yet available,
    # not leader right after topic creation) that it then retries.
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL)
    print(_versions())
    results = {v: run_version(v) for v in args.version or kb.VERSIONS}
    print("\n".join(f"{v}: {'PASS' if r else 'FAIL'}" for v, r in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
