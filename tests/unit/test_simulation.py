"""The workforce simulator behind ``triage demo``: realistic, valid, and deterministic."""

from __future__ import annotations

import collections
import itertools
import random
from collections.abc import Sequence
from datetime import timedelta

import msgspec
import pytest

from events import (
    ConfigError,
    EventRejected,
    ExpertProfile,
    ExpertRemoved,
    ExpertStatus,
    InputEvent,
    OutputEvent,
    TaskAssigned,
    TaskCompleted,
    TaskCreated,
    TaskDeclined,
    TaskRequeued,
    TaskReviewed,
    TaskStep,
    TaskSubmitted,
    TaskUnroutable,
    decode_input,
    decode_output,
    encode,
    type_name,
)
from router import Engine
from tests.rules import Referee
from triage.sim import Scenario, SimulationSummary, simulate
from triage.sim._workforce import LABELS, hire

# Small, and busier than the case study's first days, so that three days show everything.
SMALL = Scenario(
    experts=30,
    days=3,
    ramp=(1.0,),
    peak_hours_per_expert=60.0,
    decline_rate=0.08,
    abandon_rate=0.03,
    gap_tasks=1,
)


class Recorder:
    """``process`` for tests: the engine, and every input with its outputs kept."""

    def __init__(self) -> None:
        self.engine = Engine()
        self.log: list[tuple[InputEvent, list[OutputEvent]]] = []

    def __call__(self, event: InputEvent) -> Sequence[OutputEvent]:
        outputs = self.engine.apply(event)
        self.log.append((event, outputs))
        return outputs

    @property
    def inputs(self) -> list[InputEvent]:
        return [event for event, _ in self.log]

    @property
    def outputs(self) -> list[OutputEvent]:
        return [out for _, outputs in self.log for out in outputs]

    def stream(self) -> bytes:
        return b"".join(
            encode(event) + b"\n" + b"".join(encode(out) + b"\n" for out in outputs)
            for event, outputs in self.log
        )


Run = tuple[Recorder, SimulationSummary]


def counts(events: Sequence[InputEvent | OutputEvent]) -> dict[str, int]:
    tags = collections.Counter(type_name(e) for e in events)
    return dict(sorted(tags.items()))


def refused(outputs: Sequence[OutputEvent]) -> bool:
    return any(isinstance(out, EventRejected) for out in outputs)


def run(scenario: Scenario = SMALL) -> Run:
    recorder = Recorder()
    return recorder, simulate(scenario, recorder)


@pytest.fixture(scope="module")
def small() -> Run:
    return run()


def test_a_small_project_shows_every_part_of_the_story(small: Run) -> None:
    recorder, summary = small
    outputs = recorder.outputs
    inputs = recorder.inputs
    requeued = collections.Counter(o.reason for o in outputs if isinstance(o, TaskRequeued))
    assert summary.experts_onboarded == 30
    assert any(isinstance(o, TaskAssigned) for o in outputs)
    assert any(isinstance(o, TaskCompleted) for o in outputs)
    assert any(isinstance(e, TaskDeclined) for e in inputs) and requeued["declined"] >= 1
    assert requeued["expired"] >= 1
    assert any(isinstance(o, TaskUnroutable) for o in outputs)
    reviews = [e for e in inputs if isinstance(e, TaskReviewed)]
    assert any(r.reviewer.startswith("ex-") for r in reviews), "peer reviews of written pairs"
    assert any(r.reviewer.startswith("qa-lead-") for r in reviews), "QA spot checks"
    review_tasks = [e for e in inputs if isinstance(e, TaskCreated) and e.parent]
    assert review_tasks and all(t.task == f"{t.parent}-review" for t in review_tasks)
    assert {e.kind for e in inputs if isinstance(e, TaskCreated)} >= {"write", "rate", "review"}


def test_every_input_is_valid_unique_and_in_time_order(small: Run) -> None:
    recorder, _ = small
    inputs = recorder.inputs
    for event in inputs:
        assert decode_input(encode(event)) == event
    for out in recorder.outputs:
        assert decode_output(encode(out)) == out
    assert all(a.at <= b.at for a, b in itertools.pairwise(inputs))
    assert len({e.id for e in inputs}) == len(inputs)
    assert inputs[0].at >= SMALL.start
    assert inputs[-1].at < SMALL.start + timedelta(days=SMALL.days)


