"""Structured-output modes, output budgets, truncations, refusals and context windows, through
LLMExecutor and the real llama-index clients against the loopback OpenAI-compatible and Ollama
server (tests/support/fake_openai_server.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from planexe_pipeline.errors import ConfigError, LLMCallFailed
from planexe_pipeline.llm.config import load_llm_config, resolve_models
from planexe_pipeline.llm.executor import LLMExecutor, NamedModel, RetryPolicy
from planexe_pipeline.llm.schema_rules import GRAMMAR_MAX_CHARS, provider_schema
from planexe_pipeline.telemetry.event_log import read_events
from support.fakes import Lever, Sleeps

pytest.importorskip("llama_index.llms.openai_like")
pytest.importorskip("llama_index.llms.ollama")


class Levers(BaseModel):
    levers: list[Lever] = Field(min_length=1)


class SummarisedLevers(Levers):
    """A list, then a field after it: an answer cut in the list has no valid part to keep."""

    summary: str


PROMPT = "Find the strategic levers of a 5 MW solar farm in Denmark."


def write_config(tmp_path: Path, url: str, **entries: dict) -> Path:
    models = {}
    for name, extra in entries.items():
        ollama = extra.pop("ollama", False)
        arguments = ({"model": "llama3.1:8b", "base_url": url, "request_timeout": 2.0} if ollama else
                     {"model": "fake-model", "api_base": url + "/v1", "api_key": "k", "timeout": 2.0})
        models[name] = {"class": "Ollama" if ollama else "OpenAILike", "arguments": arguments, **extra}
    path = tmp_path / "llm_config.json"
    path.write_text(json.dumps({"models": models}))
    return path


def executor(config: Path, names: list[str], run_dir: Path, stage: str = "PotentialLevers") -> LLMExecutor:
    entries = resolve_models(names, load_llm_config(config))
    sleeps = Sleeps()
    return LLMExecutor([NamedModel.from_entry(e) for e in entries], run_dir=run_dir, stage=stage,
                       policy=RetryPolicy(initial_wait_s=0.0, jitter_s=0.0), sleep=sleeps, async_sleep=sleeps.a)


def strict_everywhere(schema: dict) -> None:
    """OpenAI's strict mode: every object closed and every property required, no references."""
    assert "$ref" not in json.dumps(schema) and "$defs" not in schema
    if "properties" in schema:
        assert schema["additionalProperties"] is False
        assert schema["required"] == list(schema["properties"])
        for sub in schema["properties"].values():
            strict_everywhere(sub)
    if schema.get("type") == "array":
        assert schema["maxItems"] >= 1
        strict_everywhere(schema["items"])


