"""Objectives: what a workspace has promised its client, and whether the journal says it holds.

An objectives file (TOML, docs/objectives.md) names per workspace the
targets ops track: hours of work per month (a range), completed tasks per
week, AHT per kind (maxima), pass rate and mean review score (minima), the
p90 wait for a first assignment (a maximum), experts per pool (minima) and
low-quality examples collected (a minimum). :func:`evaluate_objectives` compares each
with the journal and gives a status by one stated rule, with a margin
``m`` (``at_risk_margin``, 0.1 unless set):

- a minimum is *met* at or above the target, *at risk* down to
  ``target * (1 - m)``, *missed* below;
- a maximum is *met* at or below the target, *at risk* up to
  ``target * (1 + m)``, *missed* above;
- a range is *met* inside it, *at risk* within ``m`` of a bound outside
  it, *missed* further out;
- *no data* when the journal has nothing to measure yet.

"This week" is the seven UTC days ending with the day of the workspace
clock (the latest ``at``), "the previous week" the seven before; flows
(hours, completions, AHT, quality, waits) are measured over the week,
pools at the clock. Hours per month is the week's hours times 30.44 / 7,
the monthly pace. Low-quality examples are a collection with a deadline:
the count collected in the period (``low_quality_examples_period``: the
UTC calendar month, the ISO week, or two dates) up to the clock, divided
by the share of the period gone, is the pace's projection to the period's
end, judged as a minimum; so it is *at risk* when the collection is behind
the pace needed to reach the target by the end, and after the end it is
the count itself. Nothing reads the wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal

import msgspec

from events import ConfigError

from ._series import Series, Window

if TYPE_CHECKING:
    from projections import Report, WorkspaceReport

    from ._model import LowQuality

__all__ = [
    "OBJECTIVE_STATUS_CODES",
    "ObjectiveResult",
    "Objectives",
    "ObjectivesReport",
    "WorkspaceObjectives",
    "WorkspaceTargets",
    "evaluate_objectives",
    "load_objectives",
]

Status = Literal["met", "at_risk", "missed", "no_data"]
Bound = Literal["min", "max", "range"]
Trend = Literal["better", "worse", "steady"]
#: A collection period: the calendar month or ISO week (UTC) of the moment, or two dates.
Period = Literal["month", "week"] | tuple[date, date]

#: The value of ``triage_objective_status``: 0 met, 1 at risk, 2 missed (no sample: no data).
OBJECTIVE_STATUS_CODES: Final[dict[str, int]] = {"met": 0, "at_risk": 1, "missed": 2}
_DAYS_PER_MONTH: Final = 30.44
_WEEK: Final = timedelta(days=7)


class WorkspaceTargets(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The targets of one workspace; any may be left out."""

    hours_per_month: tuple[float, float] | None = None
    completed_per_week_min: int | None = None
    aht_max_seconds: dict[str, float] = {}
    pass_rate_min: float | None = None
    mean_score_min: float | None = None
    wait_p90_max_seconds: float | None = None
    experts_per_pool_min: dict[str, int] = {}
    low_quality_examples_min: int | None = None
    low_quality_examples_period: Period = "month"
    at_risk_margin: float = 0.1

    def __post_init__(self) -> None:
        if self.hours_per_month is not None and self.hours_per_month[0] > self.hours_per_month[1]:
            raise ValueError("`hours_per_month` must be [low, high] with low <= high")
        period = self.low_quality_examples_period
        if isinstance(period, tuple) and period[0] > period[1]:
            raise ValueError("`low_quality_examples_period` must be [first, last] in order")
        if not 0 <= self.at_risk_margin < 1:
            raise ValueError("`at_risk_margin` must be from 0 to below 1")
        for pool in self.experts_per_pool_min:
            if pool != "default" and pool.count("/") != 1:
                raise ValueError(f"pool {pool!r} must be 'domain/language' or 'default'")


