"""``triage why`` as text for people: the history, then each decision taken apart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from router import Explanation, Policy

from ._why import Decision, Why

__all__ = ["render_why"]

_NAMED: Final = 4  # a stage that removed at most this many experts names them
_LABELS: Final = {
    "domain": "domain level",
    "language": "language",
    "education": "education",
    "status": "status",
    "concurrency": "concurrency",
    "weekly_hours": "weekly hours",
    "exclusions": "exclusions",
    "parent": "parent",
    "tried": "already tried",
    "allow_list": "allow-list",
    "quality_gate": "quality gate",
    "unknown": "not in the workspace",
}


def render_why(result: Why, *, source: str) -> str:
    """The task's history and its decisions; with an expert, where they stood at each."""
    decisions = result.decisions
    lines = [
        f"task {result.task} in workspace {result.workspace}: {result.state}; "
        f"{len(result.history)} events, {len(decisions)} "
        f"decision{'s' if len(decisions) != 1 else ''} explained",
        f"replayed {result.replayed:,} inputs of {source}, to position {result.last_position:,}: "
        + (
            "every output as recorded"
            if result.diverged is None
            else f"DIVERGED from the log at position {result.diverged:,} "
            "(the explanations after it are this engine's, not the log's)"
        ),
        "",
        "history",
    ]
    for entry in result.history:
        body = msgspec.json.decode(entry.event)
        arrow = "->" if entry.output else "  "
        line = (
            f"  {_time(entry.at)}  #{entry.position:<7} {arrow} {entry.type:<15} {_summary(body)}"
        )
        lines.append(line.rstrip())
    policy: Policy | None = None
    for number, decision in enumerate(decisions, 1):
        lines.append("")
        lines.append(f"decision {number}: {_headline(decision)}")
        explanation = decision.explanation
        if explanation.policy != policy:
            policy = explanation.policy
            lines.append(f"  policy {_policy(policy)}")
        lines.append(f"  requires {_requires(explanation)}")
        if result.expert is not None:
            lines += _standing(explanation)
            if decision.outcome == "assigned" and decision.expert != result.expert:
                best = explanation.top[0]
                lines.append(
                    f"  {decision.expert} got it: best of {explanation.eligible} eligible, "
                    f"total {best.total:.4f}"
                )
        else:
            lines += _funnel(explanation)
            lines += _candidates(explanation)
    if result.expert is not None:
        lines += ["", _verdict(result)]
    return "\n".join(lines)


def _time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _headline(decision: Decision) -> str:
    explanation = decision.explanation
    at = _time(explanation.at)
    cause = f"#{decision.position} {decision.cause_type} {decision.cause}"
    if decision.outcome == "assigned":
        said = f"assigned to {decision.expert} at {at} (attempt {decision.attempt}; {cause})"
        if decision.recorded != decision.expert:
            said += f"; the log says {decision.recorded}"
        return said
    if decision.outcome == "cancelled":
        return f"waiting at {at}, then cancelled ({cause}): nobody could take it"
    if decision.outcome == "end":
        return f"still waiting at {at}, the end of the history (#{decision.position})"
    return f"waiting after {at} ({cause}): nobody could take it"


def _policy(policy: Policy) -> str:
    said = (
        f"{policy.name!r}: quality {policy.quality:g}, load {policy.load:g}, "
        f"idle {policy.idle:g}, fit {policy.fit:g}; quality prior {policy.quality_prior:g} "
        f"worth {policy.quality_prior_reviews:g} reviews; idle horizon "
        f"{policy.idle_horizon_hours:g}h"
    )
    if policy.by_kind:
        said += (
            f"; quality by domain and kind, the domain record worth "
            f"{policy.kind_prior_reviews:g} reviews of a kind"
        )
    if policy.agreement_share:
        said += (
            f"; on {', '.join(policy.review_kinds)} agreement takes "
            f"{policy.agreement_share:.0%} of the quality weight"
        )
    return said


def _weights(policy: Policy, agreement: bool) -> dict[str, float]:
    """The weight of each part as the score adds it up (agreement splits quality's)."""
    share = policy.agreement_share if agreement else 0.0
    weights = {
        "quality": policy.quality * (1 - share),
        "load": policy.load,
        "idle": policy.idle,
        "fit": policy.fit,
    }
    if agreement:
        weights["agreement"] = policy.quality * share
    return weights


def _requires(explanation: Explanation) -> str:
    need = explanation.requirements
    said = (
        f"{need.domain} >= {need.skill}, {need.language} >= {need.fluency}, "
        f"education >= {need.education}, {need.minutes} min"
    )
    if need.step:
        said += f"; step {need.step} in force"
    if need.quality is not None:
        said += f"; record >= {need.quality:g}"
    if need.experts is not None:
        said += f"; only {', '.join(need.experts) or 'nobody'}"
    if need.exclude:
        said += f"; not {', '.join(need.exclude)}"
    if need.parent:
        said += f"; reviews {need.parent}"
    return said


def _funnel(explanation: Explanation) -> list[str]:
    considered = explanation.considered
    heading = f"{considered} expert{'s' if considered != 1 else ''} in the workspace"
    lines = [f"  {heading:<47} removed   left"]
    for stage in explanation.funnel:
        named = ""
        if 0 < stage.removed <= _NAMED:
            named = "  " + ", ".join(stage.experts)
        lines.append(
            f"    {_LABELS[stage.rule]:<14} {stage.requirement:<30} {stage.removed:>7} "
            f"{stage.left:>6}{named}"
        )
    return lines


