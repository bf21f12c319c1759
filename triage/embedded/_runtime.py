"""The engine driven by the embedded journal: recover, process, follow.

This is the imperative shell around ``router.Engine`` when no broker is
configured. It owns nothing the journal does not: on start it rebuilds the
engine by folding the processed inputs again (with the policy that was in
force at each position), then processes what is pending in batches, each
batch's outputs committed together with the ``processed`` mark.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import msgspec
import structlog

from events import EventRejected, InputEvent, OutputEvent, clock_ticks
from router import DEFAULT_POLICY, Engine, Policy, SnapshotError, restore, snapshot

from .._logged import decode_logged
from .._logging import log_decisions
from .._policy_file import encode_policy
from ._journal import Journal
from ._sqlite import damaged

__all__ = ["EmbeddedRuntime"]

_log = structlog.get_logger("triage")


class EmbeddedRuntime:
    """Runs the engine over a journal; one writer per journal at a time."""

    def __init__(
        self,
        journal: Journal,
        policy: Policy = DEFAULT_POLICY,
        *,
        batch: int = 2_000,
        on_outputs: Callable[[Sequence[OutputEvent]], None] | None = log_decisions,
        snapshot_every: int = 100_000,
    ) -> None:
        self.journal = journal
        self.policy = policy
        self.engine = Engine(policy)
        self.batch = batch
        self.on_outputs = on_outputs
        self.position = 0
        self.recovered = False
        self.done = 0  # inputs processed by this runtime, kept even if a run is interrupted
        #: A snapshot of the engine is kept every this many inputs (0: never).
        self.snapshot_every = snapshot_every
        self.snapshot_at = 0  # position of the newest snapshot this runtime knows of
        self.restored_from = 0  # position of the snapshot recovery started from (0: none)

    def recover(
        self,
        *,
        stop: threading.Event | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Rebuild the engine from the processed inputs; returns how many it covers.

        It starts from the newest snapshot it can restore (``restored_from``)
        and folds the inputs after it; a snapshot that is damaged, of another
        engine version or of another policy than the log had in force there
        is passed over with a warning, down to a fold of the whole log.
        ``progress(position, processed)`` is called after each read of the
        log. When ``stop`` is set the fold ends after the read in hand (a
        fraction of a second), unfinished: the runtime is not recovered.
        """
        try:
            epochs = [
                (pos, msgspec.json.decode(body, type=Policy))
                for pos, body in self.journal.policies()
            ]
        except msgspec.DecodeError as exc:
            raise damaged(self.journal.path, f"a policy does not decode: {exc}") from None
        processed = self.journal.processed()
        self._restore(processed, epochs)
        epochs = [epoch for epoch in epochs if epoch[0] > self.position]
        folded = 0
        while self.position < processed:
            rows = self.journal.inputs(self.position, upto=processed, limit=self.batch * 5)
            if not rows:
                raise damaged(
                    self.journal.path,
                    f"its processed mark is {processed}, its last input is {self.position}",
                )
            for pos, body in rows:
                while epochs and epochs[0][0] <= pos:
                    self.engine.policy = epochs.pop(0)[1]
                event = decode_logged(body)
                if not isinstance(event, EventRejected):
                    self.engine.apply(event)
                self.position = pos
                folded += 1
            if progress is not None:
                progress(self.position, processed)
            if stop is not None and stop.is_set():
                return self.position
        if self.snapshot_every and folded >= self.snapshot_every:
            self._snapshot()  # the next start need not fold all this again
        self.engine.policy = self.policy
        self.journal.set_policy(encode_policy(self.policy))
        self.recovered = True
        return self.position

    def _restore(self, processed: int, epochs: list[tuple[int, Policy]]) -> None:
        """Start from the newest usable snapshot at or before ``processed``, if any."""
        for position, body in self.journal.snapshots(processed):
            try:
                engine = restore(body)
            except SnapshotError as exc:
                _log.warning("snapshot.unusable", position=position, reason=str(exc))
                continue
            in_force = DEFAULT_POLICY
            for first, policy in epochs:
                if first <= position:
                    in_force = policy
            if engine.policy != in_force:
                _log.warning(
                    "snapshot.unusable",
                    position=position,
                    reason="its policy is not the one the log had in force there",
                )
                continue
            self.engine, self.position = engine, position
            self.restored_from = self.snapshot_at = position
            return

    def _snapshot(self) -> None:
        self.journal.save_snapshot(self.position, snapshot(self.engine))
        self.snapshot_at = self.position

    def step(self) -> int:
        """Process one batch of pending inputs; returns how many."""
        if not self.recovered:
            self.recover()
        rows = self.journal.inputs(self.position, limit=self.batch)
        if not rows:
            return 0
        results = []
        for pos, body in rows:
            event = decode_logged(body)
            outputs = [event] if isinstance(event, EventRejected) else self.engine.apply(event)
            results.append((pos, outputs))
            if outputs and self.on_outputs is not None:
                self.on_outputs(outputs)
        self.position = self.journal.record(results, after=self.position)
        self.done += len(rows)
        if self.snapshot_every and self.position - self.snapshot_at >= self.snapshot_every:
            self._snapshot()
        return len(rows)

    def run(
        self,
        *,
        until_idle: bool,
        poll: float = 0.2,
        tick: float | None = None,
        stop: threading.Event | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> int:
        """Process pending inputs; unless ``until_idle``, keep following the log.

        While following, every ``tick`` seconds a ``clock.tick`` at the wall
        clock is appended to the log for each workspace, so leases expire with
        no traffic. The ticks are logged inputs like any other, so a replay
        of the log decides exactly as this run did.
        """
        done = 0
        last_tick = time.monotonic()
        while stop is None or not stop.is_set():
            count = self.step()
            done += count
            if count:
                continue
            if until_idle:
                break
            if tick is not None and time.monotonic() - last_tick >= tick:
                last_tick = time.monotonic()
                self.journal.append(self.ticks(clock()))
                continue
            if stop is not None:
                stop.wait(poll)
            else:
                time.sleep(poll)
        return done

    def ticks(self, now: datetime) -> list[InputEvent]:
        """One ``clock.tick`` per known workspace at ``now``."""
        return list(clock_ticks(now, self.engine.workspaces))
