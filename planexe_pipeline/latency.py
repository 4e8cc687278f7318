"""How long an LLM call of each stage takes: the latency model, in one place.

Two models, both taken from measured hosted models. By stage range: each call's seconds are
drawn from its stage's range (document drafting 10-30, expert criticism 15-45, expert discovery
20-40, duration estimation 10-25, level-3 decomposition 8-20, governance phases 20-30, every
other stage 10-30). By tokens: time to first token plus output tokens over the output rate, so
a long answer takes longer, as it does with hosted and local models alike.

A stage is known here by its declared name (the `stem` of its files), never by its class name,
so renaming a task moves no workload. The offline simulator draws its latencies from this
module, the scheduler's priorities and the progress display's estimates expect them.
"""

from __future__ import annotations

STAGE_RANGES: dict[str, tuple[float, float]] = {
    "draft_documents_to_find": (10.0, 30.0),
    "draft_documents_to_create": (10.0, 30.0),
    "expert_criticism": (15.0, 45.0),
    "find_experts": (20.0, 40.0),
    "estimate_durations": (10.0, 25.0),
    "wbs_level3": (8.0, 20.0),
}
GOVERNANCE_PREFIX = "governance_phase"
GOVERNANCE_RANGE = (20.0, 30.0)
DEFAULT_RANGE = (10.0, 30.0)

# The token model's defaults: what a hosted model of today does (seconds, tokens per second).
TIME_TO_FIRST_TOKEN_S = 1.0
OUTPUT_TOKENS_PER_S = 40.0


def stage_range(name: str) -> tuple[float, float]:
    """Seconds one call of the stage declared as `name` takes, at least and at most."""
    if name in STAGE_RANGES:
        return STAGE_RANGES[name]
    if name.startswith(GOVERNANCE_PREFIX):
        return GOVERNANCE_RANGE
    return DEFAULT_RANGE


def expected_seconds(name: str) -> float:
    low, high = stage_range(name)
    return (low + high) / 2


def token_seconds(output_tokens: int, *, time_to_first_token_s: float = TIME_TO_FIRST_TOKEN_S,
                  output_tokens_per_s: float = OUTPUT_TOKENS_PER_S) -> float:
    return time_to_first_token_s + output_tokens / output_tokens_per_s
