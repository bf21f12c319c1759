"""What a history (recorded or re-synthesized) came to: the figures what-if compares.

The same fold serves the recorded journal and every sandbox, so that the
columns are measured alike. Waiting, queues, handling time and reviews are
the projections' own figures (the report's definitions); the rest is over
the whole history rather than the report's current week:

- utilization: hours assigned and not given back (the minutes of tasks,
  as the contract counts them), over the hours contracted while each
  expert was on the roster (weekly hours times weeks, from the profile to
  removal or the end of the history);
- fairness: the Gini coefficient of those assigned hours across every
  expert who was on the roster (0: all equal; 1: one expert has it all);
- over-qualification: how far the assignee exceeds the task's
  requirements, on the policy's own scale (0: an exact fit; 1: a leading
  doctor with native fluency on a basic task);
- expected review score and pass rate: each submission's author's
  expected score in the task's domain from the recorded reviews (shrunk to
  the domain's), averaged over submissions. Unlike the sampled reviews, it
  covers every submission, not just the reviewed ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from events import (
    CEFR_LEVELS,
    EDUCATION_LEVELS,
    ExpertProfile,
    ExpertRemoved,
    InputEvent,
    OutputEvent,
    TaskAssigned,
    TaskCreated,
    TaskRequeued,
    TaskSubmitted,
    expand,
    normalize,
    to_micros,
)
from projections import Projections, WorkspaceReport

from ._records import Records, accepted

__all__ = ["Estimate", "Outcome", "gini"]

_WEEK: Final = 7 * 24 * 3_600_000_000


class Estimate(msgspec.Struct, frozen=True, kw_only=True):
    """One column of a what-if: one history of one workspace, measured.

    Durations in seconds, hours in hours, ratios 0-1; None when there is
    nothing to measure.
    """

    label: str
    policy: str
    tasks: int
    first_assigned: int
    wait_p50_seconds: float | None
    wait_p90_seconds: float | None
    queued: int
    unroutable: int
    assignments: int
    declines: int
    expired: int
    submissions: int
    aht_seconds: float | None
    utilization: float | None
    gini_hours: float | None
    overqualification: float | None
    expected_score: float | None
    expected_pass_rate: float | None
    reviews: int
    mean_score: float | None
    pass_rate: float | None


def gini(values: Sequence[float]) -> float | None:
    """The Gini coefficient of non-negative values; None if they sum to 0."""
    ordered = sorted(values)
    total = sum(ordered)
    n = len(ordered)
    if not n or total <= 0:
        return None
    weighted = sum((i + 1) * value for i, value in enumerate(ordered))
    return 2 * weighted / (n * total) - (n + 1) / n


class _Person:
    __slots__ = ("contracted", "domains", "education", "hours", "languages", "since", "weekly")

    def __init__(self) -> None:
        self.domains: dict[str, int] = {}
        self.languages: dict[str, int] = {}
        self.education = 0
        self.weekly = 0.0
        self.since: int | None = None
        self.contracted = 0.0  # hours
        self.hours = 0.0  # assigned, not given back


class _Space:
    __slots__ = ("assigned", "declined", "excess", "expected", "expired", "people", "tasks")

    def __init__(self) -> None:
        self.people: dict[str, _Person] = {}
        self.tasks: dict[str, TaskCreated] = {}
        self.assigned = self.declined = self.expired = 0
        self.excess = 0.0
        self.expected: list[tuple[float, float]] = []


class Outcome:
    """Folds one history, each input with its outputs, into an :class:`Estimate` per workspace."""

    def __init__(self, records: Records) -> None:
        self.records = records
        self.projections = Projections()
        self._spaces: dict[str, _Space] = {}
        self._clock: dict[str, int] = {}

    def apply(self, event: InputEvent, outputs: Sequence[OutputEvent]) -> None:
        """Fold one input and the outputs it caused."""
        project = self.projections.apply
        project(event)
        for output in outputs:
            project(output)
        ws = event.workspace
        space = self._spaces.get(ws)
        if space is None:
            space = self._spaces[ws] = _Space()
        at = to_micros(event.at)
        self._clock[ws] = max(self._clock.get(ws, at), at)
        if isinstance(event, ExpertProfile):
            self._profile(space, event, at)
        elif isinstance(event, ExpertRemoved):
            self._removed(space, event, at)
        elif isinstance(event, TaskCreated):
            space.tasks.setdefault(event.task, event)
        elif isinstance(event, TaskSubmitted) and accepted(event, outputs):
            task = space.tasks.get(event.task)
            if task is not None:
                expected = self.records.expected(ws, event.expert, task.domain)
                if expected is not None:
                    space.expected.append(expected)
        self._outputs(space, outputs)

    def _outputs(self, space: _Space, outputs: Sequence[OutputEvent]) -> None:
        for output in outputs:
            if isinstance(output, TaskAssigned):
                self._assigned(space, output)
            elif isinstance(output, TaskRequeued):
                task = space.tasks.get(output.task)
                person = space.people.get(output.expert)
                if task is not None and person is not None:
                    person.hours -= task.minutes / 60
                if output.reason == "declined":
                    space.declined += 1
                elif output.reason == "expired":
                    space.expired += 1

    def _removed(self, space: _Space, event: ExpertRemoved, at: int) -> None:
        person = space.people.get(event.expert)
        if person is not None and person.since is not None:
            person.contracted += person.weekly * (at - person.since) / _WEEK
            person.since = None

    def _profile(self, space: _Space, event: ExpertProfile, at: int) -> None:
        person = space.people.get(event.expert)
        if person is None:
            person = space.people[event.expert] = _Person()
        if person.since is not None:
            person.contracted += person.weekly * (at - person.since) / _WEEK
        person.since = at
        person.weekly = event.weekly_hours
        person.domains = dict(event.domains)
        person.education = EDUCATION_LEVELS[event.education]
        languages: dict[str, int] = {}
        for tag, level in event.languages.items():
            for key in expand(normalize(tag)):
                languages[key] = max(languages.get(key, -1), CEFR_LEVELS[level])
        person.languages = languages

    def _assigned(self, space: _Space, output: TaskAssigned) -> None:
        space.assigned += 1
        task = space.tasks.get(output.task)
        person = space.people.get(output.expert)
        if task is None or person is None:
            return
        person.hours += task.minutes / 60
        language = person.languages.get(normalize(task.language), CEFR_LEVELS[task.fluency])
        space.excess += (
            (person.domains.get(task.domain, task.skill) - task.skill) / 4
            + (language - CEFR_LEVELS[task.fluency]) / 6
            + (person.education - EDUCATION_LEVELS[task.education]) / 4
        ) / 3

    def estimates(self, label: str, policy: str) -> dict[str, Estimate]:
        """The figures of every workspace, as the history stands now."""
        report = self.projections.report()
        return {
            ws: self._estimate(ws, report.workspaces[ws], label, policy)
            for ws in sorted(self._spaces)
            if ws in report.workspaces
        }

    def _estimate(self, ws: str, seen: WorkspaceReport, label: str, policy: str) -> Estimate:
        space = self._spaces[ws]
        end = self._clock[ws]
        contracted = 0.0
        hours = []
        for person in space.people.values():
            open_hours = (
                0.0 if person.since is None else person.weekly * (end - person.since) / _WEEK
            )
            contracted += person.contracted + open_hours
            hours.append(max(0.0, person.hours))
        expected = space.expected
        spread = gini(hours)
        return Estimate(
            label=label,
            policy=policy,
            tasks=seen.tasks.created,
            first_assigned=seen.waiting.first_assigned,
            wait_p50_seconds=seen.waiting.p50_seconds,
            wait_p90_seconds=seen.waiting.p90_seconds,
            queued=seen.tasks.queued,
            unroutable=seen.tasks.unroutable,
            assignments=space.assigned,
            declines=space.declined,
            expired=space.expired,
            submissions=seen.handling.submissions,
            aht_seconds=seen.handling.aht_seconds,
            utilization=round(sum(hours) / contracted, 3) if contracted else None,
            gini_hours=None if spread is None else round(spread, 3),
            overqualification=round(space.excess / space.assigned, 3) if space.assigned else None,
            expected_score=round(sum(e[0] for e in expected) / len(expected), 3)
            if expected
            else None,
            expected_pass_rate=round(sum(e[1] for e in expected) / len(expected), 3)
            if expected
            else None,
            reviews=seen.quality.reviews,
            mean_score=seen.quality.mean_score,
            pass_rate=seen.quality.pass_rate,
        )
