"""The policy evaluation harness: the demo's world, closed loop, under several policies.

    python bench/policy_eval.py [--experts 285] [--days 28] [--seed 7]
        [--policy NAME ...] [--gates both|off|on] [--json]
        [--spread 0.08] [--noise 0.06] [--qa-rate 0.3]
    python bench/policy_eval.py --seeds 11-30 [--jobs 2] [--policy-file FILE ...]
        [--days 28] [--json]

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

With ``--seeds`` (``3 7 11``, ``1-20`` or both) it is judged over many
worlds instead (``triage/ops/_seeds.py``): per seed, longest idle and the
oracle without gates, and the default without and with gates, paired on the
seed; then the per-seed figures and the targets on their means, with a
bootstrap interval over the seeds. ``--policy-file`` (repeatable) plays
the default by a policy file too (TOML or JSON, the fields left out are
``router.DEFAULT_POLICY``'s), each against the same baseline runs.
``--jobs`` runs that many simulations at once (processes).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import msgspec

from router import DEFAULT_POLICY, Policy
from triage._policy_file import load_policy
from triage.ops import (
    POLICIES,
    EvaluationSettings,
    PolicyFigures,
    SeedSummary,
    evaluate,
    parse_seeds,
    policy_targets,
    run_policy,
    summarize,
)
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


_Run = tuple[str, bool, int, Policy]  # (policy, gates, seed, the policy that plays default)


def _one(run: _Run, base: Scenario, settings: EvaluationSettings) -> PolicyFigures:
    name, gates, seed, default = run
    scenario = msgspec.structs.replace(base, seed=seed)
    return run_policy(scenario, name, settings, gates=gates, default=default)


def run_seeds(
    seeds: list[int],
    candidates: dict[str, Policy],
    base: Scenario,
    settings: EvaluationSettings,
    *,
    jobs: int = 1,
    gates: bool = True,
) -> dict[str, SeedSummary]:
    """Every candidate playing the default on every seed, against one set of baseline runs.

    Longest idle and the oracle run once per seed; each candidate without
    gates, and with them unless ``gates`` is false (then the target on
    failed reviews reads the run without gates, which is only for a search
    on the first target). ``jobs`` simulations run at once.
    """
    shared = [
        (name, False, seed, DEFAULT_POLICY) for seed in seeds for name in ("longest-idle", "oracle")
    ]
    own = [
        (label, with_gates, seed)
        for label in candidates
        for seed in seeds
        for with_gates in ((False, True) if gates else (False,))
    ]
    work = shared + [("default", g, seed, candidates[label]) for label, g, seed in own]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            found = list(pool.map(_one, work, [base] * len(work), [settings] * len(work)))
    else:
        found = [_one(run, base, settings) for run in work]
    baseline = {(run[0], run[2]): figures for run, figures in zip(shared, found, strict=False)}
    mine = dict(zip(own, found[len(shared) :], strict=True))
    summaries = {}
    for label in candidates:
        runs = {}
        for seed in seeds:
            default = mine[label, False, seed]
            gated = mine[label, True, seed] if gates else default
            runs[seed] = [
                default,
                baseline["longest-idle", seed],
                baseline["oracle", seed],
                msgspec.structs.replace(gated, gates=True),
            ]
        summaries[label] = summarize(runs)
    return summaries


_SEED_COLUMNS = (
    ("seed", "seed", "{}"),
    ("gain", "gain", "{:+.4f}"),
    ("lift", "lift", "{:+.4f}"),
    ("capture", "capture", "{:.0%}"),
    ("p90 ratio", "wait_ratio", "{:.3f}"),
    ("fall (gates)", "fall", "{:.0%}"),
    ("p90 ratio (gates)", "gated_wait_ratio", "{:.3f}"),
    ("choice", "choices", "{:.1%}"),
    ("gini", "gini", "{:.3f}"),
    ("gini (gates)", "gated_gini", "{:.3f}"),
    ("no work", "without_work", "{}"),
)


def _table(columns: tuple[tuple[str, str, str], ...], items: list[object]) -> list[str]:
    rows = [[title for title, _, _ in columns]]
    rows += [[_cell(getattr(item, field), spec) for _, field, spec in columns] for item in items]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    return ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]


def render_summary(label: str, policy: Policy, summary: SeedSummary) -> list[str]:
    """The per-seed table and the targets over the seeds, as text."""
    lines = [
        f"default = {label} (name {policy.name!r}: quality {policy.quality}, load {policy.load}, "
        f"idle {policy.idle}, fit {policy.fit}, kind_prior_reviews {policy.kind_prior_reviews}, "
        f"agreement_share {policy.agreement_share}, quality_prior_reviews "
        f"{policy.quality_prior_reviews})",
        *_table(_SEED_COLUMNS, list(summary.per_seed)),
    ]
    interval = summary.capture_interval
    lines.append(
        f"mean gain {summary.gain:+.4f}, mean lift {summary.lift:+.4f}: capture "
        f"{_cell(summary.capture, '{:.1%}')} "
        f"(median of seeds {_cell(summary.capture_median, '{:.1%}')}"
        + (
            f", {interval.level:.0%} bootstrap interval {interval.low:.1%} to {interval.high:.1%}"
            if interval
            else ""
        )
        + f"); p90 wait ratio {_cell(summary.wait_ratio, '{:.3f}')} "
        f"(worst seed {_cell(summary.wait_ratio_worst, '{:.3f}')})"
    )
    interval = summary.fall_interval
    lines.append(
        f"with gates: failed share {_cell(summary.fall, '{:.1%}')} below longest idle's"
        + (f" ({interval.low:.1%} to {interval.high:.1%})" if interval else "")
        + f"; p90 wait ratio {_cell(summary.gated_wait_ratio, '{:.3f}')} (worst seed "
        f"{_cell(summary.gated_wait_ratio_worst, '{:.3f}')}); largest Gini of hours "
        f"{_cell(summary.gini, '{:.3f}')}; experts without work, summed over seeds "
        f"{summary.without_work}"
    )
    for target in summary.targets:
        verdict = {True: "met", False: "missed", None: "n/a"}[target.met]
        lines.append(f"{target.name}: {verdict}: {target.measured}")
    return lines


def _seeds_main(args: argparse.Namespace, settings: EvaluationSettings) -> None:
    seeds = parse_seeds(args.seeds)
    candidates = {"DEFAULT_POLICY": DEFAULT_POLICY} | {
        str(path): load_policy(Path(path)) for path in args.policy_files or ()
    }
    base = Scenario(experts=args.experts, days=args.days)
    started = time.monotonic()
    summaries = run_seeds(seeds, candidates, base, settings, jobs=args.jobs)
    seconds = time.monotonic() - started
    if args.json:
        sys.stdout.buffer.write(
            msgspec.json.encode(
                {
                    "scenario": {"experts": args.experts, "days": args.days, "seeds": seeds},
                    "settings": settings,
                    "candidates": candidates,
                    "summaries": summaries,
                    "seconds": round(seconds, 1),
                }
            )
            + b"\n"
        )
        return
    runs = len(seeds) * (2 + 2 * len(candidates))
    print(
        f"{args.experts} experts, {args.days} days, seeds {_span(seeds)}; {runs} runs, "
        f"{args.jobs} at once; {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}, "
        f"{seconds:.0f} s"
    )
    for label, summary in summaries.items():
        print()
        print("\n".join(render_summary(label, candidates[label], summary)))


def _span(seeds: list[int]) -> str:
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return " ".join(map(str, seeds))


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
    parser.add_argument("--seeds", nargs="+", help="judge over these seeds: 3 7 11, 1-20")
    parser.add_argument("--jobs", type=int, default=1, help="simulations at once (--seeds)")
    parser.add_argument(
        "--policy-file", action="append", dest="policy_files", help="a default to judge (--seeds)"
    )
    args = parser.parse_args()
    settings = EvaluationSettings(spread=args.spread, noise=args.noise, qa_rate=args.qa_rate)
    if args.seeds:
        _seeds_main(args, settings)
        return
    scenario = Scenario(experts=args.experts, days=args.days, seed=args.seed)
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
