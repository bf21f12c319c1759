"""The search behind the default policy's weights: a small grid, judged over training seeds.

    python bench/policy_search.py [--seeds 1-10] [--jobs 2] [--days 28]
        [--only LABEL ...] [--json]

Each candidate is ``router.LEARNED_1`` (the default before the search)
with a few fields changed (:data:`GRID`), and plays the default in the harness's world
(``bench/policy_eval.py``) on every training seed, without gates, against
one set of runs of longest idle and the oracle per seed. The table gives,
per candidate, the capture of the oracle's gain over longest idle (mean
lift over mean gain), its median over the seeds and bootstrap interval,
the p90 wait ratio and the largest Gini of hours. The seeds judged here
are not the seeds the chosen weights are reported on (docs/routing.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import msgspec
from policy_eval import run_seeds

from router import LEARNED_1, Policy
from triage.ops import EvaluationSettings, parse_seeds
from triage.sim import Scenario


def _weights(quality: float) -> dict[str, float]:
    """The quality weight, the rest split as the learned policy of 2026-11 split it (1.5:1:1)."""
    rest = 1.0 - quality
    split = {"load": 0.375, "idle": 0.25, "fit": 0.25}
    return {"quality": quality} | {name: round(rest * share, 6) for name, share in split.items()}


#: The candidates: one field at a time from learned-1, the default of 2026-11 (the first
#: round), then around the best of those (the second, ``--only`` its labels),
#: then the best of the second with more idle weight (the third).
GRID: dict[str, dict[str, object]] = {
    "learned-1": {},
    "quality 0.5": _weights(0.5),
    "quality 0.8": _weights(0.8),
    "quality 0.9": _weights(0.9),
    "kind_prior 1": {"kind_prior_reviews": 1.0},
    "kind_prior 4": {"kind_prior_reviews": 4.0},
    "agreement 0.25": {"agreement_share": 0.25},
    "agreement 0.75": {"agreement_share": 0.75},
    "prior_reviews 1.5": {"quality_prior_reviews": 1.5},
    # the second round: around the best of the first (quality 0.8)
    "quality 0.75": _weights(0.75),
    "quality 0.85": _weights(0.85),
    "quality 0.8, agreement 0.25": {**_weights(0.8), "agreement_share": 0.25},
    "quality 0.8, agreement 0.75": {**_weights(0.8), "agreement_share": 0.75},
    "quality 0.8, kind_prior 3": {**_weights(0.8), "kind_prior_reviews": 3.0},
    # the third round: the best of the second with more weight on idle time, which
    # alone keeps a newcomer of a thin pool from losing every choice to better records
    "quality 0.8, idle 0.1, agreement 0.75": {
        "quality": 0.8,
        "load": 0.05,
        "idle": 0.1,
        "fit": 0.05,
        "agreement_share": 0.75,
    },
    "quality 0.75, idle 0.125, agreement 0.75": {
        "quality": 0.75,
        "load": 0.075,
        "idle": 0.125,
        "fit": 0.05,
        "agreement_share": 0.75,
    },
}


def candidates(only: list[str] | None) -> dict[str, Policy]:
    """The grid's policies (those named in ``only``, if given)."""
    unknown = sorted(set(only or ()) - set(GRID))
    if unknown:
        raise SystemExit(f"unknown candidates {unknown}; the grid has {list(GRID)}")
    return {
        label: msgspec.structs.replace(LEARNED_1, **fields)  # type: ignore[arg-type]
        for label, fields in GRID.items()
        if not only or label in only
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", default=["1-10"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--experts", type=int, default=285)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--only", nargs="+", help="only these candidates of the grid")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    found = candidates(args.only)
    started = time.monotonic()
    summaries = run_seeds(
        seeds,
        found,
        Scenario(experts=args.experts, days=args.days),
        EvaluationSettings(),
        jobs=args.jobs,
        gates=False,
    )
    seconds = time.monotonic() - started
    if args.json:
        sys.stdout.buffer.write(msgspec.json.encode(summaries) + b"\n")
        return
    print(
        f"{args.experts} experts, {args.days} days, seeds {' '.join(map(str, seeds))}, "
        f"without gates; {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}, {seconds:.0f} s"
    )
    rows = [["candidate", "capture", "median", "interval", "p90 ratio", "worst", "gini", "no work"]]
    for label, s in sorted(summaries.items(), key=lambda item: -(item[1].capture or -9)):
        interval = s.capture_interval
        rows.append(
            [
                label,
                "-" if s.capture is None else f"{s.capture:.1%}",
                "-" if s.capture_median is None else f"{s.capture_median:.1%}",
                "-" if interval is None else f"{interval.low:.0%} to {interval.high:.0%}",
                "-" if s.wait_ratio is None else f"{s.wait_ratio:.3f}",
                "-" if s.wait_ratio_worst is None else f"{s.wait_ratio_worst:.3f}",
                "-" if s.gini is None else f"{s.gini:.3f}",
                str(s.without_work),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
