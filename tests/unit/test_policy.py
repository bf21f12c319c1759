"""The policy is validated: whatever converts gives finite scores and leases of at most a week."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import TaskAssigned, decode_output, encode
from router import Policy
from router._policy import MAX_LEASE_MINUTES
from tests.factory import World

EXTREME_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [0.0, -0.0, 5e-324, 1e-300, 0.5, 1.0, 1000.0, 1000.0001, 1e308, -1e308, math.inf]
    ),
)
EXTREME_INTS = st.one_of(
    st.integers(), st.sampled_from([0, 1, 10_080, 10_081, 2**63, -(2**63), 2**64])
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "quality": EXTREME_FLOATS,
    "load": EXTREME_FLOATS,
    "idle": EXTREME_FLOATS,
    "fit": EXTREME_FLOATS,
    "quality_prior": EXTREME_FLOATS,
    "quality_prior_reviews": EXTREME_FLOATS,
    "idle_horizon_hours": EXTREME_FLOATS,
    "lease_factor": EXTREME_FLOATS,
    "lease_min_minutes": EXTREME_INTS,
    "lease_max_minutes": EXTREME_INTS,
}
POLICY_DATA = st.fixed_dictionaries({}, optional=FIELDS)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"quality": math.inf}, "Expected `float` <= 1000.0 - at `$.quality`"),
        ({"load": math.nan}, "Expected `float` >= 0.0 - at `$.load`"),
        ({"fit": -1.0}, "Expected `float` >= 0.0 - at `$.fit`"),
        ({"idle": 1e308}, "Expected `float` <= 1000.0 - at `$.idle`"),
        ({"quality_prior": 1.5}, "Expected `float` <= 1.0 - at `$.quality_prior`"),
        ({"quality_prior_reviews": math.inf}, "at `$.quality_prior_reviews`"),
        ({"idle_horizon_hours": 0.0}, "Expected `float` > 0.0 - at `$.idle_horizon_hours`"),
        ({"idle_horizon_hours": math.inf}, "at `$.idle_horizon_hours`"),
        ({"lease_factor": math.nan}, "at `$.lease_factor`"),
        ({"lease_max_minutes": 10_081}, "Expected `int` <= 10080 - at `$.lease_max_minutes`"),
        ({"lease_min_minutes": 0}, "Expected `int` >= 1 - at `$.lease_min_minutes`"),
        ({"lease_min_minutes": 60, "lease_max_minutes": 59}, "must not exceed lease_max_minutes"),
        ({"quality": 0, "load": 0, "idle": 0, "fit": 0}, "at least one of the weights"),
        ({"name": ""}, "Expected `str` of length >= 1 - at `$.name`"),
    ],
)
def test_a_policy_with_absurd_numbers_does_not_convert(data: dict[str, Any], reason: str) -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert(data, Policy)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_infinite_weight_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"quality": float("inf")}, Policy)


def test_a_policy_built_in_code_is_finite() -> None:
    with pytest.raises(ValueError, match="quality must be a finite number"):
        Policy(quality=math.inf)
    with pytest.raises(ValueError, match="lease_min_minutes"):
        Policy(lease_min_minutes=100, lease_max_minutes=50)


def test_the_default_policy_converts() -> None:
    assert msgspec.convert({}, Policy) == Policy()


@given(POLICY_DATA)
def test_any_policy_that_converts_writes_finite_scores_and_short_leases(
    data: dict[str, Any],
) -> None:
    try:
        policy = msgspec.convert(data, Policy)
    except msgspec.ValidationError:
        return
    # What the journal keeps of the policy can be read back on recovery.
    assert msgspec.json.decode(msgspec.json.encode(policy), type=Policy) == policy
    w = World(policy)
    w.expert("ana", hours=168, concurrency=3)
    w.expert("bo", domains={"stem": 5}, education="doctorate", hours=1 / 120)
    w.task("long", minutes=10_080)
    w.later(minutes=5).task("short", minutes=1, skill=2)
    w.later(minutes=5).submit("short", "ana")
    w.review("short", "ana", "qa", 1.0)
    w.later(hours=2).task("again", minutes=1)
    w.later(days=8).tick()
    assignments = [o for o in w.outputs if isinstance(o, TaskAssigned)]
    assert assignments
    for output in w.outputs:
        line = encode(output)
        assert b"null" not in line
        assert decode_output(line) == output
    for a in assignments:
        assert math.isfinite(a.score)
        assert a.lease_until - a.at <= timedelta(minutes=MAX_LEASE_MINUTES)
