"""The v1.1 sections of the report: requirement steps, adaptive overlap, quality gates.

Each is empty (its defaults) for a workspace whose tasks use none of it, so
a v1.0 journal reports as before. :class:`V11Scan` collects, during the one
pass over the tasks in ``_metrics``, the few tasks these sections look at;
the functions here turn that into the sections.
"""

from __future__ import annotations

from array import array

from ._figures import MICROS, Pool, covers, rounded, time_summary
from ._model import AgreementTally, GateGap, Gates, Overlap, Steps, StepTally
from ._state import COMPLETED, Expert, Task, Workspace

__all__ = ["V11Scan", "gates_of", "overlap_of", "steps_of"]


class V11Scan:
    """The tasks of the v1.1 sections, gathered by the report's pass over the tasks."""

    def __init__(self) -> None:
        self.stepped = 0  # tasks with steps
        self.served: dict[int, int] = {}  # step -> tasks first served at it
        self.overlapping = 0  # tasks with agreement
        self.agreement: dict[str, list[Task]] = {}  # completed with agreement, by kind
        self.agreement_by_domain: dict[str, list[Task]] = {}
        self.extended: dict[str, list[Task]] = {}  # by kind: tasks ever extended
        self.extended_by_domain: dict[str, list[Task]] = {}
        self.gated: list[Task] = []  # waiting with a gate in force

    def add(self, task: Task) -> None:
        """Count a task with steps, agreement or a gate."""
        if task.steps:
            self.stepped += 1
            if task.served_at >= 0:
                self.served[task.served_at] = self.served.get(task.served_at, 0) + 1
        if task.agreement is not None:
            self.overlapping += 1
            if task.state == COMPLETED:
                self.agreement.setdefault(task.kind, []).append(task)
                self.agreement_by_domain.setdefault(task.domain, []).append(task)
            if task.extensions:
                self.extended.setdefault(task.kind, []).append(task)
                self.extended_by_domain.setdefault(task.domain, []).append(task)
        if task.gate is not None and task.waiting():
            self.gated.append(task)


def steps_of(ws: Workspace, scan: V11Scan) -> Steps:
    if not scan.stepped:
        return Steps()
    last = max([0, *ws.step_times, *scan.served, *ws.step_assignments])
    rows = []
    for step in range(last + 1):
        samples = ws.step_times.get(step)
        rows.append(
            StepTally(
                step=step,
                reached=scan.stepped if step == 0 else (len(samples) if samples else 0),
                time_to_reach=time_summary(samples if samples is not None else array("q"), MICROS),
                served=scan.served.get(step, 0),
                assignments=ws.step_assignments.get(step, 0),
            )
        )
    return Steps(tasks=scan.stepped, escalations=ws.escalations, by_step=rows)


def _agreement_tally(completed: list[Task], extended: list[Task]) -> AgreementTally:
    shares = [task.share for task in completed if task.share is not None]
    return AgreementTally(
        completed=len(completed),
        mean_share=rounded(sum(shares) / len(shares)) if shares else None,
        extensions=sum(task.extensions for task in extended),
        without_agreement=sum(1 for task in completed if _disagreed(task)),
    )


def _disagreed(task: Task) -> bool:
    return task.share is not None and task.agreement is not None and task.share < task.agreement


def _agreements(
    completed: dict[str, list[Task]], extended: dict[str, list[Task]]
) -> dict[str, AgreementTally]:
    return {
        key: _agreement_tally(completed.get(key, []), extended.get(key, []))
        for key in sorted(completed.keys() | extended.keys())
    }


def overlap_of(scan: V11Scan) -> Overlap:
    if not scan.overlapping:
        return Overlap()
    completed = [task for tasks in scan.agreement.values() for task in tasks]
    extended = [task for tasks in scan.extended.values() for task in tasks]
    total = _agreement_tally(completed, extended)
    return Overlap(
        tasks=scan.overlapping,
        completed=total.completed,
        mean_share=total.mean_share,
        extensions=total.extensions,
        without_agreement=total.without_agreement,
        by_kind=_agreements(scan.agreement, scan.extended),
        by_domain=_agreements(scan.agreement_by_domain, scan.extended_by_domain),
    )


def gates_of(
    ws: Workspace, scan: V11Scan, live: list[tuple[str, Expert]], prior: tuple[float, float]
) -> Gates:
    quality_prior, weight = prior
    if not scan.gated:
        return Gates(quality_prior=quality_prior, quality_prior_reviews=weight)

    def record(name: str, domain: str) -> float:
        tally = ws.records.get((name, domain))
        if tally is None or tally.reviews + weight == 0:
            return quality_prior
        return (quality_prior * weight + tally.total) / (weight + tally.reviews)

    covering: dict[Pool, list[tuple[str, Expert]]] = {}
    for name, expert in live:
        for pool in covers(expert):
            covering.setdefault(pool, []).append((name, expert))
    counts: dict[str, list[int]] = {}
    for task in scan.gated:
        gate = task.gate
        assert gate is not None
        qualified = [
            expert
            for name, expert in covering.get((task.domain, task.language), [])
            if (task.allowed is None or name in task.allowed) and record(name, task.domain) >= gate
        ]
        row = counts.setdefault(task.domain, [0, 0, 0])
        row[0] += 1
        if not any(expert.status == "available" for expert in qualified):
            row[1] += 1
        if not qualified:
            row[2] += 1
    return Gates(
        gated=sum(row[0] for row in counts.values()),
        no_available=sum(row[1] for row in counts.values()),
        no_qualified=sum(row[2] for row in counts.values()),
        quality_prior=quality_prior,
        quality_prior_reviews=weight,
        by_domain={
            domain: GateGap(gated=row[0], no_available=row[1], no_qualified=row[2])
            for domain, row in sorted(counts.items())
        },
    )
