"""Where a process's time goes, by stage: a stack sampler for bench/trace_kafka.py.

Every ``interval`` seconds of CPU time the main thread's stack is looked
at and named by the stage it is in: the innermost frame that a rule of
``STAGES`` matches. Each stage's share of the samples is its share of the
CPU time. It is how py-spy would see the process, without leaving it.

C code (msgspec, aiokafka's record reader) has no frame of its own: its
time counts for the Python function that called it, which is what a stage
is meant to be.
"""

from __future__ import annotations

import gc
import signal
import time
from collections import defaultdict
from types import FrameType
from typing import Final

__all__ = ["STAGES", "Sampler", "stage_of"]

#: (a fragment of the file's path, the function or "" for any, the stage), tried in order.
STAGES: Final = (
    ("/router/", "", "Engine.apply"),
    ("/events/_codec.py", "encode", "encode inputs and outputs"),
    ("/events/_codec.py", "", "decode (msgspec, screening)"),
    ("/triage/kafka/_intake.py", "", "checks of a record (key, partition, time)"),
    ("/triage/kafka/_worker.py", "_buffer", "checks of a record (key, partition, time)"),
    ("/triage/kafka/_merge.py", "", "merge"),
    ("/triage/kafka/_worker.py", "_drain", "merge"),
    ("/triage/kafka/_worker.py", "_delivered", "merge"),
    ("/triage/kafka/_records.py", "", "journal record"),
    ("/triage/kafka/_batch.py", "", "dedupe and bookkeeping"),
    ("/triage/_logging.py", "", "decision log"),
    ("/triage/kafka/_transaction.py", "", "produce: batches of records"),
    ("/aiokafka/producer/sender.py", "", "transactions and produce requests"),
    ("/aiokafka/producer/transaction_manager.py", "", "transactions and produce requests"),
    ("/aiokafka/producer/", "", "produce: batches of records"),
    ("/aiokafka/consumer/group_coordinator.py", "", "group membership"),
    ("/aiokafka/consumer/", "", "fetch and unpack"),
    ("/aiokafka/", "", "connections and protocol"),
    ("/selectors.py", "select", "idle (waiting for the network)"),
    ("/asyncio/", "", "event loop"),
    ("/triage/", "", "worker loop"),
)


def stage_of(frame: FrameType | None) -> str:
    """The stage of a stack: the first rule that its innermost matching frame meets."""
    while frame is not None:
        code = frame.f_code
        path = code.co_filename
        for fragment, function, stage in STAGES:
            if fragment in path and (not function or function == code.co_name):
                return stage
        frame = frame.f_back
    return "other"


class Sampler:
    """Samples the main thread's stack every ``interval`` seconds of the process's CPU time.

    A profiling timer (``ITIMER_PROF``) sends SIGPROF; the handler runs in
    the main thread at its next bytecode and is given the frame it
    interrupted, so a sample never lands preferentially where the
    interpreter lets go of the GIL (a thread that samples does: every
    socket write would take the samples of the computation before it). Only
    CPU time is sampled; waiting is the wall time less the CPU time.
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.counts: dict[str, int] = defaultdict(int)
        #: Seconds in the cyclic garbage collector, by generation (its time is
        #: also in the samples, of whatever stage allocated when it ran).
        self.collecting: dict[int, float] = defaultdict(float)
        self._collect_from = 0.0

    @property
    def samples(self) -> int:
        """How many samples were taken."""
        return sum(self.counts.values())

    def start(self) -> None:
        """Begin sampling (from the main thread)."""
        self.counts.clear()
        self.collecting.clear()
        gc.callbacks.append(self._collect)
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)

    def stop(self) -> None:
        """Stop sampling."""
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)
        if self._collect in gc.callbacks:
            gc.callbacks.remove(self._collect)

    def shares(self) -> dict[str, float]:
        """Each stage's share of the samples, largest first."""
        total = self.samples or 1
        ranked = sorted(self.counts.items(), key=lambda kv: -kv[1])
        return {stage: count / total for stage, count in ranked}

    def _sample(self, signum: int, frame: FrameType | None) -> None:
        self.counts[stage_of(frame)] += 1

    def _collect(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collect_from = time.process_time()
        else:
            self.collecting[info["generation"]] += time.process_time() - self._collect_from
