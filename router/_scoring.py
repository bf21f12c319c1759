"""Who gets a task: eligibility, the policy's score, and the reasons given for it.

``scan`` is the reference choice: it looks at every idle expert of the
task's pool, applies the contract's rules 1 and 2 cheapest check first and
scores only the experts who pass. Routing uses it on small pools, for tasks
with a gate or an allow-list, and under a ``Ranking``; on large pools the
idle index (``_index``) makes the same choice without looking at them all.
``score`` and ``reasons`` are the policy (see ``_policy``) made concrete
for one expert and one task; ``reasons`` is what a person reads to check a
decision, so it names every part of the score. The score's first partial
sum, quality and load (``steady``), changes only with events; idle and fit
depend on the moment and the task. The index orders experts by the first
and bounds the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Protocol

from events import CEFR_LEVELS, EDUCATION_LEVELS, HOUR

from ._policy import Policy, Score
from ._state import Expert, Extras, Task, Workspace

__all__ = [
    "AGREED",
    "CEFR_NAMES",
    "EDUCATION_NAMES",
    "Ranking",
    "admitted",
    "agreed",
    "agreement_in",
    "facet",
    "fit_of",
    "idle_of",
    "learned_reasons",
    "personal",
    "quality_in",
    "reasons",
    "record_of",
    "scan",
    "score",
    "steady",
    "v1_1_reasons",
]

#: CEFR rank -> level name, and education rank -> level name, for reasons.
CEFR_NAMES: Final = {rank: name for name, rank in CEFR_LEVELS.items()}
EDUCATION_NAMES: Final = {rank: name for name, rank in EDUCATION_LEVELS.items()}


class Ranking(Protocol):
    """Another way to rank the eligible experts than the policy's score.

    For evaluation only (the baselines of what-if and of the policy
    harness: round robin, seeded random, an oracle that knows the truth):
    eligibility, queue order, leases and every rule stay the engine's; only
    the order among the experts who could take a task changes. ``score``
    stands in for :func:`score`; ``assigned`` is told of each assignment.
    """

    def score(self, ws: Workspace, expert: Expert, task: Task, policy: Policy) -> Score:
        """The candidate's score; the highest total wins, ties by expert id."""
        ...

    def assigned(self, ws: Workspace, task: Task, expert: Expert) -> None:
        """The task went to the expert."""
        ...


def scan(
    ws: Workspace, task: Task, policy: Policy, ranking: Ranking | None = None
) -> tuple[Expert | None, int, Score | None]:
    """The best-scored expert who can take the task now, how many can, and the winner's score.

    Every idle expert of the pool is looked at. The pool's idle set already
    holds only available experts with an open slot, so what is left to
    check is the task's requirement, the week's minutes and the personal
    bars. Ties go to the smallest expert id. The score is the one the
    decision reports, so the winner is not scored a second time.
    """
    pool = ws.pools.get(task.pool)
    if pool is None or not pool.idle:
        return None, 0, None
    experts = ws.experts
    week = ws.week
    domain, language = task.domain, task.language
    skill, fluency, education, minutes = task.skill, task.fluency, task.education, task.minutes
    barred = task.tried is not None or task.exclude is not None or task.parent is not None
    rank = score if ranking is None else ranking.score
    extra = task.extra
    idle: Iterable[str] = pool.idle
    if extra:
        allowed = task.v1_1.allowed if task.v1_1 is not None else None
        if allowed is not None and len(allowed) < len(pool.idle):
            idle = [name for name in allowed if name in pool.idle]
    best: Expert | None = None
    best_score: Score | None = None
    best_total = -1.0
    eligible = 0
    for expert_id in idle:
        expert = experts[expert_id]
        if (
            expert.domains.get(domain, 0) < skill
            or expert.languages.get(language, -1) < fluency
            or expert.education < education
            or (expert.used if expert.week == week else 0) + minutes > expert.capacity
            or (barred and not personal(ws, expert, task))
            or (extra and not admitted(expert, task, policy))
        ):
            continue
        eligible += 1
        scored = rank(ws, expert, task, policy)
        total = scored.total
        if total > best_total or (
            total == best_total and best is not None and expert_id < best.expert
        ):
            best, best_total, best_score = expert, total, scored
    return best, eligible, best_score


