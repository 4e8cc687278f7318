"""Which stage and item the current LLM attempt belongs to.

The executor sets this around every attempt; the simulator reads it to draw its latency and
faults from (seed, stage, item), as a hosted model's latency depends on the work asked of it.
A context variable keeps it out of the provider kwargs, which a hosted API would reject. It
names the call, nothing more: how a model is asked is the run's settings (run_settings.py), handed
to each call by the executor.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class CallContext:
    stage: str = "unknown"
    item: int | None = None
    attempt: int = 1
    name: str | None = None  # the stage's declared name (its files' stem): what latencies are keyed by
    run_dir: str | None = None  # the run it belongs to: the simulated provider's prompt cache is the run's


current_call: ContextVar[CallContext] = ContextVar("planexe_current_call", default=CallContext())
