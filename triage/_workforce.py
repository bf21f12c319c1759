"""The people and the work of the simulated project: who is hired, when they work, what arrives.

The simulation loop (``_simulation``) must read as a story: a task arrives,
an expert takes it, submits, is reviewed. Everything that is only
*statistics about people and work* lives here instead, so that the numbers
behind the story can be tuned in one place without touching the loop.
Nothing here knows the engine. Every draw comes from the ``random.Random``
the caller passes in, in a fixed order, so a seed gives the same month.

The figures follow the case study: 285 experts hired as part-time
employees at 20 hours a week, 100 in a first English-only cohort and the
rest when the scope grew to nine more languages; four domains; writing
prompt-response pairs, rating, editing, fact checking, red teaming and
auditing third-party vendor work.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final, NamedTuple

import msgspec

from events import CEFR_LEVELS, EDUCATION_LEVELS, Cefr, Education, Status, TaskCreated

__all__ = [
    "DAY",
    "KINDS",
    "MINUTE",
    "Client",
    "Kind",
    "Persona",
    "hire",
    "mean_minutes",
    "shift",
    "weekday_of",
]

MINUTE: Final = 60_000_000  # microseconds, the simulation's unit of time
DAY: Final = 24 * 60 * MINUTE

#: Native language -> the UTC offsets (minutes, November: no summer time) its experts live at.
ZONES: Final[dict[str, tuple[tuple[int, float], ...]]] = {
    "en": ((-300, 3.0), (-480, 1.0), (0, 3.0)),  # US east, US west, UK
    "fr": ((60, 1.0),),
    "de": ((60, 1.0),),
    "hi": ((330, 1.0),),
    "id": ((420, 1.0),),
    "it": ((60, 1.0),),
    "pt": ((0, 1.0), (-180, 1.0)),  # Portugal, Brazil
    "es": ((60, 2.0), (-300, 1.0)),  # Spain, Latin America
    "th": ((420, 1.0),),
    "vi": ((420, 1.0),),
}
_OTHER_LANGUAGES: Final = tuple(code for code in ZONES if code != "en")
DOMAINS: Final[dict[str, float]] = {"general": 0.3, "business": 0.2, "humanities": 0.2, "stem": 0.3}
_ERRORS: Final[dict[str, dict[str, float]]] = {
    "write": {"hallucination": 3, "factual": 3, "instructions": 2, "language": 1, "formatting": 1},
    "rate": {"instructions": 3, "factual": 1},
    "review": {"instructions": 3, "factual": 1},
    "edit": {"language": 2, "factual": 2, "instructions": 1, "formatting": 1},
    "fact_check": {"factual": 4, "hallucination": 1},
    "red_team": {"unsafe": 3, "instructions": 2},
    "audit": {"instructions": 2, "factual": 2},
}
_DECLINE_REASONS: Final = (
    "outside my expertise",
    "not enough time left in my shift",
    "conflict of interest",
    "content I cannot work on",
)


class Kind(NamedTuple):
    """A kind of work: its estimated minutes (one drawn per task) and judgements."""

    minutes: tuple[int, ...]
    judgements: tuple[int, ...]
    ref: str


#: Every kind of work the client publishes; ``review`` only follows a ``write``.
KINDS: Final[dict[str, Kind]] = {
    "write": Kind((40, 45, 50, 55, 60), (1,), "prompts"),
    "rate": Kind((8, 10, 10, 12), (3,), "comparisons"),
    "edit": Kind((20, 25, 30), (1,), "responses"),
    "fact_check": Kind((15, 20, 25), (1,), "responses"),
    "red_team": Kind((25, 30, 35), (1,), "probes"),
    "audit": Kind((10, 15, 20), (1,), "vendor-audit"),
    "review": Kind((12, 15, 18), (1, 1, 1, 2), "reviews"),
}


def mean_minutes(kind: str) -> float:
    """Expected minutes of work one task of this kind brings, all judgements counted."""
    spec = KINDS[kind]
    return sum(spec.minutes) / len(spec.minutes) * sum(spec.judgements) / len(spec.judgements)


class Persona(msgspec.Struct, kw_only=True):
    """One expert: the profile the workforce tool publishes and the traits it never sees."""

    expert: str
    native: str
    domains: dict[str, int]
    languages: dict[str, Cefr]
    education: Education
    weekly_hours: float
    concurrency: int
    #: Hidden: mean review score, handling-time factor, chances to decline or abandon.
    quality: float
    speed: float
    decline: float
    abandon: float
    #: Hidden: when they work, in local time (minutes past midnight, 0 = Monday).
    utc_offset: int
    workdays: tuple[int, ...]
    start: int
    minutes: int
    split: int  # minutes of the break between the two blocks of a day; 0: one block
    onboarded: int  # microseconds since the epoch
    removed: bool = False

    def profile(self) -> dict[str, object]:
        """The fields of this expert's ``expert.profile`` event."""
        return {
            "expert": self.expert,
            "domains": dict(self.domains),
            "languages": dict(self.languages),
            "education": self.education,
            "weekly_hours": self.weekly_hours,
            "concurrency": self.concurrency,
        }

    def decline_reason(self, rng: random.Random, domain: str) -> str:
        """Why this expert hands a task back."""
        if max(self.domains, key=self.domains.__getitem__) != domain:
            return _DECLINE_REASONS[0]
        return rng.choice(_DECLINE_REASONS[1:])

    def review(self, rng: random.Random, kind: str) -> tuple[float, bool, tuple[str, ...]]:
        """Score, pass and error categories of a review of this expert's work."""
        score = round(min(1.0, max(0.0, rng.gauss(self.quality, 0.08))), 2)
        passed = score >= 0.7
        if passed:
            count = 1 if score < 0.85 and rng.random() < 0.3 else 0
        else:
            count = 1 if rng.random() < 0.6 else 2
        weights = _ERRORS.get(kind, _ERRORS["rate"])
        errors = rng.choices(tuple(weights), tuple(weights.values()), k=count)
        return score, passed, tuple(dict.fromkeys(errors))


