"""What the standard workload costs: the share of its input a provider's prompt cache serves, and
its price at the list prices of named models (genai-prices), on one model for every call and on
the shipped routes (llm_config.routes.json), from the tokens of a bench run's own telemetry."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from planexe_pipeline.llm.config import load_llm_config, load_routes
from planexe_pipeline.llm.pricing import TABLE_NAME, Pricing
from planexe_pipeline.routes import route_of
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import LLMCallEvent

# One model for every call, at these list prices: a small, a strong and another vendor's strong model.
PRICED_MODELS = (("openai", "gpt-4o-mini"), ("openai", "gpt-4.1"), ("anthropic", "claude-sonnet-4-5"))
ROUTES_FILE = "llm_config.routes.json"
ROUTES_DEFAULT = "openai-gpt-4o-mini"  # the --llm its comment names: every call no route names


def routes_path() -> Path:
    return Path(str(resources.files("planexe_pipeline").joinpath(ROUTES_FILE)))


def _cost(calls: list[LLMCallEvent], pricing_of_call) -> float:
    return sum(pricing_of_call(call).cost(input_tokens=call.input_tokens or 0, output_tokens=call.output_tokens or 0,
                                          cached_input_tokens=call.cached_input_tokens or 0) or 0.0
               for call in calls)


def workload_cost(run_dir: str | Path) -> dict | None:
    """None for a run without a call that counted tokens."""
    calls = [call for call in read_events(run_dir, LLMCallEvent) if call.input_tokens or call.output_tokens]
    if not calls:
        return None
    input_tokens = sum(call.input_tokens or 0 for call in calls)
    cached = sum(call.cached_input_tokens or 0 for call in calls)
    single = {f"{provider} {model}": round(_cost(calls, lambda _, p=Pricing("table", provider=provider, model=model): p), 6)
              for provider, model in PRICED_MODELS}
    config, routes = load_llm_config(routes_path()), load_routes(routes_path())
    prices = {name: entry.price() for name, entry in config.items()}
    routed = _cost(calls, lambda call: prices[route_of(call.task_family, routes, [ROUTES_DEFAULT])[1][0]])
    return {"input_tokens": input_tokens, "cached_input_tokens": cached, "output_tokens": sum(c.output_tokens or 0 for c in calls),
            "cached_share": round(cached / input_tokens, 4), "table": TABLE_NAME,
            "single_model_usd": single, "routes_usd": round(routed, 6),
            "routes": {key: list(names) for key, names in routes.items()}, "routes_default": ROUTES_DEFAULT}


def format_cost(cost: dict) -> str:
    width = max(len(name) for name in cost["single_model_usd"])
    lines = [f"prompt cache: {cost['cached_share']:.1%} of the {cost['input_tokens']} input tokens served from "
             f"the provider's cache ({cost['cached_input_tokens']}); {cost['output_tokens']} output tokens",
             f"cost of the standard workload at {cost['table']}'s list prices, one model for every call:"]
    lines += [f"  {name:<{width}}  ${usd:.4f}" for name, usd in cost["single_model_usd"].items()]
    routed = ", ".join(f"{key} on {names[0]}" for key, names in cost["routes"].items())
    lines.append(f"  routes of {ROUTES_FILE} ({routed}; every other call on {cost['routes_default']}): "
                 f"${cost['routes_usd']:.4f}")
    return "\n".join(lines)