def personal(ws: Workspace, expert: Expert, task: Task) -> bool:
    """Not excluded, not assigned this task before, not an author of its parent."""
    if task.tried is None and task.exclude is None and task.parent is None:
        return True
    name = expert.expert
    if task.tried and name in task.tried:
        return False
    if task.exclude and name in task.exclude:
        return False
    if task.parent:
        parent = ws.tasks.get(task.parent)
        if parent is not None and (
            (parent.submitters and name in parent.submitters)
            or (parent.open and name in parent.open)
        ):
            return False
    return True


def record_of(expert: Expert, domain: str, policy: Policy) -> float:
    """The expert's quality record in the domain: the prior until they are reviewed."""
    record = expert.records.get(domain) if expert.records else None
    if record is None:
        return policy.quality_prior
    return policy.quality_of(record.reviews, record.total)


def admitted(expert: Expert, task: Task, policy: Policy) -> bool:
    """The v1.1 checks of a task that has them: on its allow-list, and through its gate."""
    extras = task.v1_1
    if extras is None:
        return True
    if extras.allowed is not None and expert.expert not in extras.allowed:
        return False
    return extras.gate is None or record_of(expert, task.domain, policy) >= extras.gate


def quality_in(expert: Expert, task: Task, policy: Policy) -> float:
    """The quality part: the domain record, or with ``by_kind`` the kind's mean shrunk to it.

    q_d = (prior x n0 + sum of scores in d) / (n0 + reviews in d), the
    contract's record; q_dk = (q_d x n1 + sum in (d, k)) / (n1 + reviews in
    (d, k)): the (domain, kind) mean shrunk towards the expert's domain
    record, itself shrunk towards the prior.
    """
    record = expert.records.get(task.domain) if expert.records else None
    if record is None:
        return policy.quality_prior
    domain = policy.quality_of(record.reviews, record.total)
    if not policy.by_kind:
        return domain
    kind = record.kinds.get(task.kind) if record.kinds else None
    if kind is None:
        return domain
    return policy.kind_quality_of(domain, kind.reviews, kind.total)


def agreed(task: Task, policy: Policy) -> bool:
    """Does the policy score the agreement part on this task (a review kind)?"""
    return bool(policy.agreement_share) and task.kind in policy.review_kinds


def agreement_in(expert: Expert, policy: Policy) -> float:
    """The reviewer's agreement: mean closeness to other reviews, shrunk to the prior."""
    record = expert.agreement
    if record is None:
        return policy.agreement_prior
    return policy.agreement_of(record.reviews, record.total)


#: The facet of the domain record with the agreement part: no kind's record
#: (never a kind: those have at most 128 characters). The idle index uses it
#: for a review kind that no idle expert of the pool has a record of.
AGREED: Final = "agreement:" + "*" * 128


def facet(task: Task, policy: Policy) -> str:
    """What of a task, beyond its pool, ``steady`` depends on: its kind, or "" for nothing.

    The idle index keeps one order by ``steady`` per pool and facet. A
    quality by kind (``by_kind``) makes every kind a facet; an agreement
    part makes each review kind one (the other kinds share ""). Under a
    policy with neither, such as ``BALANCED``, every task has the facet "".
    A kind is never "" (the contract gives it 1 to 128 characters).
    """
    if policy.by_kind or agreed(task, policy):
        return task.kind
    return ""