def _candidates(explanation: Explanation) -> list[str]:
    eligible = explanation.eligible
    if not eligible:
        return ["  nobody eligible"]
    policy = explanation.policy
    width = max(len("expert"), *(len(c.expert) for c in explanation.top))
    shown = len(explanation.top)
    agreement = any(c.agreement is not None for c in explanation.top)
    lines = [
        f"  {eligible} eligible" + (f"; the best {shown}:" if shown < eligible else ":"),
        f"    {'expert':<{width}}   total  quality   load   idle    fit"
        + ("  agree" if agreement else ""),
    ]
    for candidate in explanation.top:
        lines.append(
            f"    {candidate.expert:<{width}}  {candidate.total:.4f}  {candidate.quality:7.3f}"
            f"  {candidate.load:5.3f}  {candidate.idle:5.3f}  {candidate.fit:5.3f}"
            + (f"  {candidate.agreement or 0.0:5.3f}" if agreement else "")
        )
    weights = _weights(policy, agreement)
    lines.append(
        f"    {'weights':<{width}}          {weights['quality']:7.2f}  {weights['load']:5.2f}"
        f"  {weights['idle']:5.2f}  {weights['fit']:5.2f}"
        + (f"  {weights['agreement']:5.2f}" if agreement else "")
    )
    tie = explanation.tie
    if tie is not None:
        lines.append(
            f"  tie-break: {', '.join(tie.tied)} tied at {tie.total:.4f}; "
            f"the smallest id, {tie.winner}, won"
        )
    elif eligible > 1:
        second = explanation.top[1]
        lines.append(
            f"  no tie: {explanation.winner} by {explanation.top[0].total - second.total:.4f} "
            f"over {second.expert}"
        )
    return lines


def _standing(explanation: Explanation) -> list[str]:
    standing = explanation.standing
    assert standing is not None
    if standing.rule == "unknown":
        return [f"  {standing.expert}: {standing.detail}"]
    if standing.rule is not None:
        said = f"  {standing.expert}: removed by {_LABELS[standing.rule]}: {standing.detail}"
        if standing.also:
            said += f" (and by {', '.join(_LABELS[rule] for rule in standing.also)})"
        return [said]
    lines = [f"  {standing.expert}: {standing.detail}"]
    mine, best = standing.candidate, explanation.top[0] if explanation.top else None
    if mine is not None and best is not None and best.expert != mine.expert:
        policy = explanation.policy
        parts = []
        weights = _weights(policy, mine.agreement is not None)
        for part, weight in weights.items():
            gap = weight * ((getattr(mine, part) or 0.0) - (getattr(best, part) or 0.0))
            parts.append(
                f"{part} {getattr(mine, part):.3f} vs {getattr(best, part):.3f} ({gap:+.4f})"
            )
        lines.append(f"    against {best.expert}: " + ", ".join(parts))
    return lines


def _verdict(result: Why) -> str:
    expert = result.expert
    got = [n for n, d in enumerate(result.decisions, 1) if d.expert == expert]
    if got:
        return f"{expert} got it at decision {', '.join(map(str, got))}"
    rules: dict[str, int] = {}
    for decision in result.decisions:
        standing = decision.explanation.standing
        if standing is not None:
            rule = standing.rule
            if rule is None:
                key = "outscored"
            elif rule == "unknown":
                key = "not in the workspace"
            else:
                key = f"removed by {_LABELS[rule]}"
            rules[key] = rules.get(key, 0) + 1
    said = "; ".join(
        f"{rule} at {count} decision{'s' if count != 1 else ''}" for rule, count in rules.items()
    )
    return f"{expert} never got it: {said or 'no decision was taken'}"


def _summary(body: Any) -> str:
    phrase = _PHRASES.get(body.get("type"))
    return phrase(body) if phrase is not None else str(body.get("reason", ""))


def _created(body: Any) -> str:
    said = (
        f"{body['kind']} {body['domain']}/{body['language']}: skill {body.get('skill', 1)}, "
        f"fluency {body.get('fluency', 'C1')}, education {body.get('education', 'none')}, "
        f"{body['minutes']} min, priority {body.get('priority', 0)}, "
        f"judgements {body.get('judgements', 1)}"
    )
    for field in ("exclude", "parent", "quality", "experts"):
        if body.get(field):
            said += f", {field} {body[field]}"
    if body.get("steps"):
        said += f", {len(body['steps'])} steps"
    return said


def _assigned(body: Any) -> str:
    return (
        f"to {body['expert']}, attempt {body['attempt']}, score {body['score']}, "
        f"lease until {_time(datetime.fromisoformat(body['lease_until']))}"
    )


def _requeued(body: Any) -> str:
    return f"from {body['expert']}: {body['reason']}"


def _handed(body: Any) -> str:
    said = f"by {body['expert']}"
    if "seconds" in body:
        said += f" after {body['seconds']}s"
    if body.get("answer"):
        said += f", answer {body['answer']!r}"
    if body.get("reason"):
        said += f": {body['reason']}"
    return said


def _reviewed(body: Any) -> str:
    verdict = "passed" if body["passed"] else "failed"
    errors = f" ({', '.join(body['errors'])})" if body.get("errors") else ""
    return (
        f"{body['expert']}'s submission by {body['reviewer']}: "
        f"score {body['score']}, {verdict}{errors}"
    )


_PHRASES: Final[dict[str, Callable[[Any], str]]] = {
    "task.created": _created,
    "task.assigned": _assigned,
    "task.requeued": _requeued,
    "task.declined": _handed,
    "task.submitted": _handed,
    "task.reviewed": _reviewed,
}
