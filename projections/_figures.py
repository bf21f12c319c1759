"""What the report's computations share: rounding, ratios, time summaries, pools.

Every float of the report goes through :func:`rounded` or :func:`ratio`
(three places), so the same state always encodes to the same bytes. They
live apart so that the v1.1 computations (``_metrics_v1_1``) use the same
ones as the rest of the report (``_metrics``) without importing it.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Final

from events import expand

from ._model import TimeSummary
from ._state import Expert
from ._stats import summarize

__all__ = ["MICROS", "Pool", "covers", "ratio", "rounded", "time_summary"]

#: Microseconds in a second: instants and waits are kept in microseconds.
MICROS: Final = 1_000_000
#: A pool of work and of experts: a domain and a language.
Pool = tuple[str, str]


def rounded(value: float) -> float:
    """The value to three places."""
    return round(value, 3)


def ratio(part: float, whole: float) -> float | None:
    """``part / whole`` to three places, or None when ``whole`` is zero."""
    return round(part / whole, 3) if whole else None


def time_summary(samples: array[int], unit: int = 1) -> TimeSummary:
    """Count, mean and percentiles of the samples, in seconds of ``unit`` each."""
    count, mean, p50, p90 = summarize(samples, unit)
    return TimeSummary(count=count, mean_seconds=mean, p50_seconds=p50, p90_seconds=p90)


def covers(expert: Expert) -> Iterable[Pool]:
    """Every pool the expert can serve: each language also counts for its prefixes."""
    return {
        (domain, language)
        for domain in expert.domains
        for tag in expert.languages
        for language in expand(tag)
    }
