"""The built-in baselines of what-if: longest idle, round robin, seeded random.

Longest idle is a policy like any other: only the idle weight, with a
horizon of a year so that it does not saturate (at the default 24 hours,
everyone idle for a day would tie, and ties go by expert id).

Round robin and seeded random are not weighted scores of quality, load,
idle and fit, so they cannot be a ``router.Policy``. They are engines that
rank the eligible experts their own way, everything else (eligibility, the
contract's rules, queue order, leases, outputs) being the real engine's.

NOTE for maintainers: the two subclasses below override the engine's
private ranking hook ``_score(ws, expert, task) -> Score`` (the engine picks
the highest total among the eligible experts with room, ties by id) and, for
round robin, ``_assign`` (to move the turn). These are the only two places
outside ``router`` that know the engine's internals; when the engine is
reorganized, adapt them here. They run only in the what-if sandbox.
"""

from __future__ import annotations

import bisect
import hashlib
from typing import Any, Final

import msgspec

from events import ExpertProfile, InputEvent, OutputEvent
from router import Engine, Policy, Score

__all__ = ["BASELINES", "baseline_engine", "longest_idle"]

#: The names of the built-in baselines, as the command line takes them.
BASELINES: Final = ("longest-idle", "round-robin", "random")
_HORIZON_HOURS: Final = 8_760.0
_SCALE: Final = float(2**64)


def longest_idle(lease_from: Policy) -> Policy:
    """The policy that gives each task to the eligible expert idle the longest."""
    return msgspec.structs.replace(
        lease_from,
        name="longest-idle",
        quality=0.0,
        load=0.0,
        idle=1.0,
        fit=0.0,
        idle_horizon_hours=_HORIZON_HOURS,
    )


class _SeededRandom(Engine):
    """Each task goes to an eligible expert drawn uniformly, from a seed.

    Every (task, attempt, expert) gets a pseudo-random key from a keyed
    hash; the engine picks the largest, which among the candidates is a
    uniform draw. Stateless, so it is deterministic whatever the order in
    which the engine scores the candidates.
    """

    def __init__(self, policy: Policy, seed: int) -> None:
        super().__init__(policy)
        self._key = str(seed).encode()

    def _score(self, ws: Any, expert: Any, task: Any) -> Score:
        text = f"{ws.name}\0{task.task}\0{task.attempts}\0{expert.expert}".encode()
        digest = hashlib.blake2b(text, digest_size=8, key=self._key).digest()
        draw = int.from_bytes(digest, "big") / _SCALE
        return Score(draw, 0.0, 0.0, 0.0, 0.0)


class _RoundRobin(Engine):
    """Experts take turns in a fixed order (their ids), skipping those who cannot take the task.

    The next task goes to the first eligible expert after the one who got
    the last task in the workspace, cyclically.
    """

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self._rosters: dict[str, list[str]] = {}
        self._last: dict[str, int] = {}

    def apply(self, event: InputEvent) -> list[OutputEvent]:
        if isinstance(event, ExpertProfile):
            roster = self._rosters.setdefault(event.workspace, [])
            at = bisect.bisect_left(roster, event.expert)
            if at == len(roster) or roster[at] != event.expert:
                roster.insert(at, event.expert)
                last = self._last.get(event.workspace)
                if last is not None and at <= last:
                    self._last[event.workspace] = last + 1
        return super().apply(event)

    def _score(self, ws: Any, expert: Any, task: Any) -> Score:
        roster = self._rosters[ws.name]
        size = len(roster)
        turn = (bisect.bisect_left(roster, expert.expert) - self._last.get(ws.name, -1) - 1) % size
        return Score(1.0 - turn / size, 0.0, 0.0, 0.0, 0.0)

    def _assign(self, step: Any, task: Any, expert: Any, eligible: int) -> None:
        super()._assign(step, task, expert, eligible)
        roster = self._rosters[step.ws.name]
        self._last[step.ws.name] = bisect.bisect_left(roster, expert.expert)


def baseline_engine(name: str, lease_from: Policy, seed: int) -> Engine:
    """A fresh engine for a built-in baseline; the lease rule is ``lease_from``'s."""
    if name == "longest-idle":
        return Engine(longest_idle(lease_from))
    if name == "round-robin":
        return _RoundRobin(msgspec.structs.replace(lease_from, name="round-robin"))
    if name == "random":
        return _SeededRandom(msgspec.structs.replace(lease_from, name="random"), seed)
    raise ValueError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
