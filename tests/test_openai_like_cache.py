"""Through the real OpenAI-compatible client, against a loopback server that caches prompt prefixes
as hosted providers do (the schema first, then the messages; prompts of 4,096 characters or more;
512-character blocks) and reports `prompt_tokens_details.cached_tokens`: every answered call's
telemetry line carries the cached tokens the server reported and a cost, and `stats` adds them up."""

from __future__ import annotations

import json

import pytest
from support.plan_runs import cli_env, start_run

from planexe_pipeline.llm.sim_provider import CHARS_PER_TOKEN, PrefixCache
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.stats import compute_stats

pytest.importorskip("llama_index.llms.openai_like")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]


def test_cached_tokens_and_costs_reach_every_call_and_the_stats(tmp_path, fake_openai_server):
    fake_openai_server.prefix_cache = PrefixCache()
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"fake-openai": {
        "class": "OpenAILike", "structured_output": "json_schema",
        "arguments": {"model": "fake-model", "api_base": fake_openai_server.url + "/v1", "api_key": "k",
                      "context_window": 32768, "timeout": 5},
        "pricing": {"provider": "openai", "model": "gpt-4o-mini"}}}}))
    run_dir = tmp_path / "run"
    run = start_run(run_dir, config, ["fake-openai"], env=cli_env())
    assert run.wait(timeout=120) == 0, run.stderr[-3000:]

    calls = [call for call in read_events(run_dir, "llm_call") if call.ok]
    assert len(calls) == len(fake_openai_server.chat_requests())
    assert all(call.cached_input_tokens is not None and call.cost_source == "table" and call.cost_usd > 0
               for call in calls)
    served = sum(call.cached_input_tokens for call in calls)
    assert served == fake_openai_server.cached_chars // CHARS_PER_TOKEN > 0
    stats = compute_stats(run_dir)
    assert stats.cached_input_tokens == served
    assert stats.cached_share == pytest.approx(fake_openai_server.cached_chars / fake_openai_server.prompt_chars,
                                               rel=0.01)
    assert stats.cost == pytest.approx(sum(call.cost_usd for call in calls)) and stats.unpriced == 0