def steady(expert: Expert, domain: str, facet: str, week: int, policy: Policy) -> float:
    """The part of the score that only events change: weighted quality plus weighted load.

    For a task of the pool of ``domain`` and of the given ``facet`` (see
    :func:`facet`): the quality is that of ``score`` for a task of that
    kind, the (domain, kind) record with ``by_kind``, mixed with the
    agreement on a review kind. A review changes the records of the expert
    reviewed and the agreement of its reviewers; an assignment, minutes
    given back and a new week change the load. It is the total's first
    partial sum, computed as ``score`` computes it, so the total never falls
    as it rises: the idle index keeps experts in its order. The facet
    :data:`AGREED` is the domain record with the agreement: a review kind's
    steady part for an expert with no record of that kind.
    """
    record = expert.records.get(domain) if expert.records else None
    if record is None:
        quality = policy.quality_prior
    else:
        quality = policy.quality_of(record.reviews, record.total)
        if policy.by_kind and record.kinds:
            kind = record.kinds.get(facet)
            if kind is not None:
                quality = policy.kind_quality_of(quality, kind.reviews, kind.total)
    load = 1.0 - expert.used_in(week) / expert.capacity
    if facet and policy.agreement_share and (facet == AGREED or facet in policy.review_kinds):
        share = policy.agreement_share
        judged = (1.0 - share) * quality + share * agreement_in(expert, policy)
        return policy.quality * judged + policy.load * load
    return policy.quality * quality + policy.load * load


def idle_of(last_assigned: int, clock: int, horizon: float) -> float:
    """The idle part: time since the last assignment over the horizon (µs), at most 1.

    Never assigned is 1; it never rises as ``last_assigned`` does.
    """
    if last_assigned < 0:
        return 1.0
    return min(1.0, (clock - last_assigned) / horizon)


def fit_of(domain_level: int, language_level: int, education: int, task: Task) -> float:
    """The fit part: 1 less the mean excess of the expert's levels over the task's."""
    excess = (
        (domain_level - task.skill) / 4
        + (language_level - task.fluency) / 6
        + (education - task.education) / 4
    ) / 3
    return 1.0 - excess


def score(ws: Workspace, expert: Expert, task: Task, policy: Policy) -> Score:
    """The policy's score of an eligible expert for the task, with its parts.

    The total is ``steady`` + weighted idle + weighted fit, summed in that
    order; quality, idle and fit are written out here rather than called,
    as this runs for every candidate of a scan (a property test holds the
    idle index, which calls ``steady``, ``idle_of`` and ``fit_of``, to the
    same sums).
    """
    record = expert.records.get(task.domain) if expert.records else None
    if record is None:
        quality = policy.quality_prior
    else:
        quality = policy.quality_of(record.reviews, record.total)
        if policy.by_kind and record.kinds:  # inline quality_in: this is the hot loop
            kind = record.kinds.get(task.kind)
            if kind is not None:
                quality = policy.kind_quality_of(quality, kind.reviews, kind.total)
    load = 1.0 - expert.used_in(ws.week) / expert.capacity
    if expert.last_assigned < 0:
        idle = 1.0
    else:
        idle = min(1.0, (ws.clock - expert.last_assigned) / (policy.idle_horizon_hours * HOUR))
    excess = (
        (expert.domains[task.domain] - task.skill) / 4
        + (expert.languages[task.language] - task.fluency) / 6
        + (expert.education - task.education) / 4
    ) / 3
    fit = 1.0 - excess
    if policy.agreement_share and task.kind in policy.review_kinds:
        agreement = agreement_in(expert, policy)
        share = policy.agreement_share
        judged = (1.0 - share) * quality + share * agreement
        total = policy.quality * judged + policy.load * load + policy.idle * idle + policy.fit * fit
        return Score(total, quality, load, idle, fit, agreement)
    total = policy.quality * quality + policy.load * load + policy.idle * idle + policy.fit * fit
    return Score(total, quality, load, idle, fit)


