"""One writer per log: an exclusive ``flock`` on ``PATH.lock``, beside the log.

The lock belongs to the open file, so the kernel releases it when the
holder exits, however it ends (SIGKILL, a crash): there is never a stale
lock to clean up. The file stays; it holds the pid, host, command and start
time of the holder, for the message of the writer that is refused. It is
POSIX ``flock``: local file systems, not NFS shares or Windows.

Only the runtime writers take it (``triage run``, the demo): ``ingest``
only appends inputs, which SQLite serialises and a running writer picks up,
so it may run beside them. The journal's writes are fenced as well
(``Journal.record``), so that even a writer that skipped the lock cannot
write an output twice.
"""

from __future__ import annotations

import fcntl
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from events import LogError

__all__ = ["WriterLock"]


class _Holder(msgspec.Struct, frozen=True):
    pid: int
    host: str
    command: str
    since: str


class WriterLock:
    """The writer lock of the log at ``log``, held in a ``with`` block by ``command``."""

    def __init__(self, log: str | Path, command: str) -> None:
        self.log = Path(log)
        self.path = Path(f"{self.log.resolve()}.lock")
        self.command = command
        self._fd: int | None = None

    def __enter__(self) -> WriterLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise LogError(
                f"cannot open the log {self.log}: cannot create {self.path}: {exc.strerror}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _describe(fd)
            os.close(fd)
            raise LogError(
                f"the log {self.log} is in use by {who}; one writer per log: "
                "stop it or wait for it to end"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise LogError(f"cannot lock the log {self.log}: {exc.strerror}") from None
        holder = _Holder(
            pid=os.getpid(),
            host=socket.gethostname(),
            command=self.command,
            since=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, msgspec.json.encode(holder) + b"\n", 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # before the unlock: the next holder writes its own
        finally:
            os.close(fd)  # closing the last descriptor releases the flock


def _describe(fd: int) -> str:
    try:
        holder = msgspec.json.decode(os.pread(fd, 4096, 0), type=_Holder)
    except (OSError, msgspec.DecodeError):
        return "another writer (which has not yet written who it is)"
    return f"pid {holder.pid} on {holder.host} ({holder.command}, since {holder.since})"
