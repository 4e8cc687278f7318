"""llm_config.json: loading, ${VAR} substitution, one-line errors, precedence, redaction."""

from __future__ import annotations

import dataclasses
import importlib
import json
from pathlib import Path

import pytest

from planexe_pipeline.errors import ConfigError
from planexe_pipeline.llm import config as cfg
from planexe_pipeline.llm.config import (
    CONFIG_ENV_VAR,
    MODEL_CLASSES,
    config_path,
    default_config_path,
    load_llm_config,
    parse_model_list,
    resolve_models,
)
from planexe_pipeline import redaction
from planexe_pipeline.redaction import redact
from planexe_pipeline.llm.simulator import SimulatedLLM


def write_config(path: Path, models: dict) -> Path:
    path.write_text(json.dumps({"models": models}), encoding="utf-8")
    return path


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert message and "\n" not in message, f"not one line: {message!r}"
    return message


@pytest.fixture(autouse=True)
def no_config_env(monkeypatch):
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)


# -- the shipped file ------------------------------------------------------------------------
def test_shipped_config_loads_and_every_entry_names_a_known_class():
    config = load_llm_config()
    assert config, "the shipped config has no models"
    assert "simulated" in config
    for name, entry in config.items():
        assert entry.name == name
        assert entry.class_name in MODEL_CLASSES, f"{name}: unknown class {entry.class_name}"
        assert isinstance(entry.arguments, dict)


def test_every_shipped_entry_can_be_built_when_its_keys_are_set(monkeypatch):
    """Instantiation only (no network): the arguments are ones the provider class accepts."""
    config = load_llm_config()
    for entry in config.values():
        for var in entry.env_vars():
            monkeypatch.setenv(var, f"test-value-for-{var}")
    for name, entry in config.items():
        llm = entry.create()
        model_class = entry.model_class
        assert isinstance(llm, getattr(importlib.import_module(model_class.module), model_class.attribute)), name
        if isinstance(llm, SimulatedLLM):
            assert llm.seed == entry.arguments["seed"]
        if model_class.client_defaults.get("max_retries") == 0:
            assert llm.max_retries == 0, "provider retries must be off: the executor retries"
            assert llm.timeout == entry.arguments["timeout"]


def test_shipped_simulated_entries_need_no_environment():
    config = load_llm_config()
    sims = [e for e in config.values() if e.class_name == "Simulated"]
    assert sims
    for entry in sims:
        assert entry.env_vars() == []
        assert resolve_models([entry.name], config) == [entry]


# -- ${VAR} substitution -----------------------------------------------------------------------
def test_env_references_are_substituted_in_nested_arguments(tmp_path, monkeypatch):
    monkeypatch.setenv("PLX_TEST_KEY", "k-123")
    monkeypatch.setenv("PLX_TEST_HOST", "10.0.0.7")
    path = write_config(tmp_path / "llm.json", {
        "remote": {"class": "OpenAILike", "arguments": {
            "api_key": "${PLX_TEST_KEY}",
            "api_base": "http://${PLX_TEST_HOST}:8000/v1",
            "default_headers": {"X-Key": "Bearer ${PLX_TEST_KEY}"},
            "stop": ["${PLX_TEST_HOST}", "literal"],
            "timeout": 5,
        }},
    })
    entry = load_llm_config(path)["remote"]
    assert entry.env_vars() == ["PLX_TEST_HOST", "PLX_TEST_KEY"]
    assert entry.resolved_arguments() == {
        "api_key": "k-123",
        "api_base": "http://10.0.0.7:8000/v1",
        "default_headers": {"X-Key": "Bearer k-123"},
        "stop": ["10.0.0.7", "literal"],
        "timeout": 5,
    }
    assert entry.arguments["api_key"] == "${PLX_TEST_KEY}", "the entry itself keeps the reference"


# -- errors: one line, naming the model or file and what to do ---------------------------------
def test_unknown_model_name(tmp_path):
    config = load_llm_config()
    with pytest.raises(ConfigError) as exc:
        resolve_models(["simulated", "no-such-model"], config)
    message = one_line(exc)
    assert "'no-such-model'" in message
    assert "simulated" in message and "llm_config.json" in message


