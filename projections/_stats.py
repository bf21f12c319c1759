"""Exact order statistics over integer samples.

Samples are kept exactly rather than sketched, because the scale Triage
reports on fits: a million submissions a month is a million integers per
grouping. Each sample is stored as 8 bytes in an ``array('q')`` (a list of
Python ints costs about 36 bytes a sample), appended in O(1) by the fold
and sorted once per report.

Quantiles use the nearest-rank method: the p-th percentile is the smallest
sample such that at least p% of the samples are at or below it. Every
reported percentile is therefore a value that was actually observed, and it
is computed in integer arithmetic, so the same samples give the same answer
on every platform. Means are exact integer sums divided once.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["Summary", "new_samples", "percentile", "summarize"]


def new_samples() -> array[int]:
    """An empty, compact store of signed 64-bit integer samples."""
    return array("q")


def percentile(ordered: Sequence[int], p: int) -> int:
    """The ``p``-th percentile (1-100) of non-empty ascending samples, by nearest rank."""
    if not ordered:
        raise ValueError("no samples")
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in 1..100, got {p}")
    rank = -(-p * len(ordered) // 100)  # ceil(p * n / 100) without floats
    return ordered[rank - 1]


class Summary(NamedTuple):
    """Count, mean and percentiles of a sample, divided by a unit, rounded to 3 places."""

    samples: int
    mean: float | None
    p50: float | None
    p90: float | None


def summarize(samples: Sequence[int], unit: int = 1) -> Summary:
    """Summarize integer samples measured in ``1/unit`` of the reported unit.

    ``unit`` is 1 for samples already in seconds and 1_000_000 for
    microseconds reported as seconds.
    """
    count = len(samples)
    if not count:
        return Summary(0, None, None, None)
    ordered = sorted(samples)
    return Summary(
        count,
        round(sum(ordered) / count / unit, 3),
        round(percentile(ordered, 50) / unit, 3),
        round(percentile(ordered, 90) / unit, 3),
    )
