"""The Ollama provider, built from llm_config.json, through LLMExecutor against our fake server's /api/chat."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from planexe_pipeline.llm.config import load_llm_config, resolve_models
from planexe_pipeline.llm.executor import LLMExecutor, NamedModel, RetryPolicy
from planexe_pipeline.telemetry.event_log import read_events
from support.fake_openai_server import COMPLETION_TOKENS, PROMPT_TOKENS
from support.fakes import Sleeps

pytest.importorskip("llama_index.llms.ollama")

TIMEOUT_S = 1.0


class Expert(BaseModel):
    name: str
    expertise: str
    years: int = Field(ge=1, le=40)


class Experts(BaseModel):
    experts: list[Expert] = Field(min_length=1)


PROMPT = "Find experts who can criticise a plan for a bakery in Lyon."



@pytest.fixture
def config_file(tmp_path, fake_openai_server) -> Path:
    path = tmp_path / "llm_config.json"
    path.write_text(json.dumps({"models": {
        "local-ollama": {"class": "Ollama", "arguments": {
            "model": "llama3.1:8b", "base_url": fake_openai_server.url, "request_timeout": TIMEOUT_S,
            "json_mode": True}},
    }}))
    return path


def executor_for(config_file: Path, run_dir: Path) -> tuple[LLMExecutor, Sleeps]:
    sleeps = Sleeps()
    entries = resolve_models(["local-ollama"], load_llm_config(config_file))
    executor = LLMExecutor([NamedModel.from_entry(e) for e in entries], run_dir=run_dir, stage="FindExpertsItem",
                           item=0, policy=RetryPolicy(initial_wait_s=1.0, jitter_s=0.0),
                           sleep=sleeps, async_sleep=sleeps.a)
    return executor, sleeps


def test_valid_answer_and_provider_token_counts(tmp_path, config_file, fake_openai_server):
    executor, sleeps = executor_for(config_file, tmp_path)
    result = executor.structured(Experts, "You find experts.", PROMPT)
    assert isinstance(result, Experts) and result.experts
    assert sleeps.waits == []
    (request,) = fake_openai_server.chat_requests()
    assert request["path"] == "/api/chat"
    assert request["body"]["model"] == "llama3.1:8b"
    # The default mode of an Ollama entry: the schema itself as `format`.
    assert request["body"]["format"]["required"] == ["experts"] and request["body"]["stream"] is False
    assert request["body"]["options"]["num_ctx"] == 8192, "context window read from /api/show"
    assert request["body"]["options"]["num_predict"] >= 1024, "the answer's budget"
    (line,) = read_events(tmp_path, kind="llm_call")
    assert (line.input_tokens, line.output_tokens, line.tokens_estimated) == (
        PROMPT_TOKENS, COMPLETION_TOKENS, False)


def test_async_path(tmp_path, config_file, fake_openai_server):
    executor, _ = executor_for(config_file, tmp_path)
    assert asyncio.run(executor.astructured(Experts, "You find experts.", PROMPT)).experts
    (line,) = read_events(tmp_path, kind="llm_call")
    assert line.status == "ok" and line.tokens_estimated is False


@pytest.mark.parametrize("fault, kind", [("500", "ProviderHTTPError"), ("429", "ProviderRateLimited")])
def test_server_errors_are_retried(tmp_path, config_file, fake_openai_server, fault, kind):
    fake_openai_server.fail_next(2, fault)
    executor, sleeps = executor_for(config_file, tmp_path)
    assert executor.structured(Experts, "s", PROMPT).experts
    assert fake_openai_server.count("/api/chat") == 3
    assert sleeps.waits == [1.0, 2.0]  # Ollama's client drops headers: plain backoff
    lines = read_events(tmp_path, kind="llm_call")
    assert [line.status for line in lines] == ["error", "error", "ok"]
    assert lines[0].error.startswith(f"{kind}: ResponseError") and lines[0].error_type == kind


def test_hang_is_cut_by_request_timeout_and_retried(tmp_path, config_file, fake_openai_server):
    fake_openai_server.fail_next(1, "hang")
    executor, sleeps = executor_for(config_file, tmp_path)
    assert executor.structured(Experts, "s", PROMPT).experts
    assert sleeps.waits == [1.0]
    hung, ok = read_events(tmp_path, kind="llm_call")
    assert hung.error.startswith("ProviderTimeout: ReadTimeout")
    assert TIMEOUT_S * 0.9 <= hung.duration_s < TIMEOUT_S * 3
    assert ok.status == "ok"
