"""The policy harness over many seeds: paired runs, the targets on their means, intervals.

One month of one world measures the oracle's gain over longest idle with
about as much noise as the differences between the other policies, so a
target is judged over many seeds. Every seed is one world played by every
policy (a paired design): the figures compared are differences within a
seed, and the targets are ratios of their means over the seeds:

- capture = mean(default - longest idle) / mean(oracle - longest idle), in
  passed reviews per expert-hour, without gates;
- fall = 1 - mean(default's failed share with gates) / mean(longest idle's
  failed share without);
- the p90 wait ratios are of the mean p90 waits, and the worst seed's is
  given beside them.

The interval of a ratio is a percentile bootstrap over the seeds (seeds
drawn with replacement, the ratio of means of each draw), from a fixed
seed so that the same runs give the same interval.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import msgspec

from ._evaluation import CAPTURE, CAPTURE_WAIT, FALL, FALL_WAIT, Figures, Target

__all__ = ["SEED_POLICIES", "Interval", "SeedFigures", "SeedSummary", "parse_seeds", "summarize"]

#: The runs each seed needs: (policy, gates).
SEED_POLICIES: Final = (
    ("default", False),
    ("longest-idle", False),
    ("oracle", False),
    ("default", True),
)
_RESAMPLES: Final = 2000
_LEVEL: Final = 0.95
_FEWEST: Final = 2  # seeds below which no interval is given
#: What each target asks, over the seeds: (words, the least share, the most p90 wait ratio).
_WANTED: Final = {
    "gain captured": (
        f"mean over seeds: default >= {CAPTURE:.0%} of the oracle's gain over longest idle "
        f"in passed reviews per expert-hour, p90 wait <= {CAPTURE_WAIT}x longest idle's",
        CAPTURE,
        CAPTURE_WAIT,
    ),
    "failed reviews with gates": (
        f"mean over seeds: default with steps and gates: failed share >= {FALL:.0%} below "
        f"longest idle's, p90 wait <= {FALL_WAIT}x",
        FALL,
        FALL_WAIT,
    ),
}


class SeedFigures(msgspec.Struct, frozen=True, kw_only=True):
    """One seed's paired figures: the differences the targets are made of."""

    seed: int
    gain: float  # oracle - longest idle, passed reviews per expert-hour, without gates
    lift: float  # default - longest idle, the same
    capture: float | None  # lift / gain; None when the gain is 0
    wait_ratio: float | None  # default's p90 wait / longest idle's, without gates
    fall: float | None  # 1 - default's failed share with gates / longest idle's without
    gated_wait_ratio: float | None  # default's p90 wait with gates / longest idle's without
    choices: float  # share of the default's assignments that were a real choice
    gini: float | None  # of the default's hours, without gates
    gated_gini: float | None
    without_work: int  # experts the default gave no work, with or without gates (the more)


class Interval(msgspec.Struct, frozen=True, kw_only=True):
    """A percentile bootstrap interval over the seeds."""

    low: float
    high: float
    level: float
    resamples: int


class SeedSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The targets over many seeds, with the per-seed spread behind them."""

    seeds: list[int]
    per_seed: list[SeedFigures]
    gain: float  # mean over the seeds
    lift: float
    capture: float | None  # mean lift / mean gain
    capture_median: float | None  # median of the per-seed captures
    capture_interval: Interval | None
    wait_ratio: float | None  # mean p90 / mean p90
    wait_ratio_worst: float | None
    fall: float | None
    fall_interval: Interval | None
    gated_wait_ratio: float | None
    gated_wait_ratio_worst: float | None
    gini: float | None  # the largest over the seeds, without and with gates
    without_work: int  # summed over the seeds
    targets: list[Target]


def parse_seeds(words: Sequence[str]) -> list[int]:
    """Seeds as the command line gives them: ``3 7 11``, ``1-20`` or both, in order, once each."""
    seeds: list[int] = []
    for word in words:
        for part in word.split(","):
            first, dash, last = part.partition("-")
            try:
                span = (
                    range(int(first), int(last) + 1) if dash else range(int(first), int(first) + 1)
                )
            except ValueError:
                raise ValueError(f"not a seed or a range of seeds: {part!r}") from None
            if not span:
                raise ValueError(f"an empty range of seeds: {part!r}")
            seeds.extend(seed for seed in span if seed not in seeds)
    return seeds


def _pick(runs: Sequence[Figures], policy: str, gates: bool) -> Figures:
    found = next((r for r in runs if r.policy == policy and r.gates == gates), None)
    if found is None:
        raise ValueError(f"no run of {policy} {'with' if gates else 'without'} gates")
    return found


def _over(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _seed(seed: int, runs: Sequence[Figures]) -> SeedFigures:
    default, idle, oracle, gated = (_pick(runs, p, g) for p, g in SEED_POLICIES)
    gain = oracle.passed_per_hour - idle.passed_per_hour
    lift = default.passed_per_hour - idle.passed_per_hour
    share = _over(gated.failed_share, idle.failed_share)
    return SeedFigures(
        seed=seed,
        gain=round(gain, 4),
        lift=round(lift, 4),
        capture=None if not gain else round(lift / gain, 4),
        wait_ratio=_round(_over(default.wait_p90_minutes, idle.wait_p90_minutes)),
        fall=None if share is None else round(1 - share, 4),
        gated_wait_ratio=_round(_over(gated.wait_p90_minutes, idle.wait_p90_minutes)),
        choices=default.choices,
        gini=default.gini_hours,
        gated_gini=gated.gini_hours,
        without_work=max(default.without_work, gated.without_work),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _bootstrap(
    count: int, ratio: Callable[[list[int]], float | None], seed: int = 0
) -> Interval | None:
    """The percentile interval of ``ratio`` over draws of ``count`` indexes with replacement."""
    if count < _FEWEST:
        return None
    draw = random.Random(seed)
    found = sorted(
        value
        for value in (ratio(draw.choices(range(count), k=count)) for _ in range(_RESAMPLES))
        if value is not None
    )
    if not found:
        return None
    tail = (1 - _LEVEL) / 2
    low = found[int(tail * len(found))]
    high = found[min(len(found) - 1, int((1 - tail) * len(found)))]
    return Interval(low=round(low, 4), high=round(high, 4), level=_LEVEL, resamples=_RESAMPLES)


def summarize(runs: Mapping[int, Sequence[Figures]]) -> SeedSummary:
    """The targets over the seeds of ``runs``: seed -> its runs of :data:`SEED_POLICIES`."""
    if not runs:
        raise ValueError("no seeds to summarize")
    seeds = sorted(runs)
    per_seed = [_seed(seed, runs[seed]) for seed in seeds]
    default, idle, oracle, gated = (
        [_pick(runs[seed], policy, gates) for seed in seeds] for policy, gates in SEED_POLICIES
    )

    def capture(picks: list[int]) -> float | None:
        gain = sum(oracle[k].passed_per_hour - idle[k].passed_per_hour for k in picks)
        lift = sum(default[k].passed_per_hour - idle[k].passed_per_hour for k in picks)
        return lift / gain if gain else None

    def fall(picks: list[int]) -> float | None:
        share = _over(
            sum(gated[k].failed_share for k in picks), sum(idle[k].failed_share for k in picks)
        )
        return None if share is None else 1 - share

    everyone = list(range(len(seeds)))
    captures = [f.capture for f in per_seed if f.capture is not None]
    wait_ratio = _over(_mean_wait(default), _mean_wait(idle))
    gated_wait_ratio = _over(_mean_wait(gated), _mean_wait(idle))
    found_capture, found_fall = capture(everyone), fall(everyone)
    capture_interval = _bootstrap(len(seeds), capture)
    fall_interval = _bootstrap(len(seeds), fall)
    ginis = [g for f in per_seed for g in (f.gini, f.gated_gini) if g is not None]
    return SeedSummary(
        seeds=seeds,
        per_seed=per_seed,
        gain=round(_mean([f.gain for f in per_seed]), 4),
        lift=round(_mean([f.lift for f in per_seed]), 4),
        capture=_round(found_capture),
        capture_median=_round(statistics.median(captures)) if captures else None,
        capture_interval=capture_interval,
        wait_ratio=_round(wait_ratio),
        wait_ratio_worst=_worst([f.wait_ratio for f in per_seed]),
        fall=_round(found_fall),
        fall_interval=fall_interval,
        gated_wait_ratio=_round(gated_wait_ratio),
        gated_wait_ratio_worst=_worst([f.gated_wait_ratio for f in per_seed]),
        gini=max(ginis) if ginis else None,
        without_work=sum(f.without_work for f in per_seed),
        targets=[
            _target("gain captured", found_capture, capture_interval, wait_ratio),
            _target("failed reviews with gates", found_fall, fall_interval, gated_wait_ratio),
        ],
    )


def _mean_wait(runs: Sequence[Figures]) -> float | None:
    waits = [r.wait_p90_minutes for r in runs]
    known = [w for w in waits if w is not None]
    return _mean(known) if known and len(known) == len(waits) else None


def _worst(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _target(
    name: str, found: float | None, interval: Interval | None, wait: float | None
) -> Target:
    wanted, least, most_wait = _WANTED[name]
    between = (
        ""
        if interval is None
        else f" ({interval.level:.0%} interval {interval.low:.0%} to {interval.high:.0%})"
    )
    wait_text = "n/a" if wait is None else f"{wait:.2f}x"
    shown = "n/a" if found is None else f"{found:.0%}"
    return Target(
        name=name,
        wanted=wanted,
        measured=f"{shown}{between}; p90 wait {wait_text}",
        met=found is not None and found >= least and wait is not None and wait <= most_wait,
    )
