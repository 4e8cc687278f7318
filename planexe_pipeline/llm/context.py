"""Which stage and item the current LLM attempt belongs to.

The executor sets this around every attempt; the simulator reads it to draw its latency and
faults from (seed, stage, item), as a hosted model's latency depends on the work asked of it.
A context variable keeps it out of the provider kwargs, which a hosted API would reject.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class CallContext:
    stage: str = "unknown"
    item: int | None = None
    attempt: int = 1


current_call: ContextVar[CallContext] = ContextVar("planexe_current_call", default=CallContext())
