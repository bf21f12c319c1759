"""Replay and what-if on a simulated history: verification, cuts, determinism, baselines."""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from events import (
    ConfigError,
    ExpertProfile,
    ExpertStatus,
    InputEvent,
    InvalidEvent,
    TaskAssigned,
    TaskCreated,
    TaskSubmitted,
    decode_input,
    decode_output,
    encode,
)
from router import DEFAULT_POLICY, Engine, Policy
from triage.ops import (
    BASELINES,
    Candidate,
    Recorded,
    at_of,
    baseline_engine,
    gini,
    load_history,
    longest_idle,
    parse_moment,
    replay,
    until_moment,
    what_if,
)
from triage.sim import Scenario, simulate

SMALL = Scenario(experts=30, days=4, seed=3, onboarding_days=1, first_cohort_share=0.8)


@functools.cache
def history() -> tuple[Recorded, ...]:
    engine = Engine()
    entries: list[Recorded] = []

    def process(event):  # type: ignore[no-untyped-def]
        outputs = engine.apply(event)
        entries.append((len(entries) + 1, encode(event), [encode(o) for o in outputs]))
        return outputs

    simulate(SMALL, process)
    return tuple(entries)


def test_replay_of_a_consistent_history_is_identical() -> None:
    result = replay(history())
    assert result.identical
    assert result.inputs == len(history())
    assert result.outputs == sum(len(outputs) for _, _, outputs in history())
    assert result.policies == [(1, "learned-2")]


def test_replay_reports_the_first_divergence_precisely() -> None:
    entries = list(history())
    at = next(i for i, (_, _, outputs) in enumerate(entries) if len(outputs) >= 2)
    position, raw, outputs = entries[at]
    changed = outputs[1].replace(b'"cause":', b'"cause":"x",  "was":', 1)
    entries[at] = (position, raw, [outputs[0], changed, *outputs[2:]])
    result = replay(entries)
    assert not result.identical
    found = result.divergence
    assert found is not None
    assert (found.position, found.output, found.field) == (position, 2, "cause")
    assert found.input_id == decode_input(raw).id
    assert found.recorded == changed.decode()
    assert found.replayed == outputs[1].decode()
    assert result.inputs == at  # everything before it was checked


def test_replay_notices_a_missing_or_extra_output() -> None:
    entries = list(history())
    at = next(i for i, (_, _, outputs) in enumerate(entries) if outputs)
    position, raw, outputs = entries[at]
    entries[at] = (position, raw, [])
    found = replay(entries).divergence
    assert found is not None and found.recorded is None and found.replayed == outputs[0].decode()
    assert found.field is None


def test_replay_with_another_policy_diverges() -> None:
    other = Policy(name="idle", quality=0, load=0, idle=1, fit=0)
    assert not replay(history(), [(1, other)]).identical


def test_replay_switches_policy_at_the_recorded_positions() -> None:
    entries = history()
    half = len(entries) // 2
    other = Policy(name="other", lease_factor=5.0)
    engine = Engine()
    recorded: list[Recorded] = []
    for position, raw, _ in entries:
        if position == half:
            engine.policy = other
        outputs = engine.apply(decode_input(raw))
        recorded.append((position, raw, [encode(o) for o in outputs]))
    result = replay(recorded, [(1, DEFAULT_POLICY), (half, other)])
    assert result.identical
    assert result.policies == [(1, "learned-2"), (half, "other")]


def test_replay_sink_sees_every_replayed_input() -> None:
    seen: list[int] = []
    replay(history(), sink=lambda position, event, outputs: seen.append(position))
    assert seen == [position for position, _, _ in history()]


def test_a_moment_needs_an_offset() -> None:
    assert parse_moment("2026-11-03T10:00:00+01:00") == datetime(2026, 11, 3, 9, tzinfo=UTC)
    assert parse_moment("2026-11-03T09:00:00Z").tzinfo is not None
    for bare in ("2026-11-03T10:00:00", "2026-11-03", "yesterday"):
        with pytest.raises(ConfigError):
            parse_moment(bare)


def test_until_moment_is_the_prefix_before_the_first_later_input() -> None:
    entries = history()
    moment = at_of(entries[0][1]) + timedelta(days=2)
    cut = list(until_moment(entries, moment))
    assert 0 < len(cut) < len(entries)
    assert all(at_of(raw) <= moment for _, raw, _ in cut)
    assert at_of(entries[len(cut)][1]) > moment
    assert list(until_moment(entries, None)) == list(entries)


