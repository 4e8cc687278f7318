"""The OpenAILike provider, built from llm_config.json, through LLMExecutor against our fake server.

Real HTTP on 127.0.0.1 (tests/support/fake_openai_server.py); retry waits go to a fake sleep.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from planexe_pipeline.errors import LLMCallFailed
from planexe_pipeline.llm.config import load_llm_config, resolve_models
from planexe_pipeline.llm.executor import LLMExecutor, NamedModel, RetryPolicy
from planexe_pipeline.telemetry.event_log import read_events
from support.fake_openai_server import COMPLETION_TOKENS, PROMPT_TOKENS
from support.fakes import Sleeps

pytest.importorskip("llama_index.llms.openai_like")

FAKE_KEY = "sk-fake-server-key-8c1f0e2d9a7b4c3e"
TIMEOUT_S = 1.0


class Lever(BaseModel):
    id: str
    name: str
    options: list[str] = Field(min_length=1)
    impact: int = Field(ge=1, le=5)


class Levers(BaseModel):
    levers: list[Lever]


PROMPT = "Strategic levers for a solar farm in Denmark: L-1 land lease, L-2 grid connection, L-3 financing."



@pytest.fixture
def config_file(tmp_path, monkeypatch, fake_openai_server) -> Path:
    monkeypatch.setenv("FAKE_KEY", FAKE_KEY)
    path = tmp_path / "llm_config.json"
    path.write_text(json.dumps({"models": {
        "fake": {"class": "OpenAILike", "arguments": {
            "model": "fake-model", "api_base": fake_openai_server.url + "/v1", "api_key": "${FAKE_KEY}",
            "context_window": 32768, "timeout": TIMEOUT_S}},
        "sim": {"class": "Simulated", "arguments": {"seed": 1, "time_scale": 0.0}},
    }}))
    return path


def executor_for(names: list[str], config_file: Path, run_dir: Path, **kwargs) -> tuple[LLMExecutor, Sleeps]:
    sleeps = Sleeps()
    entries = resolve_models(names, load_llm_config(config_file))
    policy = kwargs.pop("policy", RetryPolicy(initial_wait_s=1.0, max_wait_s=30.0, jitter_s=0.0))
    executor = LLMExecutor([NamedModel.from_entry(e) for e in entries], run_dir=run_dir, stage="PotentialLevers",
                           task_id="PotentialLevers_abc", policy=policy, sleep=sleeps, async_sleep=sleeps.a,
                           **kwargs)
    return executor, sleeps


def telemetry_text(run_dir: Path) -> str:
    return "".join(p.read_text() for p in (run_dir / "telemetry").glob("*.jsonl"))


def test_valid_answer_and_provider_token_counts(tmp_path, config_file, fake_openai_server):
    executor, sleeps = executor_for(["fake"], config_file, tmp_path)
    result = executor.structured(Levers, "You list strategic levers.", PROMPT)
    assert isinstance(result, Levers)
    assert [lever.id for lever in result.levers] == ["L-1", "L-2", "L-3"]
    assert sleeps.waits == []

    (request,) = fake_openai_server.chat_requests()
    assert request["body"]["model"] == "fake-model"
    assert request["headers"]["Authorization"] == f"Bearer {FAKE_KEY}"  # the key was really sent
    # The default mode of an OpenAILike entry: the schema goes to the provider, strict.
    response_format = request["body"]["response_format"]
    assert response_format["type"] == "json_schema" and response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["name"] == "Levers"
    assert request["body"]["max_tokens"] >= 1024, "an output budget is always sent"

    (line,) = read_events(tmp_path, kind="llm_call")
    assert line.status == "ok" and line.model == "fake"
    assert (line.input_tokens, line.output_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    assert line.tokens_estimated is False
    assert FAKE_KEY not in telemetry_text(tmp_path)


def test_async_path(tmp_path, config_file, fake_openai_server):
    executor, _ = executor_for(["fake"], config_file, tmp_path)
    result = asyncio.run(executor.astructured(Levers, "You list strategic levers.", PROMPT))
    assert len(result.levers) == 3
    (line,) = read_events(tmp_path, kind="llm_call")
    assert (line.input_tokens, line.output_tokens, line.tokens_estimated) == (
        PROMPT_TOKENS, COMPLETION_TOKENS, False)


def test_429_waits_what_retry_after_asks_then_succeeds(tmp_path, config_file, fake_openai_server):
    fake_openai_server.fail_next(1, "429")
    executor, sleeps = executor_for(["fake"], config_file, tmp_path)
    assert len(executor.structured(Levers, "s", PROMPT).levers) == 3
    assert sleeps.waits == [0.05]
    assert fake_openai_server.count("/v1/chat/completions") == 2, "the client must not retry on its own"
    lines = read_events(tmp_path, kind="llm_call")
    assert [(line.attempt, line.status) for line in lines] == [(1, "error"), (2, "ok")]
    assert lines[0].error.startswith("ProviderRateLimited: RateLimitError")


def test_500_is_retried_with_backoff(tmp_path, config_file, fake_openai_server):
    fake_openai_server.fail_next(2, "500")
    executor, sleeps = executor_for(["fake"], config_file, tmp_path)
    assert len(executor.structured(Levers, "s", PROMPT).levers) == 3
    assert sleeps.waits == [1.0, 2.0]
    assert fake_openai_server.count("/v1/chat/completions") == 3
    assert [line.status for line in read_events(tmp_path, kind="llm_call")] == ["error", "error", "ok"]


def test_hang_is_cut_by_the_configured_timeout_and_retried(tmp_path, config_file, fake_openai_server):
    fake_openai_server.fail_next(1, "hang")
    executor, sleeps = executor_for(["fake"], config_file, tmp_path)
    assert len(executor.structured(Levers, "s", PROMPT).levers) == 3
    assert sleeps.waits == [1.0], "a timeout is transient: backoff, then the same model again"
    assert fake_openai_server.count("/v1/chat/completions") == 2
    hung, ok = read_events(tmp_path, kind="llm_call")
    assert hung.status == "error" and hung.error.startswith("ProviderTimeout: APITimeoutError")
    assert TIMEOUT_S * 0.9 <= hung.duration_s < TIMEOUT_S * 3
    assert ok.status == "ok"


def test_server_that_keeps_failing_hands_over_to_the_next_model(tmp_path, config_file, fake_openai_server):
    fake_openai_server.fail_next(10, "500")
    policy = RetryPolicy(max_attempts_per_model=2, initial_wait_s=1.0, jitter_s=0.0)
    executor, sleeps = executor_for(["fake", "sim"], config_file, tmp_path, policy=policy)
    assert executor.structured(Levers, "s", PROMPT).levers
    assert fake_openai_server.count("/v1/chat/completions") == 2
    lines = read_events(tmp_path, kind="llm_call")
    assert [line.model for line in lines] == ["fake", "fake", "sim"]
    # Two 500s got no answer, so nothing was billed; the simulator reports its usage as a provider does.
    assert [(line.input_tokens, line.cost_source) for line in lines[:2]] == [(None, None)] * 2
    assert lines[-1].tokens_estimated is False and lines[-1].input_tokens > 0


def test_key_echoed_by_the_provider_never_reaches_telemetry_or_errors(tmp_path, config_file, fake_openai_server):
    fake_openai_server.fail_next(2, "401")
    executor, _ = executor_for(["fake"], config_file, tmp_path, item=3)
    with pytest.raises(LLMCallFailed) as exc:
        executor.structured(Levers, "s", PROMPT)
    assert fake_openai_server.count("/v1/chat/completions") == 1, "a 401 is not retried"
    message = str(exc.value)
    assert "PotentialLevers item 3" in message and "fake" in message and "AuthenticationError" in message
    assert FAKE_KEY not in message and "***" in message

    executor, _ = executor_for(["fake", "sim"], config_file, tmp_path)
    assert executor.structured(Levers, "s", PROMPT).levers  # falls back to the simulator
    text = telemetry_text(tmp_path)
    assert "Incorrect API key provided: ***" in text
    assert FAKE_KEY not in text


def test_batch_keeps_at_most_max_concurrency_requests_at_the_server(tmp_path, config_file, fake_openai_server):
    fake_openai_server.latency_s = 0.1
    executor, _ = executor_for(["fake"], config_file, tmp_path)
    prompts = [f"{PROMPT} Variant {i}." for i in range(6)]
    fns = [(lambda p: (lambda llm: _achat(llm, p)))(p) for p in prompts]
    results = asyncio.run(executor.run_batch_async(fns, max_concurrency=3))
    assert [r.raw_text for r in results] == [_expected(p) for p in prompts]
    assert fake_openai_server.peak_in_flight == 3
    assert fake_openai_server.count("/v1/chat/completions") == 6


async def _achat(llm, prompt):
    from planexe_pipeline.llm.structured import astructured_chat

    return await astructured_chat(llm, Levers, "s", prompt)


def _expected(prompt: str) -> str:
    from planexe_pipeline.llm.structured import build_messages
    from support.fake_openai_server import answer_for

    messages = [{"role": m.role.value, "content": m.content} for m in build_messages(Levers, "s", prompt)]
    return answer_for(messages)
