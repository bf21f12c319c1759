"""The built-in baselines of what-if: longest idle, round robin, seeded random.

Longest idle is a policy like any other: only the idle weight, with a
horizon of a year so that it does not saturate (at the default 24 hours,
everyone idle for a day would tie, and ties go by expert id).

Round robin and seeded random are not weighted scores of quality, load,
idle and fit, so they cannot be a ``router.Policy``. They are engines that
rank the eligible experts their own way, everything else (eligibility, the
contract's rules, queue order, leases, outputs) being the real engine's.

Both are a ``router.Ranking``: the engine asks them to score each
eligible expert instead of the policy (the highest total wins, ties by
id) and tells them of every assignment. They run only in sandboxes.
"""

from __future__ import annotations

import bisect
import hashlib
from typing import Any, Final

import msgspec

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
        by_kind=False,
        agreement_share=0.0,
        idle_horizon_hours=_HORIZON_HOURS,
    )


class _SeededRandom:
    """Each task goes to an eligible expert drawn uniformly, from a seed.

    Every (task, attempt, expert) gets a pseudo-random key from a keyed
    hash; the engine picks the largest, which among the candidates is a
    uniform draw. Stateless, so it is deterministic whatever the order in
    which the engine scores the candidates.
    """

    def __init__(self, seed: int) -> None:
        self._key = str(seed).encode()

    def assigned(self, ws: Any, task: Any, expert: Any) -> None:
        """Nothing to remember: every draw is a hash."""

    def score(self, ws: Any, expert: Any, task: Any, policy: Policy) -> Score:
        text = f"{ws.name}\0{task.task}\0{task.attempts}\0{expert.expert}".encode()
        digest = hashlib.blake2b(text, digest_size=8, key=self._key).digest()
        draw = int.from_bytes(digest, "big") / _SCALE
        return Score(draw, 0.0, 0.0, 0.0, 0.0)


class _RoundRobin:
    """Experts take turns in a fixed order (their ids), skipping those who cannot take the task.

    The next task goes to the first eligible expert after the one who got
    the last task in the workspace, cyclically. The roster is every expert
    the workspace knows, in id order.
    """

    def __init__(self) -> None:
        self._last: dict[str, str] = {}  # workspace -> the expert who got the last task
        self._rosters: dict[str, list[str]] = {}

    def _roster(self, ws: Any) -> list[str]:
        # Experts are never forgotten by the engine (a removed one stays known),
        # so the roster changes exactly when the count does.
        roster = self._rosters.get(ws.name)
        if roster is None or len(roster) != len(ws.experts):
            roster = self._rosters[ws.name] = sorted(ws.experts)
        return roster

    def score(self, ws: Any, expert: Any, task: Any, policy: Policy) -> Score:
        roster = self._roster(ws)
        size = len(roster)
        last = self._last.get(ws.name)
        after = -1 if last is None else bisect.bisect_left(roster, last)
        turn = (bisect.bisect_left(roster, expert.expert) - after - 1) % size
        return Score(1.0 - turn / size, 0.0, 0.0, 0.0, 0.0)

    def assigned(self, ws: Any, task: Any, expert: Any) -> None:
        self._last[ws.name] = expert.expert


def baseline_engine(name: str, lease_from: Policy, seed: int) -> Engine:
    """A fresh engine for a built-in baseline; the lease rule is ``lease_from``'s."""
    if name == "longest-idle":
        return Engine(longest_idle(lease_from))
    if name == "round-robin":
        return Engine(
            msgspec.structs.replace(lease_from, name="round-robin"), ranking=_RoundRobin()
        )
    if name == "random":
        return Engine(
            msgspec.structs.replace(lease_from, name="random"), ranking=_SeededRandom(seed)
        )
    raise ValueError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