def test_gini() -> None:
    assert gini([2.0, 2.0, 2.0]) == 0
    assert gini([0.0, 0.0, 3.0]) == pytest.approx(2 / 3)
    assert gini([]) is None
    assert gini([0.0, 0.0]) is None


def test_longest_idle_is_the_idle_weight_alone_with_a_long_horizon() -> None:
    policy = longest_idle(DEFAULT_POLICY)
    assert (policy.quality, policy.load, policy.idle, policy.fit) == (0, 0, 1, 0)
    assert policy.idle_horizon_hours >= 8_760
    assert policy.lease_factor == DEFAULT_POLICY.lease_factor


def _candidates() -> list[Candidate]:
    found = [Candidate("recorded policy", "learned", Engine, [(1, DEFAULT_POLICY)])]
    for name in BASELINES:
        found.append(
            Candidate(name, name, functools.partial(baseline_engine, name, DEFAULT_POLICY, 5))
        )
    return found


def test_what_if_is_deterministic_for_a_seed() -> None:
    first = msgspec.json.encode(what_if(load_history(history()), _candidates(), seed=11))
    again = msgspec.json.encode(what_if(load_history(history()), _candidates(), seed=11))
    other = msgspec.json.encode(what_if(load_history(history()), _candidates(), seed=12))
    assert first == again
    assert first != other


def test_what_if_columns_and_calibration() -> None:
    result = what_if(load_history(history()), _candidates(), seed=1)
    (columns,) = result.workspaces.values()
    assert [c.label for c in columns] == ["recorded", "recorded policy", *BASELINES]
    real, synth = columns[0], columns[1]
    assert real.tasks == synth.tasks  # arrivals are replayed as recorded
    assert synth.submissions > 0 and synth.reviews > 0
    (calibration,) = result.calibration.values()
    assert [row.figure for row in calibration] == [
        "wait_p50_seconds",
        "wait_p90_seconds",
        "aht_seconds",
        "pass_rate",
    ]
    assert result.assumptions


def _team_and_tasks(tasks: int) -> list[InputEvent]:
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    events: list[InputEvent] = []
    for name in ("cy", "ab", "bo"):
        events.append(
            ExpertProfile(
                f"p-{name}",
                start,
                "w",
                expert=name,
                domains={"general": 3},
                languages={"en": "native"},
                education="bachelor",
                weekly_hours=40,
                concurrency=50,
            )
        )
        events.append(ExpertStatus(f"s-{name}", start, "w", expert=name, status="available"))
    for n in range(tasks):
        at = start + timedelta(minutes=n + 1)
        events.append(
            TaskCreated(
                f"t-{n}",
                at,
                "w",
                task=f"t-{n}",
                kind="rate",
                domain="general",
                language="en",
                minutes=10,
            )
        )
    return events


def _assignees(engine: Engine, events: list[InputEvent]) -> list[str]:
    return [o.expert for e in events for o in engine.apply(e) if isinstance(o, TaskAssigned)]


def test_round_robin_takes_turns_in_id_order() -> None:
    engine = baseline_engine("round-robin", DEFAULT_POLICY, 5)
    assert _assignees(engine, _team_and_tasks(7)) == ["ab", "bo", "cy", "ab", "bo", "cy", "ab"]


def test_seeded_random_is_a_seeded_draw_among_the_eligible() -> None:
    events = _team_and_tasks(60)
    first = _assignees(baseline_engine("random", DEFAULT_POLICY, 5), events)
    again = _assignees(baseline_engine("random", DEFAULT_POLICY, 5), events)
    other = _assignees(baseline_engine("random", DEFAULT_POLICY, 6), events)
    assert first == again != other
    assert {name: first.count(name) for name in ("ab", "bo", "cy")} == {
        name: first.count(name) for name in set(first)
    }
    assert min(first.count(name) for name in ("ab", "bo", "cy")) >= 10


def test_every_baseline_routes_the_history() -> None:
    events = [decode_input(raw) for _, raw, _ in history()]
    for name in BASELINES:
        assert _assignees(baseline_engine(name, DEFAULT_POLICY, 5), events), name
    with pytest.raises(ValueError, match="unknown baseline"):
        baseline_engine("nope", DEFAULT_POLICY, 5)


def test_records_shrink_an_expert_towards_the_workspace() -> None:
    loaded = load_history(history())
    records = loaded.records
    ws = "llm-finetune"
    workspace_decline, _ = records.rates(ws, "nobody-recorded")
    assert 0 < workspace_decline < 0.5  # a newcomer declines like the workspace
    seen = {
        (e.workspace, o.expert)
        for _, raw, outputs in history()
        for e in [decode_input(raw)]
        for o in map(decode_output, outputs)
        if isinstance(o, TaskAssigned)
    }
    rates = {records.rates(w, expert) for w, expert in seen}
    assert len(rates) > 1  # and the others by their own record
    assert records.expected(ws, "nobody-recorded", "no-such-domain") is None