def _max_lengths(schema):
    if isinstance(schema, dict):
        yield from ([schema["maxLength"]] if "maxLength" in schema else [])
        for value in schema.values():
            yield from _max_lengths(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _max_lengths(value)


@pytest.mark.parametrize("mode, ollama", [("json_schema", False), ("json_object_schema", False), ("tools", False),
                                          ("prompt", False), ("ollama_format", True)])
def test_each_mode_sends_its_dialect_and_a_schema_honouring_server_answers_validly(
        tmp_path, fake_openai_server, mode, ollama):
    config = write_config(tmp_path, fake_openai_server.url,
                          m={"structured_output": mode, "context_window": 8192, "ollama": ollama})
    result = executor(config, ["m"], tmp_path).structured(Levers, "You list strategic levers.", PROMPT)
    assert result.levers and all(1 <= lever.weight <= 5 for lever in result.levers)

    (request,) = fake_openai_server.chat_requests()
    body = request["body"]
    system = body["messages"][0]["content"]
    sent = {k for k in ("response_format", "format", "tools", "tool_choice") if body.get(k)}
    if mode == "json_schema":
        assert sent == {"response_format"} and body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["strict"] is True
        strict_everywhere(body["response_format"]["json_schema"]["schema"])
    elif mode == "json_object_schema":  # llama-cpp-python's dialect; bounds stay for its grammar
        assert sent == {"response_format"} and body["response_format"]["type"] == "json_object"
        schema = body["response_format"]["schema"]
        assert schema["properties"]["levers"]["items"]["properties"]["name"]["maxLength"] > 0
        # The description's own bound is longer; llama.cpp refuses a grammar built from it.
        assert max(_max_lengths(provider_schema(Levers))) > GRAMMAR_MAX_CHARS >= max(_max_lengths(schema))
    elif mode == "ollama_format":
        assert sent == {"format"} and body["format"]["required"] == ["levers"]
        assert max(_max_lengths(body["format"])) <= GRAMMAR_MAX_CHARS, "Ollama compiles it with llama.cpp"
        assert body["options"]["num_ctx"] == 8192 and body["options"]["num_predict"] >= 1024
    elif mode == "tools":
        (tool,) = body["tools"]
        assert tool["function"]["name"] == "submit_Levers" and tool["function"]["parameters"]["required"] == ["levers"]
        assert body["tool_choice"]["function"]["name"] == "submit_Levers", "the model is told which tool to call"
        assert tool["function"]["strict"] is True
        strict_everywhere(tool["function"]["parameters"])
    else:
        assert sent == set() and '"levers"' in system, "the prompt mode puts the schema in the system message"
    assert ('"levers"' in system) is (mode == "prompt"), "provider modes do not repeat the schema in the prompt"
    (line,) = read_events(tmp_path, kind="llm_call")
    assert line.status == "ok" and line.finish_reason in ("stop", "tool_calls")


@pytest.mark.parametrize("ollama", [False, True])
def test_a_truncated_answer_is_retried_with_a_larger_budget_then_named(tmp_path, fake_openai_server, ollama):
    config = write_config(tmp_path, fake_openai_server.url,
                          m={"context_window": 16384, "max_output_tokens": 1500, "ollama": ollama})
    fake_openai_server.fail_next(2, "length")
    with pytest.raises(LLMCallFailed) as exc:
        executor(config, ["m"], tmp_path).structured(SummarisedLevers, "s", PROMPT)
    message = str(exc.value)
    assert "cut at 54 output tokens" in message and "max_output_tokens" in message
    assert "not valid" not in message, "a truncation is not reported as invalid JSON"
    budgets = [r["body"].get("max_tokens") or r["body"]["options"]["num_predict"]
               for r in fake_openai_server.chat_requests()]
    assert budgets == [1500, 3000], "one retry, with twice the budget"
    assert [line.finish_reason for line in read_events(tmp_path, kind="llm_call")] == ["length", "length"]
    assert (tmp_path / "llm_failures" / "PotentialLevers-single.txt").exists(), "the cut answer is kept"


def test_a_truncation_the_window_cannot_absorb_is_not_retried(tmp_path, fake_openai_server):
    config = write_config(tmp_path, fake_openai_server.url, m={"context_window": 1400, "max_output_tokens": 1024})
    fake_openai_server.fail_next(1, "length")
    with pytest.raises(LLMCallFailed, match="cut at 54 output tokens"):
        executor(config, ["m"], tmp_path).structured(SummarisedLevers, "s", PROMPT)
    assert fake_openai_server.count() == 1


def test_a_filtered_answer_is_named_and_the_next_model_answers(tmp_path, fake_openai_server):
    config = write_config(tmp_path, fake_openai_server.url, a={"context_window": 8192}, b={"context_window": 8192})
    fake_openai_server.fail_next(1, "filter")
    assert executor(config, ["a", "b"], tmp_path).structured(Levers, "s", PROMPT).levers
    first, second = read_events(tmp_path, kind="llm_call")
    assert first.error.startswith("RefusedAnswer") and "content filter" in first.error
    assert first.finish_reason == "content_filter" and (second.model, second.status) == ("b", "ok")


def test_an_oversized_prompt_is_refused_before_any_request_leaves(tmp_path, fake_openai_server):
    config = write_config(tmp_path, fake_openai_server.url, m={"context_window": 4096})
    with pytest.raises(LLMCallFailed) as exc:
        executor(config, ["m"], tmp_path, stage="ExecutiveSummary").structured(Levers, "s", PROMPT * 400)
    message = str(exc.value)
    assert fake_openai_server.count() == 0
    assert message.startswith("ExecutiveSummary") and "4096-token context window of model 'm'" in message
    assert "context_window" in message and "\n" not in message


def test_an_entry_without_a_window_is_told_to_name_one(tmp_path, fake_openai_server):
    config = write_config(tmp_path, fake_openai_server.url, m={})
    with pytest.raises(ConfigError, match="names no context window: add \"context_window\""):
        executor(config, ["m"], tmp_path)  # the run's up-front check
    # A client built without that check still sends nothing: the call counts its prompt first.
    unchecked = LLMExecutor([NamedModel.from_entry(load_llm_config(config)["m"])], run_dir=tmp_path,
                            stage="PotentialLevers", policy=RetryPolicy(initial_wait_s=0.0, jitter_s=0.0))
    with pytest.raises(LLMCallFailed, match="names no context window: add \"context_window\""):
        unchecked.structured(Levers, "s", PROMPT)
    assert fake_openai_server.count() == 0


def test_ollama_num_ctx_is_what_the_plan_needs_not_the_trained_maximum(tmp_path, fake_openai_server):
    fake_openai_server.trained_context = 131072
    config = write_config(tmp_path, fake_openai_server.url, m={"ollama": True})
    assert executor(config, ["m"], tmp_path).structured(Levers, "s", PROMPT).levers
    (request,) = fake_openai_server.chat_requests()
    assert request["body"]["options"]["num_ctx"] == 16384
    assert fake_openai_server.count("/api/show") == 1, "the window was asked from the server"
