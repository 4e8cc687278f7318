"""The simulator as a provider that pushes back: token-based latency, in-flight and per-minute
limits answered with 429 and reset headers, a daily quota."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel, Field

from planexe_pipeline.llm.context import CallContext, current_call
from planexe_pipeline.llm.simulator import SimulatedLLM
from planexe_pipeline.llm.structured import estimate_tokens, structured_chat


class Team(BaseModel):
    members: list[str] = Field(json_schema_extra={"x-width": "team_members"})


class Summary(BaseModel):
    text: str


def ask(llm: SimulatedLLM, model: type[BaseModel] = Team, stage: str = "IdentifyPurpose", item=None):
    token = current_call.set(CallContext(stage, item, 1))
    try:
        return structured_chat(llm, model, "You are a planner.", "Plan a bakery in Lyon with a small team.")
    finally:
        current_call.reset(token)


# -- token-based latency -----------------------------------------------------------------------
def test_token_latency_is_first_token_time_plus_output_over_speed():
    llm = SimulatedLLM(latency_model="tokens", time_to_first_token_s=2.0, output_tokens_per_s=50.0, time_scale=0.5)
    assert llm.token_latency(0) == pytest.approx(1.0)
    assert llm.token_latency(100) == pytest.approx((2.0 + 2.0) * 0.5)


def test_token_latency_grows_with_the_answer_and_the_default_model_is_unchanged():
    wide = {"team_members": 40}
    token = current_call.set(CallContext("IdentifyPurpose", None, 1))
    try:
        from planexe_pipeline.llm.structured import build_messages

        messages = build_messages(Team, "You are a planner.", "Plan a bakery in Lyon.")
        short = SimulatedLLM(latency_model="tokens", time_scale=1.0, widths={"team_members": 1})
        long = SimulatedLLM(latency_model="tokens", time_scale=1.0, widths=wide)
        short_s, _, short_text = short._serve(messages)
        long_s, _, long_text = long._serve(messages)
        assert short_s == pytest.approx(short.token_latency(estimate_tokens(short_text)))
        assert long_s == pytest.approx(long.token_latency(estimate_tokens(long_text)))
        assert long_s > short_s
        ranged = SimulatedLLM(time_scale=1.0, widths=wide)
        assert ranged._serve(messages)[0] == ranged._plan_call()[0], "the stage-range model ignores the answer's size"
    finally:
        current_call.reset(token)


def test_token_latency_is_really_waited():
    llm = SimulatedLLM(latency_model="tokens", time_to_first_token_s=5.0, output_tokens_per_s=1e9, time_scale=0.01)
    start = time.perf_counter()
    ask(llm)
    assert time.perf_counter() - start >= 0.05
