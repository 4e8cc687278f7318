"""`planexe-pipeline check-model --llm NAME`: one structured call, as a run sends it and retries it,
against the fake server on 127.0.0.1; each way an endpoint can be wrong is one line and a non-zero
exit. The run's retry policy is shortened here to milliseconds and 3 attempts."""

from __future__ import annotations

import json
from pathlib import Path

import luigi
import pytest
from support.fake_openai_server import COMPLETION_TOKENS, PROMPT_TOKENS
from support.scale_out import free_port

from planexe_pipeline.cli import main
from planexe_pipeline.llm.model_check import STAGE

pytest.importorskip("llama_index.llms.openai_like")
pytest.importorskip("llama_index.llms.ollama")

KEY = "sk-check-model-key-5d2b7e19a4c8"
LIMIT_HEADERS = {"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499",
                 "x-ratelimit-reset-requests": "120ms"}


def write_config(path: Path, **entries: dict) -> str:
    path.write_text(json.dumps({"models": entries}))
    return str(path)


def openai_entry(url: str, timeout: float = 5, **extra) -> dict:
    return {"class": "OpenAILike", **extra, "arguments": {
        "model": "fake-model", "api_base": url + "/v1", "api_key": "${CHECK_KEY}", "context_window": 32768,
        "timeout": timeout}}


ATTEMPTS = 3


@pytest.fixture(autouse=True)
def quick_retries():
    """[retry_policy] as a test wants it: the attempts a run makes, the waits in milliseconds."""
    settings = luigi.configuration.get_config()
    quick = {"max_attempts_per_model": str(ATTEMPTS), "initial_wait_s": "0.01", "max_wait_s": "0.05",
             "jitter_s": "0", "patience_s": "0.5"}
    before = {key: settings.get("retry_policy", key, None) for key in quick}
    for key, value in quick.items():
        settings.set("retry_policy", key, value)
    yield
    for key, value in before.items():
        if value is None:
            settings.remove_option("retry_policy", key)
        else:
            settings.set("retry_policy", key, value)


@pytest.fixture
def config(tmp_path, monkeypatch, fake_openai_server) -> str:
    monkeypatch.setenv("CHECK_KEY", KEY)
    url = fake_openai_server.url
    return write_config(tmp_path / "llm_config.json", fake=openai_entry(url),
                        dead=openai_entry(f"http://127.0.0.1:{free_port()}"),
                        impatient=openai_entry(url, timeout=0.5),
                        **{f"fake-{mode}": openai_entry(url, structured_output=mode)
                           for mode in ("json_object_schema", "tools", "prompt")},
                        ollama={"class": "Ollama", "arguments": {"model": "fake-model", "base_url": url}},
                        windowless={"class": "OpenAILike", "arguments": {"model": "m", "api_base": url + "/v1",
                                                                         "api_key": "k"}},
                        sim={"class": "Simulated", "arguments": {"seed": 1, "time_scale": 0}},
                        **{"sim-malformed": {"class": "Simulated", "arguments": {
                            "seed": 1, "time_scale": 0, "fail_stages": [STAGE]}}})


def check(capsys, *argv: str) -> tuple[int, list[str], list[str]]:
    code = main(["check-model", *argv])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


def failed(capsys, *argv: str, retried: int = 0) -> tuple[int, str]:
    """A refusal: a non-zero exit, one line on stderr (never the key); on stdout only the retries."""
    code, out, err = check(capsys, *argv)
    assert code != 0 and len(out) == retried and all(line.startswith("retry: attempt ") for line in out), out
    assert len(err) == 1, err
    assert KEY not in err[0]
    return code, err[0]


def test_a_working_entry_shows_mode_latency_tokens_finish_reason_and_rate_limit_headers(
        capsys, config, fake_openai_server):
    fake_openai_server.headers = {**LIMIT_HEADERS, "x-request-id": "not-a-limit"}
    code, out, err = check(capsys, "--llm", "fake", "--llm-config", config)
    assert code == 0, err
    assert out[0] == f"model: fake (OpenAILike, fake-model at {fake_openai_server.url}/v1)"
    assert "structured output: json_schema" in out
    assert any(line.startswith("latency: ") and line.endswith(" s") for line in out)
    assert f"tokens: {PROMPT_TOKENS} in, {COMPLETION_TOKENS} out (counted by the provider)" in out
    assert "finish reason: stop" in out
    assert [line for line in out if line.startswith("rate-limit header")] == [
        f"rate-limit header {k}: {v}" for k, v in LIMIT_HEADERS.items()]
    assert out[-1] == "ok: model 'fake' answered valid JSON for the schema"
    assert KEY not in "\n".join(out)
    (request,) = fake_openai_server.chat_requests()
    body = request["body"]
    # The request a run sends: the schema as the provider's constraint, and an output budget.
    assert body["response_format"]["type"] == "json_schema" and body["response_format"]["json_schema"]["strict"]
    assert body["max_tokens"] >= 1
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("name, mode, carried", [
    ("fake-json_object_schema", "json_object_schema", lambda b: b["response_format"]["type"] == "json_object"),
    ("fake-tools", "tools", lambda b: b["tools"][0]["function"]["name"] == "submit_CheckAnswer"),
    ("fake-prompt", "prompt", lambda b: "response_format" not in b and "tools" not in b),
    ("ollama", "ollama_format", lambda b: b["format"]["type"] == "object"),
])
def test_the_call_is_made_in_the_entrys_own_mode(capsys, config, fake_openai_server, name, mode, carried):
    code, out, err = check(capsys, "--llm", name, "--llm-config", config)
    assert code == 0, err
    assert f"structured output: {mode}" in out
    assert "rate-limit headers: none sent" in out
    (request,) = fake_openai_server.chat_requests()
    assert carried(request["body"]), request["body"]


