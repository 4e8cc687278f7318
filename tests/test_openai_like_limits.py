"""The real OpenAILike client meets a provider's limits (our loopback server) through the
executor and the shared limiter: 429s with each reset form are waited out, the in-flight
limit adapts, a stated per-minute budget is never exceeded, long answers take longer."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import BaseModel

from planexe_pipeline.llm.config import load_llm_config, resolve_models
from planexe_pipeline.llm.executor import LLMExecutor, NamedModel, RetryPolicy
from planexe_pipeline.llm.limiter import ProviderLimits, SharedLimiter
from planexe_pipeline.llm.sim_provider import ProviderBudget
from planexe_pipeline.telemetry.event_log import read_events

pytest.importorskip("llama_index.llms.openai_like")


class Answer(BaseModel):
    title: str
    steps: list[str]


def config(tmp_path: Path, server, **entry) -> Path:
    path = tmp_path / "llm_config.json"
    path.write_text(json.dumps({"models": {"fake": {"class": "OpenAILike", **entry, "arguments": {
        "model": "fake-model", "api_base": server.url + "/v1", "api_key": "not-needed", "timeout": 10,
        "context_window": 32768}}}}))
    return path


def call_many(tmp_path: Path, config_path: Path, n: int, *, cap: int, limits: ProviderLimits | None = None) -> list:
    (entry,) = resolve_models(["fake"], load_llm_config(config_path))
    limits = limits or entry.limits

    def one(i: int):
        limiter = SharedLimiter(tmp_path, endpoint=entry.endpoint(), model="fake", cap=cap, limits=limits)
        executor = LLMExecutor([NamedModel.from_entry(entry, limiter)], run_dir=tmp_path, stage="ReviewPlan",
                               item=i, policy=RetryPolicy(patience_s=30, jitter_s=0.05))
        return executor.structured(Answer, "You answer.", f"Question {i} about the bakery in Lyon.")

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.parametrize("reset_header", ["retry-after", "x-ratelimit-reset-requests", "x-ratelimit-reset"])
def test_an_in_flight_limit_is_learned_and_every_call_completes(tmp_path, fake_openai_server, reset_header):
    fake_openai_server.latency_s = 0.15
    fake_openai_server.budget = ProviderBudget(max_concurrent=2, busy_retry_after_s=0.2, reset_header=reset_header)
    results = call_many(tmp_path, config(tmp_path, fake_openai_server), 8, cap=8)
    assert len(results) == 8 and all(isinstance(r, Answer) for r in results)
    seen = fake_openai_server.provider_state
    assert seen["refused"] >= 1, "the provider pushed back, so the test measures something"
    limits = [e.limit for e in read_events(tmp_path, "provider_limit")]
    assert limits[0] == 8 and min(limits) <= 3, "the limit came down to what the provider admits"
    assert read_events(tmp_path, "provider_wait"), "the waits are in the telemetry"


def test_a_stated_requests_per_minute_budget_is_paced_not_refused(tmp_path, fake_openai_server):
    fake_openai_server.budget = ProviderBudget(requests_per_minute=5, minute_s=1.0)
    path = config(tmp_path, fake_openai_server, requests_per_minute=5)
    call_many(tmp_path, path, 7, cap=7, limits=ProviderLimits(requests_per_minute=5, minute_s=1.0))
    assert fake_openai_server.provider_state.get("refused", 0) == 0
    assert fake_openai_server.provider_state["received"] == 7


def test_long_answers_take_longer(fake_openai_server, tmp_path):
    fake_openai_server.output_tokens_per_s = 2000.0
    path = config(tmp_path, fake_openai_server)
    (entry,) = resolve_models(["fake"], load_llm_config(path))
    executor = LLMExecutor([NamedModel.from_entry(entry)], run_dir=tmp_path, stage="ReviewPlan")

    class Long(BaseModel):
        steps: list[Answer]

    for model in (Answer, Long):
        executor.structured(model, "You answer.", "Plan a bakery in Lyon.")
    short_delay, long_delay = fake_openai_server.answer_delays
    assert long_delay > short_delay > 0
