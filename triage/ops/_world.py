"""The policy harness's world: hidden quality by domain and kind, reviewers who err, the oracle.

The simulation (``triage.sim``) plays the people, their presence and speed,
the client's work and the reviews' timing. What a review *says* is
replaced here by a model in which a quality-aware policy has something to
learn, and the oracle something to know:

- every expert has a hidden base quality (drawn as the simulation draws
  its own: 85% between 0.78 and 0.96, the rest between 0.5 and 0.75) and a
  hidden deviation from it per (domain, kind), normal with sd ``spread``;
- every submission has one true score, normal around its author's quality
  in the task's (domain, kind) with sd 0.08 (the simulation's);
- every reviewer reads it with a hidden bias (sd ``noise`` / 2) and noise
  (sd ``noise`` x 0.25-2); the QA leads (``qa-`` names) are close to exact;
- a share ``qa_rate`` of the reviews an expert writes is audited by QA at
  the same moment: a second review of the same submission, which is what
  the learned policy's agreement compares with.

A review passes at a score of 0.7, as in the simulation. Every draw is a
keyed hash of (seed, what it is about), so the world does not depend on the
order in which a policy makes things happen: the same expert has the same
quality, the same submission the same true score, under every policy.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from typing import Any, Final

import msgspec

from events import InputEvent, OutputEvent, TaskCreated, TaskReviewed, TaskStep
from router import Policy, Score

__all__ = ["PASS", "Oracle", "Truth", "World", "gated"]

#: The score at which a review passes (the simulation's).
PASS: Final = 0.7
_SUBMISSION_SD: Final = 0.08
_QA_NOISE: Final = 0.02
_GOOD: Final = 0.85  # share of experts of good quality (0.78-0.96); the rest 0.5-0.75
_QA: Final = "qa-audit"
_REVIEW: Final = "review"  # the kind whose submission is a review of another's work


def _unit(seed: int, *key: str) -> float:
    """A uniform draw in [0, 1) keyed by (seed, key): the same whatever the order of asking."""
    text = "\0".join((str(seed), *key)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") / 2.0**64


def _normal(seed: int, *key: str) -> float:
    """A standard normal draw keyed like :func:`_unit` (Box-Muller)."""
    u = max(_unit(seed, *key, "u"), 1e-300)
    v = _unit(seed, *key, "v")
    return math.sqrt(-2.0 * math.log(u)) * math.cos(2.0 * math.pi * v)


class Truth:
    """The hidden quality of experts, submissions and reviewers, from one seed."""

    def __init__(self, seed: int, *, spread: float = 0.08, noise: float = 0.06) -> None:
        self.seed = seed
        self.spread = spread
        self.noise = noise
        self._quality: dict[tuple[str, str, str], float] = {}
        self._reviewers: dict[str, tuple[float, float]] = {}

    def base(self, expert: str) -> float:
        """The expert's quality before domain and kind."""
        if _unit(self.seed, expert, "good") < _GOOD:
            return 0.78 + 0.18 * _unit(self.seed, expert, "base")
        return 0.5 + 0.25 * _unit(self.seed, expert, "base")

    def quality(self, expert: str, domain: str, kind: str) -> float:
        """The mean true score of the expert's work of this kind in this domain."""
        key = (expert, domain, kind)
        found = self._quality.get(key)
        if found is None:
            deviation = self.spread * _normal(self.seed, expert, domain, kind)
            found = self._quality[key] = min(1.0, max(0.3, self.base(expert) + deviation))
        return found

    def reviewer(self, name: str) -> tuple[float, float]:
        """The reviewer's (bias, noise sd)."""
        found = self._reviewers.get(name)
        if found is None:
            if name.startswith("qa-"):
                found = (0.0, _QA_NOISE)
            else:
                bias = self.noise / 2 * _normal(self.seed, name, "bias")
                found = (bias, self.noise * (0.25 + 1.75 * _unit(self.seed, name, "noise")))
            self._reviewers[name] = found
        return found

    def error(self, name: str) -> float:
        """The reviewer's expected absolute error (bias plus noise, roughly)."""
        bias, noise = self.reviewer(name)
        return math.hypot(bias, noise * math.sqrt(2 / math.pi))

    def submission(self, task: str, author: str, domain: str, kind: str) -> float:
        """The true score of one submission."""
        mean = self.quality(author, domain, kind)
        return mean + _SUBMISSION_SD * _normal(self.seed, task, author, "work")

    def says(self, reviewer: str, true: float, task: str, author: str) -> float:
        """What the reviewer scores a submission of that true score: rounded, within 0-1."""
        bias, noise = self.reviewer(reviewer)
        said = true + bias + noise * _normal(self.seed, task, author, reviewer)
        return round(min(1.0, max(0.0, said)), 2)


