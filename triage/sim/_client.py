"""The simulated client: how much work it publishes, when, and with which requirements.

This is the upstream system of the simulation (``_simulation``): it decides
the volume (a weekly ramp-up to the case study's peak of 10,000-13,000
hours a month), the mix of kinds (writing prompt-response pairs, rating,
editing, fact checking, red teaming, audits of third-party vendor work, and
a review of every written pair, a revision of a written pair its review
found wanting), and each task's requirements. It is apart from the loop so
that the numbers can be tuned without touching the story, and apart from
``_workforce`` because work and people are tuned apart. Every draw comes
from the caller's ``random.Random``, in a fixed order.

With v1.1 (``Client(v1_1=True)``) the client words the same draws with
contract v1.1 (``_requirements``): gates, steps that widen thin pools,
adaptive overlap of ratings, revisions offered to their writer first.
Without it they are plain v1 tasks, relaxed at once. The draws are the same
either way, so both worlds see the same arrivals.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Final, NamedTuple

from events import CEFR_LEVELS, EDUCATION_LEVELS, Cefr, Education, TaskCreated

from ._requirements import ladder, last_rung, revision, stepped
from ._workforce import DAY, DOMAINS, LABELS, MINUTE, Persona, weekday_of

__all__ = ["KINDS", "Client", "Kind", "Rating", "Stamp"]

_HOUR: Final = 60 * MINUTE
_WEEK: Final = 7 * DAY
_MONTH_MINUTES: Final = 365.25 / 12 * 24 * 60

#: The common fields of a new event: id, ``at`` and workspace.
Stamp = tuple[str, datetime, str]


class Rating(NamedTuple):
    """What the client knows of a rating item and never publishes: its right answer."""

    truth: str
    difficulty: float  # taken off each rater's chance of answering right


class Kind(NamedTuple):
    """A kind of work: its estimated minutes and judgements (one of each drawn per task)."""

    minutes: tuple[int, ...]
    judgements: tuple[int, ...]
    ref: str  # folder of the content in the client's store

    def mean_minutes(self) -> float:
        """Expected minutes of work one task of this kind brings, all judgements counted."""
        return sum(self.minutes) / len(self.minutes) * sum(self.judgements) / len(self.judgements)


#: Every kind of work the client publishes; ``review`` only follows a ``write``.
KINDS: Final[dict[str, Kind]] = {
    "write": Kind((40, 45, 50, 55, 60), (1,), "prompts"),
    "rate": Kind((5, 6, 8, 10), (3,), "comparisons"),
    "edit": Kind((20, 25, 30), (1,), "responses"),
    "fact_check": Kind((15, 20, 25), (1,), "responses"),
    "red_team": Kind((25, 30, 35), (1,), "probes"),
    "audit": Kind((10, 15, 20), (1,), "vendor-audit"),
    "review": Kind((12, 15, 18), (1, 1, 1, 2), "reviews"),
}
_GAPS: Final = (
    ("stem", "th"),
    ("humanities", "vi"),
    ("stem", "id"),
    ("business", "hi"),
    ("stem", "it"),
)


class Client:
    """The upstream system: what work it publishes, when, and with which requirements.

    The client plans work for the team on board: a task's domain and
    language are those of an expert drawn from the staff (so the nine new
    languages arrive with their experts), and its requirements are drawn,
    then relaxed until enough of the staff could take it: at once in v1,
    step by step after a wait with v1.1. It knows its
    vendor's staff, not who is at work: a task can still wait, or become
    unroutable when declines and exclusions bar everyone who could.
    """

    def __init__(
        self,
        mix: Sequence[tuple[str, float]],
        *,
        peak_hours_per_month: float,
        review_rate: float,
        ramp: Sequence[float],
        weekday_factor: float,
        weekend_factor: float,
        start: int,
        v1_1: bool = False,
    ) -> None:
        self.v1_1 = v1_1
        self.kinds = [kind for kind, _ in mix]
        self.cumulative = list(itertools.accumulate(weight for _, weight in mix))
        total = self.cumulative[-1]
        per_task = sum(weight * KINDS[kind].mean_minutes() for kind, weight in mix) / total
        write = sum(weight for kind, weight in mix if kind == "write") / total
        per_task += write * review_rate * KINDS["review"].mean_minutes()
        #: Tasks per minute at the peak.
        self.peak_rate = peak_hours_per_month * 60 / _MONTH_MINUTES / per_task
        self.ramp = tuple(ramp) or (1.0,)
        self.weekday_factor = weekday_factor
        self.weekend_factor = weekend_factor
        self.start = start
        self.staff: dict[str, Persona] = {}
        self._staff: list[Persona] = []
        self._counts: dict[tuple[str, str, int, int, int], int] = {}
        self._pools: dict[tuple[str, str], list[Persona]] = {}

    # --- volume ---------------------------------------------------------------------

    def next_arrival(self, rng: random.Random, now: int, end: int) -> int:
        """When the next task arrives: Poisson, at a rate constant within each hour."""
        while now < end:
            hour_end = now - now % _HOUR + _HOUR
            ramp = self.ramp[min((now - self.start) // _WEEK, len(self.ramp) - 1)]
            day = self.weekend_factor if weekday_of(now) >= 5 else self.weekday_factor
            rate = self.peak_rate * ramp * day
            if rate > 0:
                gap = round(rng.expovariate(rate) * MINUTE)
                if now + gap < hour_end:
                    return now + max(1, gap)
            now = hour_end  # memoryless: draw again at the next hour's rate
        return end

    # --- the team it plans for ------------------------------------------------------------

    def staffed(self, persona: Persona) -> None:
        """The expert joined, changed profile or left: plan work for the team as it is now."""
        self._counts.clear()
        if persona.expert not in self.staff and not persona.removed:  # a newcomer
            self.staff[persona.expert] = persona
            self._staff.append(persona)
            self._index(persona)
            return
        if persona.removed:
            self.staff.pop(persona.expert, None)
        self._staff = list(self.staff.values())
        self._pools = {}
        for person in self._staff:
            self._index(person)

    def _index(self, persona: Persona) -> None:
        for domain in persona.domains:
            for language in persona.languages:
                self._pools.setdefault((domain, language), []).append(persona)

    def count(self, domain: str, language: str, skill: int, fluency: Cefr, education: str) -> int:
        """How many of the staff meet these requirements."""
        key = (domain, language, skill, CEFR_LEVELS[fluency], EDUCATION_LEVELS[education])
        found = self._counts.get(key)
        if found is None:
            found = self._counts[key] = sum(
                1
                for p in self._pools.get((domain, language), ())
                if p.domains[domain] >= skill
                and CEFR_LEVELS[p.languages[language]] >= key[3]
                and EDUCATION_LEVELS[p.education] >= key[4]
            )
        return found

    # --- the tasks ------------------------------------------------------------------------

    def draw(self, rng: random.Random, stamp: Stamp, task: str) -> TaskCreated:
        """A new task, published with the given event stamp and task id."""
        kind = self.kinds[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]
        spec = KINDS[kind]
        judgements = rng.choice(spec.judgements)
        domain, language = "general", "en"
        for _ in range(4):  # a pool with room for every judgement and a decline
            domain, language = self._pool_of(rng)
            if self.count(domain, language, 1, "C1", "bachelor") > judgements:
                break
        skill = rng.choices((2, 3, 4), (40, 40, 20))[0]
        fluency: Cefr = rng.choices(("C1", "native", "C2"), (75, 20, 5))[0]
        if domain == "stem" and rng.random() < 0.06:
            education: Education = "doctorate"
        else:
            education = "master" if rng.random() < 0.25 else "bachelor"
        count = partial(self.count, domain, language)
        rungs = ladder(count, (skill, fluency, education), people=judgements + 1)
        at = stamp[1]
        priority = 0
        due = at + timedelta(days=rng.randrange(2, 6))
        if rng.random() < 0.02:
            priority = rng.choice((50, 60, 70, 80, 90))  # an urgent client request
            due = at + timedelta(hours=rng.randrange(4, 25))
        elif kind == "red_team" and rng.random() < 0.25:
            priority = 40  # probes of a fresh model checkpoint
        exclude: tuple[str, ...] = ()
        pool = self._pools.get((domain, language), [])
        if rng.random() < 0.01 and len(pool) > judgements + 3:
            # People who worked on the source item elsewhere: a conflict of interest.
            exclude = tuple(sorted(p.expert for p in rng.sample(pool, rng.choice((1, 2)))))
        created = TaskCreated(
            *stamp,
            task=task,
            kind=kind,
            domain=domain,
            language=language,
            minutes=rng.choice(spec.minutes),
            skill=rungs[-1][0],
            fluency=rungs[-1][1],
            education=rungs[-1][2],
            priority=priority,
            judgements=judgements,
            exclude=exclude,
            due=due,
            ref=f"s3://client-bucket/{spec.ref}/{task}.json",
        )
        return stepped(created, rungs, count) if self.v1_1 else created

    def rating(self, rng: random.Random) -> Rating:
        """The hidden answer of a rating item: one in four is a close call."""
        truth = rng.choices(LABELS, (45, 45, 10))[0]
        return Rating(truth, 0.25 if rng.random() < 0.25 else 0.0)

    def review_of(self, rng: random.Random, stamp: Stamp, parent: TaskCreated) -> TaskCreated:
        """The review task published once a written pair is submitted.

        Reviewers need the author's language; where too few share the
        author's domain too, reviewers of the language's best-staffed domain do.
        """
        spec = KINDS["review"]
        judgements = rng.choice(spec.judgements)
        people = judgements + 2  # the author is barred, and one more for a decline
        domain, language = parent.domain, parent.language
        if self.count(domain, language, 1, "C1", "bachelor") < people:
            domain = max(DOMAINS, key=lambda d: self.count(d, language, 1, "C1", "bachelor"))
        fluency: Cefr = "C1" if parent.fluency == "C2" else parent.fluency
        count = partial(self.count, domain, language)
        rungs = ladder(count, (parent.skill, fluency, parent.education), people=people)
        created = TaskCreated(
            *stamp,
            task=f"{parent.task}-review",
            kind="review",
            domain=domain,
            language=language,
            minutes=rng.choice(spec.minutes),
            skill=rungs[-1][0],
            fluency=rungs[-1][1],
            education=rungs[-1][2],
            priority=parent.priority,
            judgements=judgements,
            parent=parent.task,
            ref=f"s3://client-bucket/{spec.ref}/{parent.task}.json",
        )
        # The author is in the pool and barred: start where two could take it.
        return stepped(created, rungs, count, least=2) if self.v1_1 else created

    def revision_of(
        self, rng: random.Random, stamp: Stamp, parent: TaskCreated, writer: str
    ) -> TaskCreated:
        """The edit published when a review finds a written pair wanting.

        With v1.1 it is offered to the pair's writer alone for two hours,
        then to anyone who meets the pair's last requirements; in v1 to
        anyone at once. It names no ``parent``: that would bar the writer.
        """
        count = partial(self.count, parent.domain, parent.language)
        skill, fluency, education = ladder(count, last_rung(parent), people=2)[-1]
        created = TaskCreated(
            *stamp,
            task=f"{parent.task}-edit",
            kind="edit",
            domain=parent.domain,
            language=parent.language,
            minutes=rng.choice(KINDS["edit"].minutes),
            skill=skill,
            fluency=fluency,
            education=education,
            priority=parent.priority,
            due=stamp[1] + timedelta(days=2),
            ref=f"s3://client-bucket/revisions/{parent.task}.json",
        )
        return revision(created, writer) if self.v1_1 else created

    def gap(self, roster: Sequence[Persona], stamp: Stamp, task: str) -> TaskCreated:
        """A task nobody on the whole roster can take: a staffing gap for the report to show."""
        for domain, language in _GAPS:
            if not any(
                p.domains.get(domain, 0) >= 5
                and p.languages.get(language) == "native"
                and p.education == "doctorate"
                for p in roster
            ):
                break
        else:
            domain, language = "stem", "ms"  # Malay: nobody was hired for it
        return TaskCreated(
            *stamp,
            task=task,
            kind="write",
            domain=domain,
            language=language,
            minutes=60,
            education="doctorate",
            skill=5,
            fluency="native",
            priority=70,
            due=stamp[1] + timedelta(days=2),
            ref=f"s3://client-bucket/prompts/{task}.json",
        )

    def _pool_of(self, rng: random.Random) -> tuple[str, str]:
        """A (domain, language) pair in proportion to the staff: someone's own line of work."""
        if not self._staff:
            return "general", "en"
        persona = rng.choice(self._staff)
        domains = sorted(persona.domains, key=lambda d: (-persona.domains[d], d))
        domain = domains[0] if rng.random() < 0.7 else rng.choice(domains)
        return domain, persona.native
