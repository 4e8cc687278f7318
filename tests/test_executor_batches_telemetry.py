"""LLMExecutor: batches under a concurrency bound, the telemetry line of every attempt, secrets."""

from __future__ import annotations

import asyncio
import json
import time

import openai
import pytest

from planexe_pipeline.errors import LLMCallFailed
from planexe_pipeline.llm.config import load_llm_config, resolve_models
from planexe_pipeline.llm.context import current_call
from planexe_pipeline.llm.executor import (
    LLMExecutor,
    NamedModel,
    RetryPolicy,
)
from planexe_pipeline.llm.pricing import Pricing
from planexe_pipeline.telemetry.event_log import read_events
from support.fakes import Sleeps
from support.executor_fakes import (Answer, Flaky, ScriptedLLM, TELEMETRY_FIELDS, VALID, llm_lines, make, status_error)


# -- batches -----------------------------------------------------------------------------------
def test_run_batch_async_keeps_order_and_bounds_concurrency(tmp_path):
    in_flight = 0
    peak = 0
    n = 12

    def call(i):
        async def fn(llm):
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                for _ in range(n - i):  # later items finish first
                    await asyncio.sleep(0)
                return f"result-{i}"
            finally:
                in_flight -= 1
        return fn

    executor, _ = make([("m", None)], tmp_path)
    results = asyncio.run(executor.run_batch_async([call(i) for i in range(n)], max_concurrency=3))
    assert results == [f"result-{i}" for i in range(n)]
    assert peak == 3, f"peak in flight {peak}: the gate must allow exactly max_concurrency"
    assert len(llm_lines(tmp_path)) == n


def test_run_batch_async_retries_inside_the_gate(tmp_path):
    in_flight = peak = 0
    failures = {1: [TimeoutError("t")], 3: [status_error(openai.RateLimitError, 429, {"Retry-After": "0.2"})]}

    def call(i):
        async def fn(llm):
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                await asyncio.sleep(0)
                if failures.get(i):
                    raise failures[i].pop()
                return i
            finally:
                in_flight -= 1
        return fn

    executor, sleeps = make([("m", None)], tmp_path, policy=RetryPolicy(jitter_s=0))
    assert asyncio.run(executor.run_batch_async([call(i) for i in range(5)], max_concurrency=2)) == list(range(5))
    assert peak <= 2
    assert sorted(sleeps.waits) == [0.2, 1.0]


def test_run_batch_async_rejects_zero_concurrency(tmp_path):
    executor, _ = make([("m", None)], tmp_path)
    with pytest.raises(ValueError):
        asyncio.run(executor.run_batch_async([], max_concurrency=0))


def test_run_batch_async_of_nothing(tmp_path):
    executor, _ = make([("m", None)], tmp_path)
    assert asyncio.run(executor.run_batch_async([], max_concurrency=4)) == []


# -- telemetry ---------------------------------------------------------------------------------
def test_one_telemetry_line_per_attempt_with_documented_fields(tmp_path):
    llm = ScriptedLLM(TimeoutError("slow provider"), VALID)
    executor, _ = make([("sim", llm)], tmp_path, item=4, stage="DraftDocumentToFindItem")
    before = time.time()
    executor.structured(Answer, "system", "user")
    after = time.time()
    lines = llm_lines(tmp_path)
    assert len(lines) == 2
    raw = [json.loads(text) for p in (tmp_path / "telemetry").glob("*.jsonl") for text in p.read_text().splitlines()]
    assert [set(record) for record in raw] == [TELEMETRY_FIELDS] * 2
    for n, line in enumerate(lines, start=1):
        assert line.kind == "llm_call"
        assert line.task_family == "DraftDocumentToFindItem"
        assert line.task_id == "DraftDocumentToFindItem_run_abc"
        assert line.item == 4
        assert line.model == "sim"
        assert line.attempt == n
        assert before <= line.start <= line.end <= after
        assert line.duration_s == pytest.approx(line.end - line.start, abs=1e-5)
    failed, ok = lines
    assert failed.status == "error" and failed.error == "ProviderTimeout: TimeoutError: slow provider"
    assert failed.input_tokens is None and failed.output_tokens is None and failed.tokens_estimated is False
    assert (failed.cost_usd, failed.cost_source) == (None, None)  # no answer: nothing billed, nothing to price
    assert ok.status == "ok" and ok.error is None
    # ScriptedLLM reports no usage: the counts are estimated from the text (~4 chars a token)
    assert ok.tokens_estimated is True
    assert ok.output_tokens == (len(VALID) + 3) // 4
    assert (ok.cost_usd, ok.cost_source, ok.cached_input_tokens) == (None, "unknown", None)  # an unpriced model
    assert ok.input_tokens > 0
    # every line is one JSON object on its own line
    raw = "".join(p.read_text() for p in (tmp_path / "telemetry").glob("*.jsonl"))
    assert [json.loads(x)["attempt"] for x in raw.splitlines()] == [1, 2]


def test_provider_usage_is_recorded_as_reported(tmp_path):
    class WithUsage(ScriptedLLM):
        def chat(self, messages, **kwargs):
            response = super().chat(messages)
            response.raw = {"usage": {"prompt_tokens": 111, "completion_tokens": 22}}
            return response

    executor, _ = make([("m", WithUsage(VALID))], tmp_path)
    executor.structured(Answer, "s", "u")
    (line,) = llm_lines(tmp_path)
    assert (line.input_tokens, line.output_tokens, line.tokens_estimated) == (111, 22, False)
    assert (line.cached_input_tokens, line.reasoning_tokens) == (None, None)  # the provider did not say