def test_no_model_given():
    with pytest.raises(ConfigError) as exc:
        resolve_models(parse_model_list(" , "), load_llm_config())
    assert "--llm" in one_line(exc)


def test_parse_model_list_keeps_order():
    assert parse_model_list("b, a ,,c") == ["b", "a", "c"]
    assert parse_model_list(["x", " y "]) == ["x", "y"]


def test_missing_class(tmp_path):
    path = write_config(tmp_path / "llm.json", {"broken": {"arguments": {}}})
    with pytest.raises(ConfigError) as exc:
        load_llm_config(path)
    message = one_line(exc)
    assert "'broken'" in message and str(path) in message and '"class"' in message
    assert all(name in message for name in MODEL_CLASSES)


def test_unknown_class(tmp_path):
    path = write_config(tmp_path / "llm.json", {"odd": {"class": "Anthropic", "arguments": {}}})
    with pytest.raises(ConfigError) as exc:
        load_llm_config(path)
    message = one_line(exc)
    assert "'odd'" in message and "'Anthropic'" in message and str(path) in message
    assert "use one of" in message


def test_arguments_must_be_an_object(tmp_path):
    path = write_config(tmp_path / "llm.json", {"odd": {"class": "Simulated", "arguments": [1, 2]}})
    with pytest.raises(ConfigError) as exc:
        load_llm_config(path)
    assert "'odd'" in one_line(exc)