def weekday_of(micros: int) -> int:
    """Day of the week (0 = Monday) of an instant since the epoch, on the clock it is read."""
    return (micros // DAY + 3) % 7  # 1970-01-01 was a Thursday


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(tuple(weights), tuple(weights.values()))[0]


def hire(
    rng: random.Random,
    count: int,
    *,
    start: int,
    first_share: float,
    onboarding_days: int,
) -> list[Persona]:
    """The roster: a first English cohort, then the other nine languages, each onboarded in turn.

    The first cohort is onboarded in the first 5/14 of the onboarding window
    (days counted from ``start``), the rest after; in a window of more than
    a week, a weekend date moves to the Monday after.
    """
    first = min(count, max(1, round(count * first_share)))
    rest = [_OTHER_LANGUAGES[i % len(_OTHER_LANGUAGES)] for i in range(count - first)]
    rng.shuffle(rest)
    split_day = max(1, round(onboarding_days * 5 / 14)) if onboarding_days > 1 else 0
    people = []
    for index, native in enumerate(itertools.chain(["en"] * first, rest), start=1):
        if index <= first:
            low, high = 0, max(1, split_day)
        else:
            low, high = split_day, max(split_day + 1, onboarding_days)
        day = rng.randrange(low, high)
        weekday = weekday_of(start + day * DAY)
        if weekday >= 5 and onboarding_days > 7:  # HR onboards on weekdays
            day += 7 - weekday
        people.append(_persona(rng, f"ex-{index:03d}", native, start + day * DAY))
    return people


def _persona(rng: random.Random, expert: str, native: str, day: int) -> Persona:
    primary = _pick(rng, DOMAINS)
    domains = {primary: rng.choices((3, 4, 5), (35, 40, 25))[0]}
    if rng.random() < 0.4:
        second = _pick(rng, {d: w for d, w in DOMAINS.items() if d != primary})
        domains[second] = rng.choices((2, 3, 4), (40, 40, 20))[0]
    languages: dict[str, Cefr] = {native: "native" if rng.random() < 0.85 else "C2"}
    if native != "en" and rng.random() < 0.6:
        languages["en"] = "C2" if rng.random() < 0.6 else "C1"
    elif native == "en" and rng.random() < 0.15:
        languages[rng.choice(("es", "fr", "de", "hi"))] = rng.choice(("C1", "C2"))
    doctorate = 0.3 if primary == "stem" else 0.12
    education: Education = rng.choices(
        ("bachelor", "master", "doctorate"), (0.88 - doctorate, 0.4, doctorate)
    )[0]
    weekly = rng.choices((20.0, 10.0, 30.0, 40.0), (85, 5, 7, 3))[0]
    zones = ZONES[native]
    offset = rng.choices([z for z, _ in zones], [w for _, w in zones])[0]
    pattern = rng.random()
    if pattern < 0.7:
        workdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    elif pattern < 0.85:
        workdays = (0, 1, 2, 3, 5)
    else:
        workdays = (0, 1, 2, 3, 4, 6)
    # A little more presence than contracted hours: people are not busy every minute.
    minutes = round(weekly * 60 * rng.uniform(1.05, 1.2) / len(workdays))
    split = rng.choice((30, 45, 60, 90)) if rng.random() < 0.45 else 0
    chronotype = rng.random()
    if chronotype < 0.4:
        begin = rng.randrange(7 * 60, 10 * 60, 15)
    elif chronotype < 0.65:
        begin = rng.randrange(12 * 60, 14 * 60, 15)
    else:
        begin = rng.randrange(17 * 60, 19 * 60 + 1, 15)
    begin = min(begin, 24 * 60 - minutes - split - 30)
    quality = rng.uniform(0.78, 0.96) if rng.random() < 0.85 else rng.uniform(0.5, 0.75)
    onboarded = day + (rng.randrange(9 * 60, 12 * 60) - offset) * MINUTE
    return Persona(
        expert=expert,
        native=native,
        domains=domains,
        languages=languages,
        education=education,
        weekly_hours=weekly,
        concurrency=2 if rng.random() < 0.15 else 1,
        quality=round(quality, 3),
        speed=round(min(1.6, max(0.6, rng.lognormvariate(0.0, 0.2))), 3),
        decline=rng.lognormvariate(0.0, 0.5),
        abandon=rng.lognormvariate(0.0, 0.5),
        utc_offset=offset,
        workdays=workdays,
        start=max(0, begin),
        minutes=minutes,
        split=split,
        onboarded=onboarded,
    )


def shift(persona: Persona, rng: random.Random, weekday: int) -> list[tuple[int, Status]]:
    """The status changes of one local day, as (minutes past local midnight, status).

    Usual days have one block of work or two with a break ("away") between,
    start and length varying a little; now and then a day off, a coffee
    break, or a short stint on a day off.
    """
    if weekday not in persona.workdays:
        if rng.random() < 0.05:
            begin = rng.randrange(9 * 60, 20 * 60, 15)
            return [(begin, "available"), (begin + rng.randrange(60, 180, 15), "offline")]
        return []
    if rng.random() < 0.05:
        return []
    begin = max(0, persona.start + round(rng.gauss(0, 20)))
    length = max(30, round(persona.minutes * rng.uniform(0.85, 1.15)))
    if persona.split:
        first = round(length * rng.uniform(0.45, 0.65))
        gap = round(persona.split * rng.uniform(0.7, 1.3))
        blocks = [(begin, begin + first), (begin + first + gap, begin + length + gap)]
    else:
        blocks = [(begin, begin + length)]
    changes: list[tuple[int, Status]] = []
    for number, (low, high) in enumerate(blocks, start=1):
        changes.append((low, "available"))
        if high - low > 120 and rng.random() < 0.25:
            pause = rng.randrange(low + 45, high - 45)
            changes.append((pause, "away"))
            changes.append((pause + rng.randrange(10, 26), "available"))
        changes.append((high, "offline" if number == len(blocks) else "away"))
    return changes


class Client:
    """The upstream system: what work it publishes, and with which requirements.

    The client plans work for the team on board: a task's domain and
    language are those of an expert drawn from the staff (so the nine new
    languages arrive with their experts), and its requirements are drawn,
    then relaxed until enough of the staff could take it. The client knows
    its vendor's staff, not who is at work: a task can still wait, or
    become unroutable when declines and exclusions bar everyone.
    """

    def __init__(self, mix: Sequence[tuple[str, float]], workspace: str) -> None:
        self.workspace = workspace
        self.kinds = [kind for kind, _ in mix]
        self.cumulative = list(itertools.accumulate(weight for _, weight in mix))
        self.staff: dict[str, Persona] = {}
        self._staff: list[Persona] = []
        self._counts: dict[tuple[str, str, int, int, int], int] = {}
        self._pools: dict[tuple[str, str], list[Persona]] = {}

    def staffed(self, persona: Persona) -> None:
        """The expert joined, changed profile or left: plan work for the team as it is now."""
        if persona.removed:
            self.staff.pop(persona.expert, None)
        else:
            self.staff[persona.expert] = persona
        self._staff = list(self.staff.values())
        self._pools = {}
        for person in self._staff:
            for domain in person.domains:
                for language in person.languages:
                    self._pools.setdefault((domain, language), []).append(person)
        self._counts.clear()

    def count(self, domain: str, language: str, skill: int, fluency: Cefr, education: str) -> int:
        """How many experts of the staff meet these requirements."""
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

    def draw(self, rng: random.Random, event: str, at: datetime, task: str) -> TaskCreated:
        """A new task arriving at ``at``, with the given event and task ids."""
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
        skill, fluency, education = self._relax(
            domain, language, skill, fluency, education, judgements + 1
        )
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
        return TaskCreated(
            event, at, self.workspace, task=task, kind=kind, domain=domain, language=language,
            minutes=rng.choice(spec.minutes), education=education, skill=skill, fluency=fluency,
            priority=priority, judgements=judgements, exclude=exclude, due=due,
            ref=f"s3://client-bucket/{spec.ref}/{task}.json",
        )

    def review_of(
        self, rng: random.Random, event: str, at: datetime, parent: TaskCreated
    ) -> TaskCreated:
        """The review task the client publishes once a written pair is submitted.

        Reviewers need the author's language; where too few share the
        author's domain too, language reviewers of the best-staffed domain do.
        """
        spec = KINDS["review"]
        judgements = rng.choice(spec.judgements)
        people = judgements + 2  # the author is barred, and one more for a decline
        domain, language = parent.domain, parent.language
        if self.count(domain, language, 1, "C1", "bachelor") < people:
            domain = max(DOMAINS, key=lambda d: self.count(d, language, 1, "C1", "bachelor"))
        skill, fluency, education = self._relax(
            domain, language, parent.skill, "C1" if parent.fluency == "C2" else parent.fluency,
            parent.education, people,
        )
        return TaskCreated(
            event, at, self.workspace, task=f"{parent.task}-review", kind="review",
            domain=domain, language=language, minutes=rng.choice(spec.minutes),
            education=education, skill=skill, fluency=fluency, priority=parent.priority,
            judgements=judgements, parent=parent.task,
            ref=f"s3://client-bucket/{spec.ref}/{parent.task}.json",
        )

    def gap(self, roster: Sequence[Persona], event: str, at: datetime, task: str) -> TaskCreated:
        """A task nobody on the whole roster can take: a staffing gap for the report to show."""
        for domain, language in (("stem", "th"), ("humanities", "vi"), ("stem", "id"),
                                 ("business", "hi"), ("stem", "it"), ("humanities", "pt")):
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
            event, at, self.workspace, task=task, kind="write", domain=domain, language=language,
            minutes=60, education="doctorate", skill=5, fluency="native", priority=70,
            due=at + timedelta(days=2), ref=f"s3://client-bucket/prompts/{task}.json",
        )

    def _pool_of(self, rng: random.Random) -> tuple[str, str]:
        """A (domain, language) pair in proportion to the staff: someone's own work."""
        if not self._staff:
            return "general", "en"
        persona = rng.choice(self._staff)
        domains = sorted(persona.domains, key=lambda d: (-persona.domains[d], d))
        domain = domains[0] if rng.random() < 0.7 else rng.choice(domains)
        return domain, persona.native

    def _relax(
        self, domain: str, language: str, skill: int, fluency: Cefr, education: Education,
        people: int,
    ) -> tuple[int, Cefr, Education]:
        """Relax the requirements until at least ``people`` of the staff meet them."""
        while self.count(domain, language, skill, fluency, education) < people:
            if education != "bachelor":
                education = "bachelor"
            elif fluency != "C1":
                fluency = "C1"
            elif skill > 1:
                skill -= 1
            else:
                break
        return skill, fluency, education
