"""The offline simulator: schema-valid, deterministic answers; fault knobs; the latency model."""

from __future__ import annotations

import json
from enum import Enum
from typing import Literal, Optional

import pytest
from pydantic import BaseModel, Field

from planexe_pipeline.llm.context import CallContext, current_call
from planexe_pipeline.llm.retry_policy import retry_after_of
from planexe_pipeline.llm.failures import ProviderRateLimited, ProviderTimeout, is_transient, provider_failure
from planexe_pipeline.latency import DEFAULT_RANGE, GOVERNANCE_RANGE, STAGE_RANGES, expected_seconds, stage_range
from planexe_pipeline.llm.simulator import STANDARD_WIDTHS, SimulatedLLM, SimulatedRateLimitError, SimulatedTimeoutError
from planexe_pipeline.llm.structured import SchemaValidationError, build_messages, structured_chat

PROMPT = "Build a 5 MW solar farm near Esbjerg in Denmark, with grid connection and local permits."


# -- schemas -----------------------------------------------------------------------------------
class Severity(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Risk(BaseModel):
    title: str
    severity: Severity
    likelihood: Literal["rare", "possible", "likely"]
    probability: float = Field(ge=0, le=1)
    share: float = Field(gt=0, lt=1)
    mitigation: Optional[str] = None
    owner_count: Optional[int] = Field(default=None, ge=1, le=3)


class Phase(BaseModel):
    name: str
    duration_days: int = Field(ge=100, le=120)
    budget_eur: float = Field(le=100)
    risks: list[Risk] = Field(min_length=2)


class Plan(BaseModel):
    """Nested models ($defs refs), lists of models, enums, literals, optionals and bounds."""

    summary: str
    phases: list[Phase]
    team: list[str] = Field(json_schema_extra={"x-width": "team_members"})
    flags: dict[str, bool] = Field(default_factory=dict)
    confidence_percent: int = Field(ge=0, le=100)
    penalty: float = Field(lt=-5)
    approved: bool


class Member(BaseModel):
    role_name: str
    people_needed: int = Field(ge=1)


class Team(BaseModel):
    members: list[Member] = Field(json_schema_extra={"x-width": "team_members"})


class Estimate(BaseModel):
    task_id: str
    days: int = Field(gt=0, lt=60)
    depends_on_ids: list[str]


class Estimates(BaseModel):
    estimates: list[Estimate]


def ask(llm: SimulatedLLM, model: type[BaseModel], prompt: str = PROMPT):
    return structured_chat(llm, model, "You are a planner.", prompt)


# -- validity ----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_answers_are_valid_for_a_rich_schema(seed):
    assert "$defs" in Plan.model_json_schema()
    result = ask(SimulatedLLM(seed=seed), Plan)
    plan = result.value
    assert isinstance(plan, Plan)
    assert plan.phases and all(len(p.risks) >= 2 for p in plan.phases)
    assert len(plan.team) == STANDARD_WIDTHS["team_members"]
    for phase in plan.phases:
        assert 100 <= phase.duration_days <= 120
        for risk in phase.risks:
            assert 0 <= risk.probability <= 1 and 0 < risk.share < 1
    # It reports its usage as a provider does, counting four characters a token (outside a run,
    # no prompt cache serves any of it).
    assert result.usage.estimated is False and result.usage.cached_input_tokens == 0
    assert result.usage.output_tokens == (len(result.raw_text) + 3) // 4


@pytest.mark.parametrize("model", [Team, Estimates, Risk, Phase])
def test_answers_are_valid_for_several_schemas(model):
    for seed in range(5):
        assert isinstance(ask(SimulatedLLM(seed=seed), model).value, model)


def test_x_width_follows_the_width_settings():
    assert len(ask(SimulatedLLM(), Team).value.members) == STANDARD_WIDTHS["team_members"]
    narrow = SimulatedLLM(widths={**STANDARD_WIDTHS, "team_members": 2})
    assert len(ask(narrow, Team).value.members) == 2


def test_plain_prompt_without_schema_gets_text():
    llm = SimulatedLLM()
    text = llm.complete("Say something about the solar farm").text
    assert isinstance(text, str) and text


def test_answer_keywords_come_from_the_prompt():
    summary = ask(SimulatedLLM(), Plan).value.summary.lower()
    assert any(word in summary for word in ("solar", "esbjerg", "denmark", "grid", "permits", "farm", "connection"))


# -- determinism -------------------------------------------------------------------------------
def test_same_seed_and_prompt_give_the_same_answer():
    a = ask(SimulatedLLM(seed=11), Plan).raw_text
    b = ask(SimulatedLLM(seed=11), Plan).raw_text
    assert a == b


def test_another_seed_or_prompt_gives_another_answer():
    base = ask(SimulatedLLM(seed=11), Plan).raw_text
    assert ask(SimulatedLLM(seed=12), Plan).raw_text != base
    assert ask(SimulatedLLM(seed=11), Plan, PROMPT + " Add storage.").raw_text != base


def test_answer_does_not_depend_on_stage_item_or_attempt():
    """A retried call gives the answer a clean call would."""
    llm = SimulatedLLM(seed=5)
    messages = build_messages(Team, "sys", PROMPT)
    answers = set()
    for ctx in (CallContext("A", None, 1), CallContext("B", 3, 1), CallContext("A", None, 4)):
        token = current_call.set(ctx)
        try:
            answers.add(llm.chat(messages).message.content)
        finally:
            current_call.reset(token)
    assert len(answers) == 1


# -- ids ---------------------------------------------------------------------------------------
def test_ids_in_answers_are_taken_from_the_prompt():
    prompt = "Estimate durations for these tasks:\nT-1.1 survey the site\nT-1.2 order panels\nT-2.4 connect the grid"
    estimates = ask(SimulatedLLM(seed=3), Estimates, prompt).value.estimates
    assert [e.task_id for e in estimates] == ["T-1.1", "T-1.2", "T-2.4"]
    for position, estimate in enumerate(estimates):
        earlier = ["T-1.1", "T-1.2", "T-2.4"][:position]
        assert set(estimate.depends_on_ids) <= set(earlier), "dependencies point backwards only"


# -- faults ------------------------------------------------------------------------------------
def call_at(llm: SimulatedLLM, stage: str, item: int | None = None, attempt: int = 1, model=Team):
    token = current_call.set(CallContext(stage, item, attempt))
    try:
        return ask(llm, model)
    finally:
        current_call.reset(token)


def test_rate_limit_fault_carries_scaled_retry_after():
    llm = SimulatedLLM(rate_limit_error_rate=1.0, retry_after_s=2.0, time_scale=0.001)
    with pytest.raises(SimulatedRateLimitError) as exc:
        call_at(llm, "IdentifyPurpose")
    assert exc.value.retry_after == pytest.approx(0.002)
    failure = provider_failure(exc.value)
    assert isinstance(failure, ProviderRateLimited) and is_transient(failure)
    assert retry_after_of(failure) == pytest.approx(0.002)


def test_malformed_json_fault_fails_parsing():
    llm = SimulatedLLM(malformed_json_rate=1.0)
    with pytest.raises(SchemaValidationError) as exc:
        call_at(llm, "IdentifyPurpose")
    with pytest.raises(json.JSONDecodeError):
        json.loads(exc.value.raw_text)
    clean = ask(SimulatedLLM(), Team).raw_text
    assert clean.startswith(exc.value.raw_text), "a cut-off version of the clean answer"


def test_timeout_fault():
    llm = SimulatedLLM(timeout_rate=1.0, time_scale=0.0)
    with pytest.raises(SimulatedTimeoutError) as exc:
        call_at(llm, "IdentifyPurpose")
    failure = provider_failure(exc.value)
    assert isinstance(failure, ProviderTimeout) and is_transient(failure)


@pytest.mark.parametrize("knob, expected", [
    ("rate_limit_error_rate", "rate_limit"), ("malformed_json_rate", "malformed"), ("timeout_rate", "timeout"),
])
def test_fault_knobs_at_one_always_and_at_zero_never(knob, expected):
    always = SimulatedLLM(**{knob: 1.0})
    never = SimulatedLLM(**{knob: 0.0})
    for stage in ("IdentifyPurpose", "ExpertCriticismItem", "WBSLevel3Item"):
        for item in (None, 0, 1, 7):
            for attempt in (1, 2, 3):
                token = current_call.set(CallContext(stage, item, attempt))
                try:
                    assert always._plan_call()[1] == expected
                    assert never._plan_call()[1] is None
                finally:
                    current_call.reset(token)


def test_no_faults_by_default_over_many_calls():
    llm = SimulatedLLM(seed=1)
    for item in range(40):
        assert isinstance(call_at(llm, "DraftDocumentToCreateItem", item).value, Team)


def test_faults_are_deterministic_and_a_retry_can_succeed():
    llm = SimulatedLLM(seed=9, rate_limit_error_rate=0.5)

    def fault(item, attempt):
        token = current_call.set(CallContext("ReviewPlanItem", item, attempt))
        try:
            return llm._plan_call()[1]
        finally:
            current_call.reset(token)

    first = [fault(i, 1) for i in range(60)]
    assert first == [fault(i, 1) for i in range(60)]
    assert 10 < first.count("rate_limit") < 50
    assert any(f == "rate_limit" and fault(i, 2) is None for i, f in enumerate(first))


# -- latency -----------------------------------------------------------------------------------
MEASURED_RANGES = {  # the measured ranges of hosted models, by the stage's declared name
    "draft_documents_to_find": (10, 30), "draft_documents_to_create": (10, 30), "expert_criticism": (15, 45),
    "find_experts": (20, 40), "estimate_durations": (10, 25), "wbs_level3": (8, 20),
    "governance_phase2_bodies": (20, 30), "identify_purpose": (10, 30), "review_plan": (10, 30),
}


def test_latency_ranges_match_the_design():
    for stage, expected in MEASURED_RANGES.items():
        assert stage_range(stage) == expected, stage
    assert GOVERNANCE_RANGE == (20, 30) and DEFAULT_RANGE == (10, 30)
    assert set(STAGE_RANGES) <= set(MEASURED_RANGES)
    assert expected_seconds("expert_criticism") == 30


def test_latency_is_drawn_by_the_declared_name_so_a_renamed_task_keeps_it():
    def latency(family, name):
        token = current_call.set(CallContext(family, 2, 1, name=name))
        try:
            return SimulatedLLM(seed=1, time_scale=1.0)._plan_call()[0]
        finally:
            current_call.reset(token)

    assert latency("ExpertCriticismItem", "expert_criticism") == latency("CritiqueByExpert", "expert_criticism")
    assert latency("ExpertCriticismItem", "expert_criticism") != latency("ExpertCriticismItem", "find_experts")


@pytest.mark.parametrize("time_scale", [1.0, 0.02, 0.0])
def test_planned_latency_is_within_the_range_times_time_scale(time_scale):
    llm = SimulatedLLM(seed=4, time_scale=time_scale)
    for stage, (low, high) in MEASURED_RANGES.items():
        draws = []
        for item in (None, *range(15)):
            token = current_call.set(CallContext("AnyTask", item, 1, name=stage))
            try:
                latency, fault = llm._plan_call()
            finally:
                current_call.reset(token)
            assert fault is None
            assert low * time_scale <= latency <= high * time_scale, (stage, item, latency)
            draws.append(latency)
        if time_scale:
            assert len(set(draws)) > 10, "latency varies with the item"


def test_latency_is_deterministic_in_seed_stage_and_item():
    def latency(seed, stage, item, attempt=1):
        token = current_call.set(CallContext(stage, item, attempt))
        try:
            return SimulatedLLM(seed=seed, time_scale=1.0)._plan_call()[0]
        finally:
            current_call.reset(token)

    assert latency(1, "ExpertCriticismItem", 2) == latency(1, "ExpertCriticismItem", 2)
    assert latency(1, "ExpertCriticismItem", 2) != latency(2, "ExpertCriticismItem", 2)
    assert latency(1, "ExpertCriticismItem", 2) != latency(1, "ExpertCriticismItem", 3)


def test_fault_latencies_scale_too():
    token = current_call.set(CallContext("IdentifyPurpose", None, 1))
    try:
        latency, fault = SimulatedLLM(rate_limit_error_rate=1.0, time_scale=0.1)._plan_call()
        assert fault == "rate_limit" and latency <= 0.5 * 0.1
        latency, fault = SimulatedLLM(timeout_rate=1.0, timeout_s=60, time_scale=0.1)._plan_call()
        assert fault == "timeout" and latency == pytest.approx(6.0)
    finally:
        current_call.reset(token)


def test_real_wait_with_a_tiny_time_scale():
    import time

    llm = SimulatedLLM(seed=2, time_scale=0.002)  # 10-30 s -> 20-60 ms
    token = current_call.set(CallContext("IdentifyPurpose", None, 1))
    try:
        planned, _ = llm._plan_call()
        start = time.perf_counter()
        ask(llm, Risk)
        elapsed = time.perf_counter() - start
    finally:
        current_call.reset(token)
    assert 0.02 <= planned <= 0.06
    assert planned <= elapsed < planned + 0.5
