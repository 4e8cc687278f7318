"""What an LLM call costs, and where that figure comes from.

A call's cost has one of four sources, and every figure says which:

- `provider`: the provider's own answer named it (OpenRouter's `usage.cost`): preferred when given;
- `table`: genai-prices' table (its own bundled data, never fetched at run time) for the entry's
  provider and model, found from the entry's `api_base` and `model`, or named by its `pricing`
  as {"provider": ..., "model": ...} (a proxy, or the simulator priced as a hosted model);
- `entry`: the entry's `pricing` rates, USD per million tokens, which stand over the table;
- `unknown`: none of these; the cost is then no figure at all, never a guess.

Cached input tokens are priced at the cached rate (the table's, or the entry's
`cached_input_per_million`, else its input rate); reasoning tokens are part of the output, as
providers bill them.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from typing import Any, Mapping

import genai_prices
from genai_prices import Usage as TableUsage

from planexe_pipeline.errors import ConfigError

SOURCES = ("provider", "table", "entry", "unknown")
ENTRY_RATES = ("input_per_million", "output_per_million", "cached_input_per_million")
TABLE_NAME = f"genai-prices {genai_prices.__version__}"


@dataclass(frozen=True)
class Pricing:
    """How one model entry's calls are priced."""

    source: str  # "table", "entry" or "unknown"
    input_per_million: float | None = None  # entry rates
    output_per_million: float | None = None
    cached_input_per_million: float | None = None
    provider: str | None = None  # the table's provider id and model ref
    model: str | None = None
    why_unknown: str = ""

    @property
    def known(self) -> bool:
        return self.source != "unknown"

    def cost(self, *, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0,
             at: datetime.datetime | None = None) -> float | None:
        """USD for these tokens (input counts the cached ones too, as providers report it), or None."""
        cached = max(0, min(cached_input_tokens or 0, input_tokens))
        if self.source == "entry":
            cached_rate = self.cached_input_per_million
            cached_rate = self.input_per_million if cached_rate is None else cached_rate
            return ((input_tokens - cached) * self.input_per_million + cached * cached_rate
                    + output_tokens * self.output_per_million) / 1e6
        if self.source == "table":
            usage = TableUsage(input_tokens=input_tokens, cache_read_tokens=cached, output_tokens=output_tokens)
            return float(genai_prices.calc_price(usage, self.model, provider_id=self.provider,
                                                 genai_request_timestamp=at).total_price)
        return None

    def label(self) -> str:
        if self.source == "entry":
            cached = "" if self.cached_input_per_million is None else f", ${self.cached_input_per_million:g} cached"
            return (f"the entry's prices: ${self.input_per_million:g} in{cached}, ${self.output_per_million:g} out "
                    "per million tokens")
        if self.source == "table":
            return f"{self.provider} {self.model} at {TABLE_NAME}'s list prices"
        return f"no price ({self.why_unknown})"


def call_cost(pricing: Pricing, usage: Any, at: datetime.datetime | None = None) -> tuple[float | None, str | None]:
    """(USD, source) of one attempt from the usage its answer reported: (None, None) when no
    answer came back (nothing to bill), (None, "unknown") when it came back unpriced."""
    if usage is None:
        return None, None
    reported = getattr(usage, "cost_usd", None)
    if reported is not None:
        return float(reported), "provider"
    cost = pricing.cost(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                        cached_input_tokens=getattr(usage, "cached_input_tokens", None) or 0, at=at)
    return (None, "unknown") if cost is None else (cost, pricing.source)


def pricing_of(*, name: str, spec: Mapping[str, Any] | None, model: str | None, api_base: str | None,
               simulated: bool, source: str = "llm_config.json") -> Pricing:
    """The pricing of a model entry: its `pricing` rates, else the table's for the provider and
    model it names (or its api_base and model argument), else unknown."""
    if spec is not None and not isinstance(spec, Mapping):
        raise ConfigError(f"model '{name}' in {source}: \"pricing\" must be an object: "
                          f"{{\"input_per_million\": X, \"output_per_million\": Y}} or {{\"provider\": P, \"model\": M}}")
    spec = spec or {}
    if any(key in spec for key in ENTRY_RATES):
        return _entry_rates(name, spec, source)
    if spec.get("model"):
        found = _table_lookup(str(spec["model"]), provider_id=spec.get("provider"), api_url=None)
        if found is None:
            raise ConfigError(f"model '{name}' in {source}: {TABLE_NAME} has no price for model "
                              f"'{spec['model']}' of provider '{spec.get('provider')}': fix the names, or give "
                              "\"input_per_million\" and \"output_per_million\"")
        return Pricing("table", provider=found[0], model=found[1])
    if simulated:
        return Pricing("unknown", why_unknown="the offline simulator: give its entry a \"pricing\" to price it")
    if not model or not api_base:
        return Pricing("unknown", why_unknown="the entry names no model and api_base the table could know")
    found = _table_lookup(model, provider_id=None, api_url=api_base)
    if found is None:
        return Pricing("unknown", why_unknown=f"{TABLE_NAME} does not know model '{model}' at {api_base}; "
                                              "give the entry a \"pricing\"")
    return Pricing("table", provider=found[0], model=found[1])


def _entry_rates(name: str, spec: Mapping[str, Any], source: str) -> Pricing:
    rates = {}
    for key in ENTRY_RATES:
        value = spec.get(key)
        if value is None and key != "cached_input_per_million":
            raise ConfigError(f"model '{name}' in {source}: \"pricing\" needs \"{key}\" (USD per million tokens)")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise ConfigError(f"model '{name}' in {source}: pricing \"{key}\" must be a number of USD per "
                              "million tokens, 0 or more")
        rates[key] = None if value is None else float(value)
    return Pricing("entry", **rates)


@functools.lru_cache(maxsize=256)
def _table_lookup(model: str, *, provider_id: str | None, api_url: str | None) -> tuple[str, str] | None:
    """(provider id, model ref) the table prices this model under, or None."""
    try:
        provider, info = genai_prices.data_snapshot.get_snapshot().find_provider_model(model, None, provider_id,
                                                                                        api_url)
    except LookupError:
        return None
    return provider.id, info.id