class Objectives(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An objectives file: targets by workspace id."""

    workspaces: dict[str, WorkspaceTargets]


class ObjectiveResult(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One objective: the target, the actual figure, its status by ``rule``, and the trend.

    ``kind`` is set for AHT, ``domain`` and ``language`` for a pool;
    ``previous`` is the figure of the previous week, ``trend`` whether the
    figure moved towards the target (``better``) or away from it.
    """

    objective: str
    kind: str | None = None
    domain: str | None = None
    language: str | None = None
    bound: Bound
    target_min: float | None
    target_max: float | None
    actual: float | None
    previous: float | None
    trend: Trend | None
    status: Status
    rule: str


class WorkspaceObjectives(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The objectives of one workspace over the week ending with its clock."""

    workspace: str
    week_start: date | None
    week_end: date | None
    met: int
    at_risk: int
    missed: int
    no_data: int
    objectives: list[ObjectiveResult]


class ObjectivesReport(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Every workspace of an objectives file, evaluated."""

    workspaces: dict[str, WorkspaceObjectives]


def load_objectives(document: dict[str, Any]) -> Objectives:
    """Objectives from a parsed TOML document; a wrong field is a :class:`ConfigError`."""
    try:
        return msgspec.convert(document, Objectives)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid objectives: {exc}") from None


def evaluate_objectives(
    objectives: Objectives, report: Report, series: Series, *, last_day: date | None = None
) -> ObjectivesReport:
    """Each workspace's objectives against the report and the series of the same journal.

    ``last_day`` ends "this week" on that day instead of the clock's (a
    weekly report of a past week); pools are still counted at the clock.
    """
    return ObjectivesReport(
        workspaces={
            name: _workspace(name, targets, report.workspaces.get(name), series, last_day)
            for name, targets in sorted(objectives.workspaces.items())
        }
    )


def _workspace(
    name: str,
    targets: WorkspaceTargets,
    ws: WorkspaceReport | None,
    series: Series,
    last_day: date | None,
) -> WorkspaceObjectives:
    clock = ws.clock if ws is not None else None
    results: list[ObjectiveResult] = []
    if clock is None:
        now = prev = None
    else:
        end = (last_day or clock.date()) + timedelta(days=1)
        now = series.window(name, end - _WEEK, end)
        prev = series.window(name, end - 2 * _WEEK, end - _WEEK)
    judge = _Judge(targets.at_risk_margin)
    if targets.hours_per_month is not None:
        low, high = targets.hours_per_month
        results.append(
            judge.range("hours_per_month", (low, high), (_pace(now), _pace(prev)), unit="h")
        )
    if targets.completed_per_week_min is not None:
        results.append(
            judge.min(
                "completed_per_week",
                targets.completed_per_week_min,
                (_get(now, "completed"), _get(prev, "completed")),
            )
        )
    for kind, target in sorted(targets.aht_max_seconds.items()):
        results.append(
            judge.max(
                "aht_seconds",
                target,
                (
                    now.aht_by_kind.get(kind) if now else None,
                    prev.aht_by_kind.get(kind) if prev else None,
                ),
                kind=kind,
                unit="s",
            )
        )
    for field, minimum in (
        ("pass_rate", targets.pass_rate_min),
        ("mean_score", targets.mean_score_min),
    ):
        if minimum is not None:
            results.append(judge.min(field, minimum, (_get(now, field), _get(prev, field))))
    if targets.wait_p90_max_seconds is not None:
        results.append(
            judge.max(
                "wait_p90_seconds",
                targets.wait_p90_max_seconds,
                (_get(now, "wait_p90_seconds"), _get(prev, "wait_p90_seconds")),
                unit="s",
            )
        )
    if targets.experts_per_pool_min and ws is not None:
        results.extend(_pools(judge, targets.experts_per_pool_min, ws))
    if targets.low_quality_examples_min is not None:
        results.append(_collection(judge, targets, ws, now))
    counts = {status: sum(r.status == status for r in results) for status in _STATUSES}
    return WorkspaceObjectives(
        workspace=name,
        week_start=now.start if now else None,
        week_end=now.end - timedelta(days=1) if now else None,
        met=counts["met"],
        at_risk=counts["at_risk"],
        missed=counts["missed"],
        no_data=counts["no_data"],
        objectives=results,
    )


_STATUSES: Final = ("met", "at_risk", "missed", "no_data")
#: The precision of ``at``: "up to the clock" includes the clock's own moment.
_INSTANT: Final = timedelta(microseconds=1)


def _get(window: Window | None, field: str) -> float | None:
    if window is None:
        return None
    value = getattr(window, field)
    return None if value is None else float(value)


def _pace(window: Window | None) -> float | None:
    if window is None or window.submissions == 0:
        return None
    return round(window.hours * _DAYS_PER_MONTH / window.days, 1)


def _collection(
    judge: _Judge, targets: WorkspaceTargets, ws: WorkspaceReport | None, now: Window | None
) -> ObjectiveResult:
    """Low-quality examples: the pace of the period's collection, projected to its end."""
    target = targets.low_quality_examples_min
    period = targets.low_quality_examples_period
    assert target is not None
    if ws is None or ws.clock is None or now is None:
        return judge.min("low_quality_examples", target, (None, None))
    # Up to the clock, or to the end of a past week being reported.
    upto = min(ws.clock + _INSTANT, datetime.combine(now.end, time(), UTC))
    examples = ws.quality.low_quality
    actual, note = _projection(examples, period, upto, target)
    previous, _ = _projection(examples, period, upto - _WEEK, target)
    return judge.min("low_quality_examples", target, (actual, previous), note=note)


def _projection(
    examples: list[LowQuality], period: Period, upto: datetime, target: float
) -> tuple[float | None, str]:
    """The count collected in ``period`` before ``upto``, over the share of the period gone.

    ``None`` (no data) before the period, and while not one example is due
    yet and none has come: a period's first instant is not behind its pace.
    """
    moment = upto - _INSTANT
    if isinstance(period, tuple):
        start = datetime.combine(period[0], time(), UTC)
        end = datetime.combine(period[1] + timedelta(days=1), time(), UTC)
        name = f"{period[0].isoformat()} to {period[1].isoformat()}"
    elif period == "week":
        monday = moment.date() - timedelta(days=moment.weekday())
        start = datetime.combine(monday, time(), UTC)
        end = start + _WEEK
        year, week, _ = monday.isocalendar()
        name = f"{year}-W{week:02d}"
    else:
        start = datetime.combine(moment.date().replace(day=1), time(), UTC)
        following = (start + timedelta(days=32)).replace(day=1)
        end = following
        name = f"{start:%Y-%m}"
    reach = min(upto, end)
    if reach <= start:
        return None, f"collected from {name}"
    count = sum(1 for example in examples if start <= example.at < reach)
    share = (reach - start) / (end - start)
    if count == 0 and target * share < 1:
        return None, f"collected from {name}"
    projected = round(count / share, 1)
    if share >= 1:
        return projected, f"collected in {name}: {count:,}"
    return projected, f"pace of {name} to its end: {count:,} in the first {share:.0%}"


def _pools(judge: _Judge, minima: dict[str, int], ws: WorkspaceReport) -> list[ObjectiveResult]:
    default = minima.get("default")
    staffed = {(pool.domain, pool.language): pool.experts for pool in ws.staffing.pools}
    keys = set(staffed) if default is not None else set()
    keys |= {tuple(key.split("/")) for key in minima if key != "default"}  # type: ignore[misc]
    results = []
    for domain, language in sorted(keys):
        target = minima.get(f"{domain}/{language}", default)
        assert target is not None
        results.append(
            judge.min(
                "experts_per_pool",
                target,
                (float(staffed.get((domain, language), 0)), None),
                domain=domain,
                language=language,
            )
        )
    return results


_Figures = tuple[float | None, float | None]  # (this week, the previous week)


class _Judge:
    """The three rules, with the workspace's margin."""

    def __init__(self, margin: float) -> None:
        self.margin = margin

    def min(
        self, name: str, target: float, figures: _Figures, *, note: str = "", **labels: str
    ) -> ObjectiveResult:
        actual, previous = figures
        floor = target * (1 - self.margin)
        if actual is None:
            status: Status = "no_data"
        else:
            status = "met" if actual >= target else "at_risk" if actual >= floor else "missed"
        return ObjectiveResult(
            objective=name,
            **labels,
            bound="min",
            target_min=float(target),
            target_max=None,
            actual=actual,
            previous=previous,
            trend=_trend(actual, previous, up_is_better=True),
            status=status,
            rule=(f"{note}; " if note else "")
            + f"met if >= {_fmt(target)}; at risk if >= {_fmt(floor)}; missed below",
        )

    def max(
        self, name: str, target: float, figures: _Figures, *, unit: str = "", **labels: str
    ) -> ObjectiveResult:
        actual, previous = figures
        ceiling = target * (1 + self.margin)
        if actual is None:
            status: Status = "no_data"
        else:
            status = "met" if actual <= target else "at_risk" if actual <= ceiling else "missed"
        return ObjectiveResult(
            objective=name,
            **labels,
            bound="max",
            target_min=None,
            target_max=float(target),
            actual=actual,
            previous=previous,
            trend=_trend(actual, previous, up_is_better=False),
            status=status,
            rule=f"met if <= {_fmt(target)}{unit}; at risk if <= {_fmt(ceiling)}{unit}; "
            "missed above",
        )

    def range(
        self, name: str, bounds: tuple[float, float], figures: _Figures, *, unit: str = ""
    ) -> ObjectiveResult:
        (low, high), (actual, previous) = bounds, figures
        floor, ceiling = low * (1 - self.margin), high * (1 + self.margin)
        if actual is None:
            status: Status = "no_data"
        elif low <= actual <= high:
            status = "met"
        else:
            status = "at_risk" if floor <= actual <= ceiling else "missed"
        trend: Trend | None = None
        if actual is not None and previous is not None:
            middle = (low + high) / 2
            trend = _trend(-abs(actual - middle), -abs(previous - middle), up_is_better=True)
        return ObjectiveResult(
            objective=name,
            bound="range",
            target_min=float(low),
            target_max=float(high),
            actual=actual,
            previous=previous,
            trend=trend,
            status=status,
            rule=f"met if {_fmt(low)}-{_fmt(high)}{unit}; at risk if {_fmt(floor)}-"
            f"{_fmt(ceiling)}{unit}; missed outside",
        )


def _trend(actual: float | None, previous: float | None, *, up_is_better: bool) -> Trend | None:
    if actual is None or previous is None:
        return None
    if abs(actual - previous) <= 1e-9 * max(1.0, abs(previous)):
        return "steady"
    return "better" if (actual > previous) == up_is_better else "worse"


def _fmt(value: float) -> str:
    return f"{value:,.3f}".rstrip("0").rstrip(".")