def test_records_keep_the_answers_of_adaptive_overlap_in_order() -> None:
    records = load_history(history()).records
    answers: dict[str, list[str | None]] = {}
    for _, raw, outputs in history():
        event = decode_input(raw)
        if isinstance(event, TaskSubmitted) and not any(b'"event.rejected"' in o for o in outputs):
            task = records.tasks[(event.workspace, event.task)]
            if task.agreement is not None:
                answers.setdefault(event.task, []).append(event.answer)
    task, recorded = max(answers.items(), key=lambda item: (len(item[1]), item[0]))
    rng = random.Random(1)
    ws = "llm-finetune"
    assert [records.answer(rng, ws, task, n) for n in range(len(recorded))] == recorded
    assert records.answer(rng, ws, task, len(recorded)) in recorded  # past them: one drawn
    plain = next(t for (_, t), created in records.tasks.items() if created.agreement is None)
    assert records.answer(rng, ws, plain, 0) is None


def test_what_if_of_the_recorded_policy_asks_for_as_many_judgements() -> None:
    """Submissions carry the recorded answers, so overlap grows as it did, not to the maximum."""
    result = what_if(load_history(history()), _candidates()[:1], seed=1)
    (columns,) = result.workspaces.values()
    real, synth = columns
    assert abs(synth.submissions - real.submissions) <= 0.1 * real.submissions
    assert abs(synth.assignments - real.assignments) <= 0.1 * real.assignments


def replayed(
    entries: list[Recorded], epochs: list[tuple[int, Policy]], chunk: int
) -> tuple[object, list[int], list[int]]:
    """What a replay in chunks of ``chunk`` gives, sinks and says: its result or its refusal."""
    import triage.ops._replay as module

    seen: list[int] = []
    progressed: list[int] = []
    saved, module._CHUNK = module._CHUNK, chunk
    try:
        result: object = replay(
            entries,
            epochs,
            sink=lambda position, event, outputs: seen.append(position),
            progress=progressed.append,
            every=5,
        )
    except InvalidEvent as exc:
        result = exc.reason
    finally:
        module._CHUNK = saved
    return result, seen, progressed


def varied_histories() -> dict[str, tuple[list[Recorded], list[tuple[int, Policy]]]]:
    entries = list(history())
    late = next(i for i in range(len(entries) - 1, 0, -1) if entries[i][2])
    dropped = [*entries[:late], (entries[late][0], entries[late][1], []), *entries[late + 1 :]]
    early = next(i for i, (_, _, outputs) in enumerate(entries) if outputs)
    broken = list(dropped)
    broken[early] = (entries[early][0], entries[early][1], [])
    broken[early + 3] = (entries[early + 3][0], b'{"type":"clock.tick"}', [])
    undecodable = list(entries)
    undecodable[400] = (entries[400][0], b"not json", entries[400][2])
    other = Policy(name="other", lease_factor=5.0)
    return {
        "identical": (entries, []),
        "diverges late": (dropped, []),
        "diverges before an undecodable input": (broken, []),
        "an undecodable input": (undecodable, []),
        "another policy from the middle of a chunk": (entries, [(1, DEFAULT_POLICY), (333, other)]),
        "nothing": ([], []),
    }


@pytest.mark.parametrize("chunk", [2, 7, 1_000])
@pytest.mark.parametrize("case", sorted(varied_histories()))
def test_replay_in_chunks_is_replay_input_by_input(chunk: int, case: str) -> None:
    entries, epochs = varied_histories()[case]
    assert replayed(entries, epochs, chunk) == replayed(entries, epochs, 1)


@pytest.mark.parametrize("chunk", [1, 3, 1_000])
def test_until_moment_in_chunks_stops_where_it_did(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("triage.ops._moment._CHUNK", chunk)
    entries = list(history())
    for days in (0, 1, 2, 30):
        moment = at_of(entries[0][1]) + timedelta(days=days)
        expected = []
        for entry in entries:
            if at_of(entry[1]) > moment:
                break
            expected.append(entry)
        assert list(until_moment(entries, moment)) == expected
    broken = [*entries[:5], (6, b"not json", []), *entries[6:]]
    cut = until_moment(broken, moment)
    assert [next(cut) for _ in range(5)] == entries[:5]  # the ones before it, then the refusal
    with pytest.raises(msgspec.DecodeError):
        next(cut)
