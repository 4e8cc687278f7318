"""The fast sample plan end to end in each provider-side structured-output mode, through the real
llama-index clients (OpenAILike, Ollama) against the loopback server, which answers from the
schema the request carries. A server that honours the schema never yields a validation error.
(The prompt mode's plan over HTTP is tests/test_openai_like_plan.py; `tools` with Ollama is refused
by the config, tests/test_structured_modes.py.)"""

from __future__ import annotations

import json

import luigi
import pytest

from planexe_pipeline.pipeline import FullPlan
from planexe_pipeline.prompts.catalog import get_prompt
from planexe_pipeline.telemetry.event_log import read_events

pytest.importorskip("llama_index.llms.openai_like")
pytest.importorskip("llama_index.llms.ollama")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

MODE_KEYS = {"json_schema": "response_format", "json_object_schema": "response_format", "tools": "tools",
             "ollama_format": "format"}


@pytest.mark.parametrize("mode, cls", [("json_schema", "OpenAILike"), ("json_object_schema", "OpenAILike"),
                                       ("tools", "OpenAILike"), ("ollama_format", "Ollama")])
def test_fast_plan_in_each_mode(tmp_path, fake_openai_server, mode, cls):
    url = fake_openai_server.url
    arguments = ({"model": "llama3.1:8b", "base_url": url, "request_timeout": 10.0} if cls == "Ollama" else
                 {"model": "fake-model", "api_base": url + "/v1", "api_key": "k", "timeout": 10.0})
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"m": {"class": cls, "structured_output": mode, "context_window": 16384,
                                                   "arguments": arguments}}}))
    run_dir = tmp_path / "run"
    root = FullPlan(run_dir=str(run_dir), speed="fast", llm="m", llm_config=str(config),
                    prompt=get_prompt("bakery-lyon").prompt, start_date="2027-01-04")
    result = luigi.build([root], workers=1, local_scheduler=True, detailed_summary=True)
    assert result.status == luigi.execution_summary.LuigiStatusCode.SUCCESS, result.summary_text
    assert (run_dir / "999-pipeline_complete.txt").exists()

    calls = read_events(run_dir, kind="llm_call")
    assert len(calls) >= 50 and {c.status for c in calls} == {"ok"}, [c.error for c in calls if c.error]
    requests = fake_openai_server.chat_requests()
    assert len(requests) == len(calls)
    key = MODE_KEYS[mode]
    assert all(r["body"].get(key) for r in requests), f"every request carries its schema as {key}"
    if mode == "tools":
        assert not any(r["body"].get("format") or r["body"].get("response_format") for r in requests)
    assert not any("Here's a JSON schema" in r["body"]["messages"][0]["content"] for r in requests)


def test_sections_four_times_longer_still_fit_a_16k_window(tmp_path):
    """The simulator writing four times more per section: every prompt of the plan is at most
    12,000 tokens and none is refused by a 16,384-token window (the stages upstream of the
    fan-outs, where the largest prompt is, run the same in the fast and the standard plan)."""
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"long": {"class": "Simulated", "context_window": 16384, "arguments": {
        "seed": 42, "time_scale": 0.0, "section_length": 4.0}}}}))
    run_dir = tmp_path / "run"
    root = FullPlan(run_dir=str(run_dir), speed="fast", llm="long", llm_config=str(config),
                    prompt=get_prompt("solar-farm-denmark").prompt, start_date="2027-01-04")
    result = luigi.build([root], workers=1, local_scheduler=True, detailed_summary=True)
    assert result.status == luigi.execution_summary.LuigiStatusCode.SUCCESS, result.summary_text
    calls = read_events(run_dir, kind="llm_call")
    assert {c.status for c in calls} == {"ok"}
    assert max(c.output_tokens for c in calls) > 4 * 1000, "the sections really are long"
    assert max(c.input_tokens for c in calls) <= 12_000