def reasons(
    ws: Workspace,
    expert: Expert,
    task: Task,
    score: Score,
    eligible: int,
    *,
    policy: Policy,
) -> tuple[str, ...]:
    """The decision in words: the requirement met, each part of the score, the competition.

    After the requirement, what a v1.1 task adds (:func:`v1_1_reasons`);
    the quality line is that of :func:`learned_reasons` under a policy with
    ``by_kind`` or on a review kind with ``agreement_share``.
    """
    said = [
        f"meets {task.domain} {expert.domains[task.domain]}>={task.skill}, "
        f"{task.language} {CEFR_NAMES[expert.languages[task.language]]}"
        f">={CEFR_NAMES[task.fluency]}, "
        f"{EDUCATION_NAMES[expert.education]}>={EDUCATION_NAMES[task.education]}"
    ]
    extras = task.v1_1
    if extras is not None and (extras.reached or task.extra):
        said += v1_1_reasons(expert, task, extras, policy)
    if policy.by_kind or agreed(task, policy):
        said += learned_reasons(expert, task, score, policy)
    else:
        record = expert.records.get(task.domain) if expert.records else None
        if record:
            said.append(
                f"quality {score.quality:.2f} from {record.reviews} reviews in {task.domain}"
            )
        else:
            said.append(f"quality {score.quality:.2f} (prior: no reviews in {task.domain})")
    used = expert.used if expert.week == ws.week else 0
    said.append(f"load {used / 60:.1f}h of {expert.capacity / 60:g}h this week")
    if expert.last_assigned < 0:
        said.append("idle: no assignment yet")
    else:
        said.append(f"idle {(ws.clock - expert.last_assigned) / HOUR:.1f}h")
    said.append(f"fit {score.fit:.2f}")
    said.append(
        "only eligible expert with room"
        if eligible == 1
        else f"best of {eligible} eligible with room"
    )
    return tuple(said)


def learned_reasons(expert: Expert, task: Task, score: Score, policy: Policy) -> list[str]:
    """The quality line of a learned policy, and its agreement line on a review kind.

    They stand in for the quality line of :func:`reasons`, which a policy
    without ``by_kind`` and ``agreement_share`` keeps word for word.
    """
    record = expert.records.get(task.domain) if expert.records else None
    if record is None:
        said = [f"quality {score.quality:.2f} (prior: no reviews in {task.domain})"]
    elif not policy.by_kind:
        said = [f"quality {score.quality:.2f} from {record.reviews} reviews in {task.domain}"]
    else:
        domain = policy.quality_of(record.reviews, record.total)
        of_domain = f"{task.domain} {domain:.2f} from {record.reviews} reviews"
        kind = record.kinds.get(task.kind) if record.kinds else None
        if kind is None:
            said = [f"quality {score.quality:.2f} (no reviews of {task.kind}; {of_domain})"]
        else:
            said = [
                f"quality {score.quality:.2f} from {kind.reviews} reviews of {task.kind} "
                f"({of_domain})"
            ]
    if agreed(task, policy):
        compared = expert.agreement
        share = f"{policy.agreement_share:.0%} of the quality weight"
        if compared is None:
            said.append(f"agreement {score.agreement:.2f} (prior: no reviews compared; {share})")
        else:
            said.append(
                f"agreement {score.agreement:.2f} with others' reviews over "
                f"{compared.reviews} pairs ({share})"
            )
    return said


def v1_1_reasons(expert: Expert, task: Task, extras: Extras, policy: Policy) -> list[str]:
    """What a v1.1 task adds after the requirement: the step in force, the gate, the list."""
    said = []
    if extras.reached:
        after = extras.ladder[extras.reached - 1].after
        said.append(f"step {extras.reached} in force (after {after} minutes)")
    if extras.gate is not None:
        record = record_of(expert, task.domain, policy)
        said.append(f"record {record:.3f}>={extras.gate:.3f} in {task.domain}")
    if extras.allowed is not None:
        said.append(f"named: one of {len(extras.allowed)} on the task's list")
    return said
