"""A whole plan against a real model provider over HTTP: `planexe-pipeline run` with an OpenAILike
entry pointed at the fake OpenAI-compatible server (tests/support/fake_openai_server.py), in the
`prompt` structured-output mode (the schema in the system message).

The fast sample plan completes with 4 worker processes; every attempt's token counts are the
server's `usage` numbers (not estimates); rate limits answered mid-plan (429 + Retry-After) are
retried away and show in telemetry; the API key, read from the environment through `${VAR}`,
reaches the server and nothing else: no file of the run folder, no byte of stdout or stderr.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from support.fake_openai_server import COMPLETION_TOKENS, PROMPT_TOKENS
from support.files import PLAN_MD, REPORT_HTML
from support.plan_runs import cli_env, poll, start_run

from planexe_pipeline.telemetry.event_log import read_events

pytest.importorskip("llama_index.llms.openai_like")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

KEY = "sk-test-secret-5678"
RATE_LIMITED = 3


def test_fast_plan_over_http_counts_real_tokens_survives_429s_and_leaks_no_key(tmp_path, fake_openai_server):
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"fake-openai": {
        "class": "OpenAILike", "structured_output": "prompt",  # the other modes: test_structured_plans.py
        "arguments": {"model": "fake-model", "api_base": fake_openai_server.url + "/v1",
                      "api_key": "${FAKE_OPENAI_KEY}", "context_window": 32768, "timeout": 5}}}}))
    assert KEY not in config.read_text()
    fake_openai_server.latency_s = 0.02  # so that calls overlap and the 429s land mid-plan

    run_dir = tmp_path / "run"
    run = start_run(run_dir, config, ["fake-openai"], prompt_id="bakery-lyon", env=cli_env(FAKE_OPENAI_KEY=KEY))
    try:
        # Some calls in, the server starts rate limiting for a few requests.
        poll(lambda: fake_openai_server.count("/v1/chat/completions") >= 10, 60, "ten chat requests",
             give_up=lambda: run.proc.poll() is not None and f"run exited {run.proc.returncode}: {run.stderr[-2000:]}")
        fake_openai_server.fail_next(RATE_LIMITED, "429")
        code = run.wait(timeout=90)
    finally:
        if run.proc.poll() is None:
            run.kill()
    assert code == 0, run.stderr[-3000:]
    assert (run_dir / "999-pipeline_complete.txt").exists()
    assert (run_dir / REPORT_HTML).exists()
    assert "Done in" in run.stdout
    assert "offline simulator" not in run.stderr + run.stdout  # a real client: no simulator notice

    requests = fake_openai_server.chat_requests()
    assert {r["headers"].get("Authorization") for r in requests} == {f"Bearer {KEY}"}, "the key was really sent"
    assert {r["body"].get("model") for r in requests} == {"fake-model"}

    calls = read_events(run_dir, "llm_call")
    assert len(calls) == len(requests), "one telemetry line per HTTP attempt, and the client retried nothing itself"
    assert Counter(e.status for e in calls) == {"ok": len(requests) - RATE_LIMITED, "error": RATE_LIMITED}
    assert {e.model for e in calls} == {"fake-openai"}
    ok = [e for e in calls if e.status == "ok"]
    assert len(ok) >= 50, f"only {len(ok)} calls: the fast plan makes about 55"
    assert {(e.input_tokens, e.output_tokens) for e in ok} == {(PROMPT_TOKENS, COMPLETION_TOKENS)}
    assert not any(e.tokens_estimated for e in calls)
    assert all(e.tokens_estimated is False for e in ok)
    errors = [e for e in calls if e.status == "error"]
    assert all(e.error.startswith("ProviderRateLimited: RateLimitError") for e in errors), [e.error for e in errors]
    # Each rate-limited call got its answer on a later attempt of the same logical call.
    for e in errors:
        assert any(o.task_id == e.task_id and o.item == e.item and o.attempt > e.attempt
                   for o in ok), e

    # The run's own summary reads the same numbers.
    assert f"{len(ok) * PROMPT_TOKENS} tokens in / {len(ok) * COMPLETION_TOKENS} out" in run.stdout, run.stdout[-500:]
    assert f"({RATE_LIMITED} retried attempts)" in run.stdout

    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert len(files) > 100
    leaks = [str(p.relative_to(run_dir)) for p in files if KEY.encode() in p.read_bytes()]
    leaks += [name for name, text in (("stdout", run.stdout), ("stderr", run.stderr)) if KEY in text]
    assert not leaks, f"the API key is in: {leaks}"

    # The plan, its report and its timeline name the model that wrote them, and say nothing of a simulator.
    shown = {name: (run_dir / name).read_text(encoding="utf-8") for name in (PLAN_MD, REPORT_HTML, "timeline.html")}
    assert "**Written by:** fake-model (openai API)" in shown[PLAN_MD]
    assert all("fake-model (openai API)" in text for text in shown.values())
    assert not [name for name, text in shown.items() if "Simulated text" in text or "offline simulator" in text]
