"""Order statistics (projections/_stats.py): nearest-rank percentiles and summaries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections._stats import percentile, summarize


def test_percentiles_are_nearest_rank() -> None:
    samples = [15, 20, 35, 40, 50]
    assert [percentile(samples, p) for p in (5, 30, 40, 50, 100)] == [15, 20, 20, 35, 50]
    assert percentile(list(range(1, 71)), 90) == 63  # 0.9 * 70 is not exactly 63 in floats
    assert summarize([4, 1, 3, 2]) == (4, 2.5, 2.0, 4.0)
    assert summarize([90_000_000, 1_500_000], unit=1_000_000) == (2, 45.75, 1.5, 90.0)
    assert summarize([]) == (0, None, None, None)
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


@given(st.lists(st.integers(-(10**9), 10**9), min_size=1), st.integers(1, 100))
def test_percentile_is_the_smallest_sample_with_p_percent_at_or_below(
    samples: list[int], p: int
) -> None:
    ordered = sorted(samples)
    value = percentile(ordered, p)
    assert value in samples
    assert 100 * sum(1 for s in samples if s <= value) >= p * len(samples)
    assert 100 * sum(1 for s in samples if s < value) < p * len(samples)