def test_the_summary_counts_what_went_through(small: Run) -> None:
    recorder, summary = small
    assert summary.inputs == len(recorder.inputs)
    assert summary.outputs == len(recorder.outputs)
    assert summary.outputs_by_type == counts(recorder.outputs)
    assert summary.inputs_by_type == counts(recorder.inputs)
    assert summary.tasks_created == summary.inputs_by_type["task.created"]
    assert summary.tasks_completed == summary.outputs_by_type["task.completed"]
    assert summary.simulated_minutes == SMALL.days * 24 * 60
    minutes = {e.task: e.minutes for e in recorder.inputs if isinstance(e, TaskCreated)}
    assigned = sum(minutes[o.task] for o in recorder.outputs if isinstance(o, TaskAssigned))
    assert summary.hours_assigned == round(assigned / 60, 1)


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(
    small: Run,
) -> None:
    first, summary = small
    again, repeated = run()
    assert again.stream() == first.stream()
    assert repeated == summary
    other, _ = run(msgspec.structs.replace(SMALL, seed=SMALL.seed + 1))
    assert other.stream() != first.stream()


def test_people_behave_as_the_contract_expects(small: Run) -> None:
    """Work goes only to available experts; only holders submit; reviews are of real submissions."""
    recorder, _ = small
    status: dict[str, str] = {}
    submitted: dict[str, list[str]] = collections.defaultdict(list)
    for event, outputs in recorder.log:
        if isinstance(event, ExpertProfile):
            status.setdefault(event.expert, "offline")
        elif isinstance(event, ExpertStatus):
            status[event.expert] = event.status
        elif isinstance(event, ExpertRemoved):
            status[event.expert] = "removed"
        elif isinstance(event, TaskSubmitted) and not refused(outputs):
            submitted[event.task].append(event.expert)
        elif isinstance(event, TaskReviewed):
            assert event.expert in submitted[event.task]
            assert event.reviewer != event.expert
        for out in outputs:
            if isinstance(out, TaskAssigned):
                assert status[out.expert] == "available"
    rejected = [event for event, outputs in recorder.log if refused(outputs)]
    assert all(isinstance(e, TaskSubmitted) for e in rejected), "only late submissions are refused"
    assert len(rejected) <= 0.05 * sum(isinstance(e, TaskSubmitted) for e in recorder.inputs)


def test_the_referee_accepts_the_engine_on_a_simulated_stream() -> None:
    referee = Referee()
    engine = Engine()

    def process(event: InputEvent) -> Sequence[OutputEvent]:
        outputs = engine.apply(event)
        referee.step(event, outputs)
        return outputs

    simulate(msgspec.structs.replace(SMALL, experts=16, days=2, seed=3), process)
    assert referee.assigned > 0 and referee.completed > 0


