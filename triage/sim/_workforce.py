"""The simulated workforce: who is hired, when, what they are like, and when they work.

The simulation loop (``_simulation``) must read as a story: a task arrives,
an expert takes it, submits, is reviewed. The statistics of the people
behind that story live here (and those of the work in ``_client``), so
they can be tuned in one place without touching the loop. Nothing here
knows the engine. Every draw comes from the ``random.Random`` the caller
passes in, in a fixed order, so a seed always hires the same team.

The figures follow the case study: 285 experts hired as part-time
employees at 20 hours a week, 100 in a first English-only cohort and the
rest when the scope grew to nine more languages (French, German, Hindi,
Indonesian, Italian, Portuguese, Spanish, Thai, Vietnamese); university
degrees in general knowledge, business, humanities and STEM.
"""

from __future__ import annotations

import itertools
import random
from datetime import datetime
from typing import Final

import msgspec

from events import Cefr, Education, ExpertProfile, Status

__all__ = ["DAY", "DOMAINS", "LABELS", "MINUTE", "Persona", "hire", "shift", "weekday_of"]

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
#: The answers of a rating: which of two responses is better, or neither.
LABELS: Final = ("A", "B", "tie")
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


class Persona(msgspec.Struct, kw_only=True):
    """One expert: the profile the workforce tool publishes and the traits it never sees."""

    expert: str
    native: str
    domains: dict[str, int]
    languages: dict[str, Cefr]
    education: Education
    weekly_hours: float
    concurrency: int
    #: Hidden: mean review score, handling-time factor, and how many times the
    #: scenario's mean rate this expert declines, or forgets, work.
    quality: float
    speed: float
    decline: float
    abandon: float
    #: Hidden: when they work: UTC offset (minutes), workdays (0 = Monday), usual
    #: start (local minutes past midnight) and minutes of presence per workday.
    utc_offset: int
    workdays: tuple[int, ...]
    start: int
    minutes: int
    split: int  # minutes of the break between the two blocks of a day; 0: one block
    onboarded: int  # microseconds since the epoch
    removed: bool = False

    def profile(self, event: str, at: datetime, workspace: str) -> ExpertProfile:
        """The ``expert.profile`` event the workforce tool publishes for this expert."""
        return ExpertProfile(
            event,
            at,
            workspace,
            expert=self.expert,
            domains=dict(self.domains),
            languages=dict(self.languages),
            education=self.education,
            weekly_hours=self.weekly_hours,
            concurrency=self.concurrency,
        )

    def decline_reason(self, rng: random.Random, domain: str) -> str:
        """Why this expert hands a task back."""
        if max(self.domains, key=self.domains.__getitem__) != domain:
            return _DECLINE_REASONS[0]
        return rng.choice(_DECLINE_REASONS[1:])

    def answer(self, rng: random.Random, truth: str, difficulty: float) -> str:
        """This expert's answer to a rating: the right one with a chance of their
        hidden quality less the item's difficulty, otherwise one of the others."""
        if rng.random() < self.quality - difficulty:
            return truth
        return rng.choice([label for label in LABELS if label != truth])

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

    The first cohort is onboarded on the weekdays of the first 5/14 of the
    onboarding window (days counted from ``start``), the rest on the
    weekdays after: with the defaults, 100 in week 1 and 185 in week 2.
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
        # HR onboards on weekdays, where the window has any.
        days = [d for d in range(low, high) if weekday_of(start + d * DAY) < 5] or [low]
        day = rng.choice(days)
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

    Usual days have one block of work or two with a long break ("away")
    between, start and length varying a little, and short breaks every hour
    or two; now and then a day off, or a short stint on a day off.
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
        pause = low + rng.randrange(75, 150)
        while pause < high - 40:  # a short break every hour or two, most of the time
            back = pause + rng.randrange(10, 26)
            if rng.random() < 0.7:
                changes.append((pause, "away"))
                changes.append((back, "available"))
            pause = back + rng.randrange(75, 150)
        changes.append((high, "offline" if number == len(blocks) else "away"))
    return changes
