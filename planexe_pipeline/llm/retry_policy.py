"""How a call is tried again: backoff with jitter, what a provider asked, and the budgets.

Its knobs are `[retry_policy]` of luigi.cfg (settings.py reads them into one of these); the
executor applies it to every call.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable

from planexe_pipeline.llm.rate_limits import rate_limit_of
from planexe_pipeline.llm.structured import SchemaValidationError


def retry_after_of(exc: BaseException, now: Callable[[], float] = time.time) -> float | None:
    """Seconds the provider asked us to wait (any reset hint of llm/rate_limits.py), if any."""
    answer = rate_limit_of(exc, now) if exc is not None else None
    return answer.asked_s if answer is not None else None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts_per_model: int = 5
    initial_wait_s: float = 1.0
    max_wait_s: float = 30.0
    jitter_s: float = 1.0
    validation_retries: int = 1
    patience_s: float = 600.0  # waiting for a provider's rate limit, per call and model
    # A degenerate answer is asked again while the run's retries stay within this share of its
    # attempts (the first always): a small model that loops on most calls would double the run.
    degenerate_retry_share: float = 0.1

    def wait_s(self, exc: BaseException | None, failures: int, rng: random.Random) -> float:
        if isinstance(exc, SchemaValidationError):
            return 0.0
        asked = retry_after_of(exc) if exc is not None else None
        if asked is not None:
            # What the provider asked, spread a little so that callers it refused together do
            # not all come back at the same instant. A rate limit is not capped: coming back
            # before its reset only earns another refusal.
            spread = rng.uniform(0, min(self.jitter_s, 0.25 * asked))
            return asked + spread if rate_limit_of(exc) is not None else min(asked, self.max_wait_s)
        backoff = self.initial_wait_s * (2 ** (failures - 1))
        return min(self.max_wait_s, backoff + rng.uniform(0, self.jitter_s))