@pytest.mark.parametrize("raw, cached", [
    ({"usage": {"prompt_tokens": 5000, "completion_tokens": 300, "prompt_tokens_details": {"cached_tokens": 4096},
                "completion_tokens_details": {"reasoning_tokens": 120}}}, 4096),  # OpenAI, OpenRouter, vLLM
    ({"usage": {"prompt_tokens": 5000, "completion_tokens": 300, "prompt_cache_hit_tokens": 2048}}, 2048),  # DeepSeek
    ({"usage": {"prompt_tokens": 5000, "completion_tokens": 300}, "timings": {"cache_n": 1500}}, 1500),  # llama.cpp
    ({"prompt_eval_count": 5000, "eval_count": 300, "prompt_eval_cached_count": 900}, 900),  # Ollama
])
def test_cached_tokens_are_read_from_each_providers_counter_and_priced_at_the_cached_rate(tmp_path, raw, cached):
    class WithUsage(ScriptedLLM):
        def chat(self, messages, **kwargs):
            response = super().chat(messages)
            response.raw = raw
            return response

    pricing = Pricing("entry", input_per_million=2.0, output_per_million=8.0, cached_input_per_million=0.5)
    executor = LLMExecutor([NamedModel("m", lambda: WithUsage(VALID), pricing=pricing)], run_dir=tmp_path)
    executor.structured(Answer, "s", "u")
    (line,) = llm_lines(tmp_path)
    assert (line.input_tokens, line.cached_input_tokens, line.output_tokens) == (5000, cached, 300)
    assert line.cost_source == "entry"
    assert line.cost_usd == pytest.approx(((5000 - cached) * 2.0 + cached * 0.5 + 300 * 8.0) / 1e6)


def test_a_cost_the_provider_reports_stands_over_every_price(tmp_path):
    class WithCost(ScriptedLLM):
        def chat(self, messages, **kwargs):
            response = super().chat(messages)
            response.raw = {"usage": {"prompt_tokens": 900, "completion_tokens": 80, "cost": 0.00123}}
            return response

    pricing = Pricing("entry", input_per_million=2.0, output_per_million=8.0)
    executor = LLMExecutor([NamedModel("m", lambda: WithCost(VALID), pricing=pricing)], run_dir=tmp_path)
    executor.structured(Answer, "s", "u")
    (line,) = llm_lines(tmp_path)
    assert (line.cost_usd, line.cost_source) == (0.00123, "provider")


def test_executor_without_run_dir_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    executor = LLMExecutor([NamedModel.of("m", None)], sleep=Sleeps())
    assert executor.run(Flaky(TimeoutError("t"))) == "done"
    assert list(tmp_path.iterdir()) == []


def test_call_context_is_set_during_each_attempt_and_reset_after(tmp_path):
    seen = []

    def fn(llm):
        seen.append(current_call.get())
        if len(seen) == 1:
            raise TimeoutError("t")
        return "ok"

    executor, _ = make([("m", None)], tmp_path, item=5, stage="EstimateDurationsItem")
    executor.run(fn)
    assert [(c.stage, c.item, c.attempt) for c in seen] == [("EstimateDurationsItem", 5, 1), ("EstimateDurationsItem", 5, 2)]
    assert current_call.get().stage == "unknown"


# -- secrets -----------------------------------------------------------------------------------
def test_api_key_from_environment_never_reaches_telemetry_or_errors(tmp_path, monkeypatch):
    secret = "sk-live-executor-test-5d41402abc4b2a76"
    monkeypatch.setenv("PLX_EXEC_TEST_KEY", secret)
    config_file = tmp_path / "llm.json"
    config_file.write_text(json.dumps({"models": {
        "remote": {"class": "OpenAILike", "context_window": 8192,
                   "arguments": {"model": "m", "api_base": "http://127.0.0.1:9/v1", "api_key": "${PLX_EXEC_TEST_KEY}"}},
        "backup": {"class": "OpenAILike", "context_window": 8192,
                   "arguments": {"model": "m", "api_base": "http://127.0.0.1:9/v1", "api_key": "${PLX_EXEC_TEST_KEY}"}},
    }}))
    entries = resolve_models(["remote", "backup"], load_llm_config(config_file))
    models = [NamedModel.from_entry(e) for e in entries]
    assert models[0].llm().api_key == secret  # the provider really gets the key

    errors = [
        status_error(openai.RateLimitError, 429, {"Retry-After": "0"}, message=f"rate limited for key {secret}"),
        status_error(openai.AuthenticationError, 401, message=f"Incorrect API key provided: {secret}"),
        RuntimeError(f"proxy rejected Authorization: Bearer {secret}"),
    ]

    def fn(llm):
        raise errors.pop(0)

    executor, _ = make(models, tmp_path, item=1)
    with pytest.raises(LLMCallFailed) as exc:
        executor.run(fn)
    assert secret not in str(exc.value)
    assert "***" in str(exc.value)
    lines = llm_lines(tmp_path)
    assert len(lines) == 3
    telemetry_text = "".join(p.read_text() for p in (tmp_path / "telemetry").glob("*.jsonl"))
    assert secret not in telemetry_text
    assert all("***" in line.error for line in lines)


def test_attempts_are_numbered_per_call_not_per_executor(tmp_path):
    from planexe_pipeline.llm.executor import LLMExecutor, NamedModel
    from planexe_pipeline.llm.simulator import SimulatedLLM
    from pydantic import BaseModel as _Model

    class Answer(_Model):
        text: str

    executor = LLMExecutor([NamedModel.of("simulated", SimulatedLLM())], run_dir=tmp_path, stage="Twice")
    executor.structured(Answer, "Say something.", "first call")
    executor.structured(Answer, "Say something.", "second call")
    assert [e.attempt for e in read_events(tmp_path, "llm_call")] == [1, 1]