class Oracle:
    """A ``router.Ranking`` that knows the truth: the best true quality for the (domain, kind).

    For a review, the reviewer with the smallest expected error. It is the
    ceiling of what choosing among the eligible can give; it ignores load,
    idle time and fit, so it may starve people.
    """

    def __init__(self, truth: Truth) -> None:
        self.truth = truth

    def score(self, ws: Any, expert: Any, task: Any, policy: Policy) -> Score:
        """The hidden quality as the score."""
        if task.kind == _REVIEW:
            value = 1.0 - self.truth.error(expert.expert)
        else:
            value = self.truth.quality(expert.expert, task.domain, task.kind)
        return Score(value, value, 0.0, 0.0, 0.0)

    def assigned(self, ws: Any, task: Any, expert: Any) -> None:
        """Nothing to remember: the truth does not change."""


def gated(
    kinds: Sequence[str], gate: float, lowered: float, lower_after: int, lift_after: int
) -> Callable[[TaskCreated], TaskCreated]:
    """A rewrite of ``task.created``: a quality gate on these kinds, lowered, then lifted."""
    steps = (
        TaskStep(after_minutes=lower_after, quality=lowered),
        TaskStep(after_minutes=lift_after, quality=None),
    )

    def rewrite(event: TaskCreated) -> TaskCreated:
        if event.kind not in kinds or event.quality is not None or event.steps:
            return event
        return msgspec.structs.replace(event, quality=gate, steps=steps)

    return rewrite


class World:
    """The engine inside the harness's world: reviews rewritten, QA audits added, tasks gated.

    ``process`` is what the simulation calls for every input event; it
    returns the engine's outputs (of the QA audit too), and hands each
    input with its outputs to ``observe``.
    """

    def __init__(
        self,
        apply: Callable[[InputEvent], list[OutputEvent]],
        truth: Truth,
        observe: Callable[[InputEvent, Sequence[OutputEvent]], None],
        *,
        qa_rate: float = 0.3,
        rewrite: Callable[[TaskCreated], TaskCreated] | None = None,
    ) -> None:
        self.apply = apply
        self.truth = truth
        self.observe = observe
        self.qa_rate = qa_rate
        self.rewrite = rewrite
        self.tasks: dict[str, tuple[str, str]] = {}  # task -> (domain, kind)
        self.truths: dict[tuple[str, str], float] = {}  # (task, author) -> true score

    def process(self, event: InputEvent) -> list[OutputEvent]:
        """Apply one event of the simulation, as this world has it."""
        if isinstance(event, TaskCreated):
            self.tasks[event.task] = (event.domain, event.kind)
            if self.rewrite is not None:
                event = self.rewrite(event)
        elif isinstance(event, TaskReviewed) and event.task in self.tasks:
            event, true = self._reviewed(event)
            outputs = self._apply(event)
            if not event.reviewer.startswith("qa-") and (
                _unit(self.truth.seed, event.task, event.expert, "qa") < self.qa_rate
            ):
                said = self.truth.says(_QA, true, event.task, event.expert)
                audit = msgspec.structs.replace(
                    event, id=f"{event.id}-qa", reviewer=_QA, score=said, passed=said >= PASS
                )
                outputs = outputs + self._apply(audit)
            return outputs
        return self._apply(event)

    def _reviewed(self, event: TaskReviewed) -> tuple[TaskReviewed, float]:
        domain, kind = self.tasks[event.task]
        key = (event.task, event.expert)
        true = self.truths.get(key)
        if true is None:
            true = self.truths[key] = self.truth.submission(event.task, event.expert, domain, kind)
        said = self.truth.says(event.reviewer, true, event.task, event.expert)
        return msgspec.structs.replace(event, score=said, passed=said >= PASS), true

    def _apply(self, event: InputEvent) -> list[OutputEvent]:
        outputs = self.apply(event)
        self.observe(event, outputs)
        return outputs
