"""Prices: the genai-prices table for known provider/model pairs (offline), an entry's own rates
over it, and "unknown" (no figure) for a model nobody prices."""

from __future__ import annotations

import json
import socket

import pytest

from planexe_pipeline.errors import ConfigError
from planexe_pipeline.llm.config import load_llm_config
from planexe_pipeline.llm.pricing import call_cost
from planexe_pipeline.llm.structured import TokenUsage


def entries(tmp_path, models: dict) -> dict:
    path = tmp_path / "llm_config.json"
    path.write_text(json.dumps({"models": models}))
    return load_llm_config(path)


def openai_entry(**extra) -> dict:
    return {"class": "OpenAILike", "arguments": {"model": "gpt-4o-mini", "api_base": "https://api.openai.com/v1",
                                                 "api_key": "k", "context_window": 128000}, **extra}


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt fails the test: prices come from the package's own data."""
    def refuse(*args, **kwargs):
        raise AssertionError("a price lookup touched the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_a_known_provider_and_model_is_priced_from_the_table_offline(tmp_path, no_network):
    pricing = entries(tmp_path, {"gpt": openai_entry()})["gpt"].price()
    assert (pricing.source, pricing.provider, pricing.model) == ("table", "openai", "gpt-4o-mini")
    usage = TokenUsage(1_000_000, 1_000_000, estimated=False, cached_input_tokens=400_000)
    cost, source = call_cost(pricing, usage)
    # GPT-4o mini's list prices: $0.15 input, $0.075 cached input, $0.60 output per million tokens.
    assert source == "table"
    assert cost == pytest.approx(0.6 * 0.15 + 0.4 * 0.075 + 0.60)


def test_an_entrys_pricing_stands_over_the_table(tmp_path):
    config = entries(tmp_path, {"gpt": openai_entry(pricing={"input_per_million": 1.0, "output_per_million": 2.0})})
    pricing = config["gpt"].price()
    assert pricing.source == "entry"
    cost, source = call_cost(pricing, TokenUsage(1000, 500, estimated=False, cached_input_tokens=200))
    # No cached rate given: cached input at the input rate, never at a rate made up.
    assert (cost, source) == (pytest.approx((1000 * 1.0 + 500 * 2.0) / 1e6), "entry")


def test_an_entry_may_name_the_table_model_it_is_priced_as(tmp_path):
    config = entries(tmp_path, {"sim": {"class": "Simulated", "arguments": {},
                                        "pricing": {"provider": "anthropic", "model": "claude-3-5-haiku-latest"}}})
    pricing = config["sim"].price()
    assert (pricing.source, pricing.provider) == ("table", "anthropic")
    assert call_cost(pricing, TokenUsage(1_000_000, 0, estimated=False))[0] == pytest.approx(0.8)


def test_a_model_unknown_to_the_table_costs_unknown_not_a_made_up_figure(tmp_path):
    config = entries(tmp_path, {
        "local": {"class": "OpenAILike", "arguments": {"model": "my-own-finetune", "api_base": "http://127.0.0.1:8000/v1",
                                                       "api_key": "k", "context_window": 8192}},
        "sim": {"class": "Simulated", "arguments": {}}})
    for name in ("local", "sim"):
        pricing = config[name].price()
        assert pricing.source == "unknown" and not pricing.known
        assert call_cost(pricing, TokenUsage(1000, 100, estimated=False)) == (None, "unknown")
    # A call that got no answer was not billed: no cost, and no source either.
    assert call_cost(config["sim"].price(), None) == (None, None)


@pytest.mark.parametrize("pricing, words", [
    ({"input_per_million": 1.0}, "output_per_million"),
    ({"input_per_million": -1, "output_per_million": 1}, "0 or more"),
    ({"provider": "openai", "model": "no-such-model-anywhere"}, "has no price"),
    ("cheap", "must be an object"),
])
def test_a_pricing_that_cannot_be_read_fails_when_the_config_is_read(tmp_path, pricing, words):
    with pytest.raises(ConfigError, match=words):
        entries(tmp_path, {"gpt": openai_entry(pricing=pricing)})