def test_progress_counts_simulated_minutes_up_to_the_total() -> None:
    calls: list[tuple[int, int]] = []
    simulate(
        msgspec.structs.replace(SMALL, experts=5, days=1),
        Engine().apply,
        lambda done, total: calls.append((done, total)),
    )
    total = 24 * 60
    assert calls[-1] == (total, total)
    assert all(t == total for _, t in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(done) >= 20


def test_the_defaults_are_the_case_study_and_encode_as_json() -> None:
    scenario = Scenario()
    assert (scenario.experts, scenario.days, scenario.workspace) == (285, 28, "llm-finetune")
    assert scenario.start.weekday() == 0 and scenario.start.utcoffset() == timedelta(0)
    assert 10_000 <= scenario.peak_hours_per_expert * scenario.experts <= 13_000
    assert msgspec.json.decode(msgspec.json.encode(scenario), type=Scenario) == scenario


@pytest.mark.parametrize(
    "change",
    [
        {"experts": 0},
        {"days": 0},
        {"decline_rate": 1.5},
        {"mix": (("write", 1.0), ("translate", 1.0))},
        {"mix": (("review", 1.0),)},
        {"mix": (("write", 0.0),)},
    ],
)
def test_a_scenario_that_cannot_be_played_is_a_config_error(change: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        simulate(msgspec.structs.replace(SMALL, **change), Engine().apply)


def test_a_single_expert_for_a_day_still_runs() -> None:
    recorder, summary = run(msgspec.structs.replace(SMALL, experts=1, days=1))
    assert summary.experts_onboarded == 1
    assert summary.inputs == len(recorder.inputs) > 0


@pytest.mark.slow
def test_the_default_month_matches_the_case_study() -> None:
    engine = Engine()
    weekly: collections.Counter[int] = collections.Counter()
    created: dict[str, TaskCreated] = {}
    start = Scenario().start

    def process(event: InputEvent) -> Sequence[OutputEvent]:
        if isinstance(event, TaskCreated):
            created[event.task] = event
        outputs = engine.apply(event)
        for out in outputs:
            if isinstance(out, TaskAssigned):
                weekly[(out.at - start).days // 7] += created[out.task].minutes
        return outputs

    summary = simulate(Scenario(), process)
    assert summary.experts_onboarded == 285
    assert 0 < summary.experts_removed <= 5
    peak_month = weekly[3] / 60 * 365.25 / 12 / 7
    assert 10_000 <= peak_month <= 13_500, peak_month
    assert weekly[0] < weekly[1] < weekly[2] < weekly[3], "a ramp-up"
    assert summary.tasks_completed > 0.9 * summary.tasks_created
    assert 0 < summary.tasks_unroutable < 0.01 * summary.tasks_created
    assert 0 < summary.late_submissions < 0.01 * summary.inputs_by_type["task.submitted"]
    assert 50_000 <= summary.inputs <= 250_000


def _last_requirements(task: TaskCreated) -> tuple[int, str, str]:
    """Skill, fluency and education after every step of the task."""
    skill, fluency, education = task.skill, task.fluency, task.education
    for step in task.steps or ():
        skill = skill if step.skill is msgspec.UNSET else step.skill
        fluency = fluency if step.fluency is msgspec.UNSET else step.fluency
        education = education if step.education is msgspec.UNSET else step.education
    return skill, fluency, education


def _arrival(task: TaskCreated) -> bool:
    """Is it the client's own work, not a review or revision that follows a submission?"""
    return task.parent is None and not task.task.endswith("-edit")


def test_the_client_uses_v1_1_where_a_real_project_would(small: Run) -> None:
    recorder, summary = small
    created = [e for e in recorder.inputs if isinstance(e, TaskCreated)]
    gated = [t for t in created if t.kind in ("red_team", "audit")]
    assert gated and all(t.quality == 0.8 for t in gated)
    assert all(any(s.quality == 0.75 for s in t.steps or ()) for t in gated)
    assert all(t.quality is None for t in created if t.kind not in ("red_team", "audit"))
    rates = [t for t in created if t.kind == "rate"]
    assert rates and all(
        (t.judgements, t.max_judgements, t.agreement) == (2, 4, 0.6) for t in rates
    )
    # Revisions of written pairs go to their writer first, to anyone after two hours.
    writers = {
        e.task: e.expert
        for e, outputs in recorder.log
        if isinstance(e, TaskSubmitted) and not refused(outputs)
    }
    revisions = [t for t in created if t.task.endswith("-edit")]
    assert len(revisions) == summary.revision_tasks_created > 0
    for revision in revisions:
        assert revision.experts == (writers[revision.task.removesuffix("-edit")],)
        assert revision.steps == (TaskStep(after_minutes=120, experts=()),)
    # Thin pools: a stricter start, widened by steps.
    widened = [t for t in created if any(s.skill is not msgspec.UNSET for s in t.steps or ())]
    assert widened
    outputs = counts(recorder.outputs)
    assert outputs["task.escalated"] > 0 and outputs["task.extended"] > 0
    assert any(isinstance(o, TaskAssigned) and o.record is not None for o in recorder.outputs)
    answers = [e.answer for e in recorder.inputs if isinstance(e, TaskSubmitted) and e.answer]
    assert answers and set(answers) <= set(LABELS)
    assert len(set(answers)) > 1, "raters disagree now and then"


def test_without_v1_1_the_same_world_publishes_v1_tasks() -> None:
    with_v11, _ = run()
    plain, summary = run(msgspec.structs.replace(SMALL, v1_1=False))
    v11_fields = ("quality", "experts", "steps", "max_judgements", "agreement", "answer")
    for event in plain.inputs:
        assert not set(msgspec.json.decode(encode(event))) & set(v11_fields), event
    assert not {"task.escalated", "task.extended"} & set(summary.outputs_by_type)
    assert all(o.record is None for o in plain.outputs if isinstance(o, TaskAssigned))

    def world(recorder: Recorder) -> list[object]:
        """The roster, presence and the client's own arrivals, without event ids."""
        seen: list[object] = []
        for event in recorder.inputs:
            if isinstance(event, ExpertProfile | ExpertStatus | ExpertRemoved):
                seen.append(msgspec.structs.replace(event, id=""))
            elif isinstance(event, TaskCreated) and _arrival(event):
                seen.append((event.task, event.at, event.kind, event.domain, event.language))
                seen.append((event.minutes, event.priority, event.exclude, event.due))
                seen.append(_last_requirements(event))
        return seen

    assert world(plain) == world(with_v11)
    judgements = {
        (e.kind, e.judgements)
        for e in plain.inputs
        if isinstance(e, TaskCreated) and e.kind == "rate"
    }
    assert judgements == {("rate", 3)}


def test_a_raters_answers_follow_their_hidden_quality() -> None:
    (persona,) = hire(random.Random(1), 1, start=0, first_share=1.0, onboarding_days=1)
    rng = random.Random(2)

    def right(quality: float, difficulty: float) -> float:
        rater = msgspec.structs.replace(persona, quality=quality)
        return sum(rater.answer(rng, "A", difficulty) == "A" for _ in range(4000)) / 4000

    assert right(0.95, 0.0) > right(0.95, 0.25) > right(0.6, 0.0) > right(0.6, 0.25)
    assert abs(right(0.9, 0.0) - 0.9) < 0.03