def test_the_simulator_reports_its_tokens_as_a_provider_and_names_no_price(capsys, config):
    code, out, err = check(capsys, "--llm", "sim", "--llm-config", config)
    assert code == 0, err
    assert "structured output: prompt" in out
    assert any(line.startswith("tokens: ") and "(0 cached)" in line and line.endswith("(counted by the provider)")
               for line in out)
    assert any(line.startswith("price: no price (the offline simulator") for line in out)


def test_a_dead_endpoint_is_one_line_after_the_tries_a_run_makes(capsys, config):
    code, line = failed(capsys, "--llm", "dead", "--llm-config", config, retried=ATTEMPTS - 1)
    assert code == 1
    assert "cannot be reached" in line and "127.0.0.1" in line and "llm_config.json" in line
    assert line.endswith(f"(after {ATTEMPTS} attempts, as a run makes them)")


def test_an_endpoint_that_never_answers_is_cut_by_the_entrys_timeout(capsys, config, fake_openai_server):
    fake_openai_server.fail_next(ATTEMPTS, "hang")
    code, line = failed(capsys, "--llm", "impatient", "--llm-config", config, retried=ATTEMPTS - 1)
    assert code == 1
    assert "did not answer within its timeout" in line


@pytest.mark.parametrize("fault", ["500", "429", "hang"])
def test_a_transient_fault_is_tried_again_as_a_run_tries_it(capsys, config, fake_openai_server, fault):
    fake_openai_server.fail_next(ATTEMPTS - 1, fault)  # a run gets through these: the check does too
    code, out, err = check(capsys, "--llm", "impatient", "--llm-config", config)
    assert code == 0, err
    assert [line for line in out if line.startswith("retry: ")] == [
        line for line in out if line.startswith("retry: attempt ") and "as a run would" in line]
    assert len([line for line in out if line.startswith("retry: ")]) == ATTEMPTS - 1, out
    assert any(line.startswith(f"attempts: {ATTEMPTS} (retried as a run retries: ") for line in out), out
    assert out[-1] == "ok: model 'impatient' answered valid JSON for the schema"
    assert fake_openai_server.count() == ATTEMPTS


def test_the_shipped_faulty_simulator_passes_the_check_as_a_run_on_it_succeeds(capsys):
    code, out, err = check(capsys, "--llm", "simulated-faulty")
    assert code == 0, err
    assert any(line.startswith("attempts: ") for line in out), "its first attempt did not fail: nothing was tested"


def test_a_wrong_model_name_is_one_line(capsys, config, fake_openai_server):
    fake_openai_server.models = {"another-model"}
    code, line = failed(capsys, "--llm", "fake", "--llm-config", config)
    assert code == 1
    assert "HTTP 404" in line and "does not exist" in line and '"model"' in line


def test_a_bad_key_is_one_line_that_names_its_variable_not_its_value(capsys, config, fake_openai_server):
    fake_openai_server.fail_next(1, "401")  # the server echoes the key it got in its message
    code, line = failed(capsys, "--llm", "fake", "--llm-config", config)
    assert code == 1
    assert "refused the key" in line and "HTTP 401" in line and "$CHECK_KEY" in line


def test_a_rate_limited_endpoint_says_when_to_come_back(capsys, config, fake_openai_server):
    fake_openai_server.fail_next(1000, "429")  # longer than the patience a run has for it
    code, out, err = check(capsys, "--llm", "fake", "--llm-config", config)
    assert code == 1 and len(err) == 1 and all(line.startswith("retry: attempt ") for line in out), (out, err)
    line = err[0]
    assert code == 1
    assert "HTTP 429" in line and "retry-after: 0.05" in line


def test_an_answer_cut_by_the_output_limit_names_the_setting_to_raise(capsys, config, fake_openai_server):
    fake_openai_server.fail_next(ATTEMPTS, "length")  # half the JSON, finish_reason length, on the retry too
    code, line = failed(capsys, "--llm", "fake", "--llm-config", config, retried=1)  # one retry, a larger budget
    assert code == 1
    assert "was cut at" in line and '"max_output_tokens"' in line


def test_an_answer_that_is_not_the_schema_names_the_mode(capsys, config):
    code, line = failed(capsys, "--llm", "sim-malformed", "--llm-config", config, retried=1)  # validation_retries
    assert code == 1
    assert "not as structured output 'prompt' asks" in line and '"structured_output"' in line


def test_a_bad_entry_exits_2_before_any_request(capsys, config, fake_openai_server):
    code, line = failed(capsys, "--llm", "windowless", "--llm-config", config)
    assert code == 2 and "context_window" in line
    code, line = failed(capsys, "--llm", "nope", "--llm-config", config)
    assert code == 2 and "unknown model 'nope'" in line
    assert fake_openai_server.count() == 0