def test_malformed_json_file(tmp_path):
    path = tmp_path / "llm.json"
    path.write_text('{"models": {"a": {"class": "Simulated",}', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_llm_config(path)
    message = one_line(exc)
    assert str(path) in message and "not valid JSON" in message and "--llm-config" in message


def test_file_without_models(tmp_path):
    path = tmp_path / "llm.json"
    path.write_text('{"modles": {}}', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_llm_config(path)
    assert str(path) in one_line(exc)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "llm.json"
    with pytest.raises(ConfigError) as exc:
        load_llm_config(path)
    message = one_line(exc)
    assert str(path) in message and "does not exist" in message and "--llm-config" in message


def test_unset_env_var_is_named_up_front(tmp_path, monkeypatch):
    monkeypatch.delenv("PLX_UNSET_KEY", raising=False)
    path = write_config(tmp_path / "llm.json", {
        "needs-key": {"class": "OpenAILike", "arguments": {"model": "m", "api_key": "${PLX_UNSET_KEY}"}},
    })
    config = load_llm_config(path)  # loading does not need the key yet
    with pytest.raises(ConfigError) as exc:
        resolve_models(["needs-key"], config)
    message = one_line(exc)
    assert "'needs-key'" in message and "PLX_UNSET_KEY" in message and "export PLX_UNSET_KEY=" in message
    monkeypatch.setenv("PLX_UNSET_KEY", "")  # empty counts as unset
    with pytest.raises(ConfigError):
        resolve_models(["needs-key"], config)


def test_provider_rejecting_its_arguments_is_a_config_error(tmp_path):
    path = write_config(tmp_path / "llm.json", {"sim": {"class": "Simulated", "arguments": {"time_scale": -1}}})
    with pytest.raises(ConfigError) as exc:
        load_llm_config(path)["sim"].create()
    message = one_line(exc)
    assert "'sim'" in message and "llm_config.json" in message


def test_an_openai_compatible_entry_must_state_its_window(tmp_path):
    """Its server does not say it: without one, the first call would fail after the run began."""
    path = write_config(tmp_path / "llm.json", {
        "blind": {"class": "OpenAILike", "arguments": {"model": "m", "api_base": "http://127.0.0.1:9/v1"}},
        "top": {"class": "OpenAILike", "context_window": 8192, "arguments": {"model": "m"}},
        "in-arguments": {"class": "OpenAILike", "arguments": {"model": "m", "context_window": 8192}},
        "ollama": {"class": "Ollama", "arguments": {"model": "m"}},  # asks its server
    })
    config = load_llm_config(path)
    with pytest.raises(ConfigError) as exc:
        resolve_models(["top", "blind"], config)
    message = one_line(exc)
    assert "'blind'" in message and '"context_window": N' in message and "llm_config.json" in message
    assert len(resolve_models(["top", "in-arguments", "ollama"], config)) == 3


@pytest.mark.parametrize("cls, mode", [("OpenAILike", "ollama_format"), ("Ollama", "json_schema"),
                                       ("Ollama", "json_object_schema")])
def test_a_mode_the_class_cannot_send_is_refused(tmp_path, cls, mode):
    path = write_config(tmp_path / "llm.json", {"m": {"class": cls, "structured_output": mode,
                                                      "context_window": 8192, "arguments": {"model": "m"}}})
    with pytest.raises(ConfigError) as exc:
        load_llm_config(path)
    message = one_line(exc)
    assert f"'{mode}'" in message and cls in message
    assert all(f"{m}" in message for m in cfg.MODEL_CLASSES[cls].modes), "names what would work"


def test_a_class_whose_extra_is_missing_is_named_before_any_call(tmp_path, monkeypatch):
    monkeypatch.setitem(cfg.MODEL_CLASSES, "OpenAILike", dataclasses.replace(
        cfg.MODEL_CLASSES["OpenAILike"], module="planexe_missing_extra.openai_like"))
    path = write_config(tmp_path / "llm.json", {"m": {"class": "OpenAILike", "context_window": 8192,
                                                      "arguments": {"model": "m"}}})
    with pytest.raises(ConfigError) as exc:
        resolve_models(["m"], load_llm_config(path))
    assert "pip install 'planexe-pipeline[openai]'" in one_line(exc)


# -- which file --------------------------------------------------------------------------------
def test_explicit_path_beats_env_var_beats_shipped(tmp_path, monkeypatch):
    explicit = write_config(tmp_path / "explicit.json", {"from-explicit": {"class": "Simulated"}})
    from_env = write_config(tmp_path / "env.json", {"from-env": {"class": "Simulated"}})

    assert config_path() == default_config_path()
    assert "simulated" in load_llm_config()

    monkeypatch.setenv(CONFIG_ENV_VAR, str(from_env))
    assert config_path() == from_env
    assert list(load_llm_config()) == ["from-env"]

    assert config_path(str(explicit)) == explicit
    assert list(load_llm_config(explicit)) == ["from-explicit"]

    monkeypatch.delenv(CONFIG_ENV_VAR)
    assert list(load_llm_config(explicit)) == ["from-explicit"]
    assert default_config_path().is_file()


# -- redaction ---------------------------------------------------------------------------------
def test_redact_scrubs_substituted_secrets(tmp_path, monkeypatch):
    secret = "sk-redact-test-7f3a9c1e5b"
    monkeypatch.setenv("PLX_REDACT_KEY", secret)
    path = write_config(tmp_path / "llm.json", {
        "remote": {"class": "OpenAILike", "context_window": 8192,
                   "arguments": {"model": "m", "api_key": "${PLX_REDACT_KEY}"}},
    })
    text = f"401: Incorrect API key provided: {secret}. Key {secret} again"
    resolve_models(["remote"], load_llm_config(path))  # substitution registers the secret
    scrubbed = redact(text)
    assert secret not in scrubbed
    assert scrubbed == "401: Incorrect API key provided: ***. Key *** again"
    assert redact("nothing secret here") == "nothing secret here"


def test_redact_prefers_the_longest_secret(monkeypatch):
    monkeypatch.setattr(redaction, "_secrets", set())
    monkeypatch.setenv("PLX_SHORT", "abc")
    monkeypatch.setenv("PLX_LONG", "abcdef")
    cfg._substitute({"a": "${PLX_SHORT}", "b": "${PLX_LONG}"})
    assert redact("x abcdef y abc") == "x *** y ***"
