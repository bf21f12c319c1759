"""The policy evaluation harness: the demo's world, closed loop, under several policies.

    python bench/policy_eval.py [--experts 285] [--days 28] [--seed 7]
        [--policy NAME ...] [--gates both|off|on] [--json]
        [--spread 0.08] [--noise 0.06] [--qa-rate 0.3]

Every policy plays the same scenario (``triage demo``'s, same seed) from the
start, so who gets a task changes what happens next. The world is
``triage/ops/_world.py``: hidden quality per expert, domain and kind,
reviewers who err, QA audits of a share of the experts' reviews. "Without
gates" is the demo's work in plain v1 (``Scenario(v1_1=False)``); "with
gates" is the demo's v1.1 work (gated red-teaming and audits, edits to the
writer first, rating with adaptive overlap, steps that widen thin pools)
plus a quality gate on written pairs (0.82 at first, 0.78 after 30
minutes, lifted after 3 hours), as steps of contract v1.1.

The table gives, per policy: passed reviews per expert-hour of submitted
work, the share of failed reviews, the mean review score, the wait to the
first assignment (p50, p90, minutes), the Gini coefficient of assigned
hours, over-qualification, the share of assignments that were a real
choice (two or more eligible experts with room), the mean hidden quality of
the submitted work, the experts' mean review error, and the experts who
got no work at all; then the issue's targets, met or not.
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

from triage.ops import POLICIES, EvaluationSettings, evaluate, policy_targets
from triage.sim import Scenario

_COLUMNS = (
    ("policy", "policy", "{}"),
    ("gates", "gates", "{}"),
    ("passed/h", "passed_per_hour", "{:.4f}"),
    ("failed", "failed_share", "{:.1%}"),
    ("score", "mean_score", "{:.3f}"),
    ("wait p50", "wait_p50_minutes", "{:.1f}"),
    ("wait p90", "wait_p90_minutes", "{:.1f}"),
    ("gini", "gini_hours", "{:.3f}"),
    ("overq", "overqualification", "{:.3f}"),
    ("choice", "choices", "{:.1%}"),
    ("true q", "true_quality", "{:.3f}"),
    ("rev err", "review_error", "{:.4f}"),
    ("no work", "without_work", "{}"),
)


def _cell(value: object, spec: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "on" if value else "off"
    return spec.format(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experts", type=int, default=285)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--policy", action="append", choices=POLICIES, dest="policies")
    parser.add_argument("--gates", choices=("both", "off", "on"), default="both")
    parser.add_argument("--spread", type=float, default=EvaluationSettings().spread)
    parser.add_argument("--noise", type=float, default=EvaluationSettings().noise)
    parser.add_argument("--qa-rate", type=float, default=EvaluationSettings().qa_rate)
    parser.add_argument("--json", action="store_true", help="the runs and targets as JSON")
    args = parser.parse_args()
    scenario = Scenario(experts=args.experts, days=args.days, seed=args.seed)
    settings = EvaluationSettings(spread=args.spread, noise=args.noise, qa_rate=args.qa_rate)
    gates = {"both": (False, True), "off": (False,), "on": (True,)}[args.gates]
    started = time.monotonic()
    runs = evaluate(scenario, settings, args.policies or POLICIES, gates)
    found = policy_targets(runs)
    seconds = time.monotonic() - started
    if args.json:
        sys.stdout.buffer.write(
            msgspec.json.encode(
                {
                    "scenario": {"experts": args.experts, "days": args.days, "seed": args.seed},
                    "settings": settings,
                    "runs": runs,
                    "targets": found,
                    "seconds": round(seconds, 1),
                }
            )
            + b"\n"
        )
        return
    print(
        f"{args.experts} experts, {args.days} days, seed {args.seed}; spread {settings.spread}, "
        f"review noise {settings.noise}, QA audits {settings.qa_rate:.0%}; "
        f"{os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}, {seconds:.0f} s"
    )
    rows = [[title for title, _, _ in _COLUMNS]]
    for run in runs:
        rows.append([_cell(getattr(run, field), spec) for _, field, spec in _COLUMNS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    for target in found:
        verdict = {True: "met", False: "missed", None: "n/a"}[target.met]
        print(f"{target.name}: {verdict}: {target.measured} (wanted: {target.wanted})")


if __name__ == "__main__":
    main()
