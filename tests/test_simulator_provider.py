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


# -- the provider's limits -------------------------------------------------------------------
def provider(tmp_path, **limits) -> SimulatedLLM:
    return SimulatedLLM(provider_state_dir=str(tmp_path), **limits)


def test_calls_beyond_the_in_flight_limit_get_429_with_retry_after_across_processes(tmp_path):
    import multiprocessing

    from planexe_pipeline.llm.failures import provider_failure
    from planexe_pipeline.llm.rate_limits import rate_limit_of
    from planexe_pipeline.llm.sim_provider import ProviderRefusal

    llm = provider(tmp_path, max_concurrent=2, time_scale=0.05, retry_after_s=3.0)

    def one(outcomes):
        try:
            ask(llm)
            outcomes.put("ok")
        except ProviderRefusal as exc:
            outcomes.put(rate_limit_of(provider_failure(exc)).asked_s)

    ctx = multiprocessing.get_context("fork")
    outcomes = ctx.Queue()
    procs = [ctx.Process(target=one, args=(outcomes,)) for _ in range(5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
    results = [outcomes.get(timeout=5) for _ in range(5)]
    assert results.count("ok") >= 2
    refusals = [r for r in results if r != "ok"]
    assert refusals and all(r == pytest.approx(0.15) for r in refusals), "Retry-After scales with the time"
    counts = llm.provider_counts()
    assert counts["received"] == 5 and counts["refused"] == len(refusals)
    assert counts["peak_in_flight"] >= 3, "the refused arrivals were in flight too, for a moment"


@pytest.mark.parametrize("header", ["retry-after", "retry-after-ms", "x-ratelimit-reset-requests", "x-ratelimit-reset"])
def test_requests_per_minute_refusals_say_when_the_window_frees_in_each_header_form(tmp_path, header):
    from planexe_pipeline.llm.failures import provider_failure
    from planexe_pipeline.llm.rate_limits import rate_limit_of
    from planexe_pipeline.llm.sim_provider import ProviderRefusal

    llm = provider(tmp_path, requests_per_minute=3, minute_s=30.0, reset_header=header)
    for _ in range(3):
        ask(llm)
    with pytest.raises(ProviderRefusal) as refused:
        ask(llm)
    assert 28.0 <= rate_limit_of(provider_failure(refused.value)).asked_s <= 30.5


def test_tokens_per_minute_count_prompt_and_answer(tmp_path):
    from planexe_pipeline.llm.sim_provider import ProviderRefusal

    llm = provider(tmp_path, tokens_per_minute=1500)
    ask(llm)  # a few hundred tokens
    with pytest.raises(ProviderRefusal, match="tokens a minute"):
        for _ in range(10):
            ask(llm)


def test_a_used_up_daily_quota_says_remaining_zero_and_a_reset_hours_away(tmp_path):
    from planexe_pipeline.llm.failures import provider_failure
    from planexe_pipeline.llm.rate_limits import rate_limit_of
    from planexe_pipeline.llm.sim_provider import ProviderRefusal

    llm = provider(tmp_path, requests_per_day=1, reset_header="x-ratelimit-reset-requests")
    ask(llm)
    with pytest.raises(ProviderRefusal) as refused:
        ask(llm)
    assert refused.value.headers["x-ratelimit-remaining-requests"] == "0"
    answer = rate_limit_of(provider_failure(refused.value))
    assert answer.is_quota(time.time(), patience_s=600) and answer.asked_s == pytest.approx(6 * 3600, abs=2)
