"""What one logical LLM call went through, model by model: the counts the retry policy stops on,
why each model failed, and the one error that ends the call when every model did.

The executor (llm/executor.py) decides what to try next; this module only keeps the tally and
words it. A provider's exception arrives here already mapped to one of our kinds (llm/failures.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from planexe_pipeline.errors import LLMCallFailed, ProviderQuotaError
from planexe_pipeline.llm.budget import ModelSettings
from planexe_pipeline.llm.failures import is_transient
from planexe_pipeline.llm.limiter import PatienceExhausted, ProviderQuotaExhausted
from planexe_pipeline.llm.rate_limits import rate_limit_of
from planexe_pipeline.llm.structured import DegenerateAnswer, SchemaValidationError
from planexe_pipeline.redaction import redact

# (input, output) tokens an attempt on a model of these settings may use at most: its budget hold.
Estimate = Callable[[ModelSettings], tuple[int, int]]


def describe(exc: BaseException) -> str:
    """An exception in one redacted line, for telemetry and the call's error."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return redact(f"{type(exc).__name__}: {text}")[:300]


class ModelAttempts:
    """Failure counts of one model within one logical call."""

    def __init__(self, tokens: int = 0, messages: tuple[str, ...] = (), estimate: Estimate | None = None) -> None:
        self.tokens = tokens
        self.messages = messages
        self.estimate = estimate
        self.transient = 0
        self.invalid = 0
        self.degenerate = 0
        self.rate_limited = 0
        self.waited_s = 0.0  # waiting the provider asked for, against the patience
        self.rate_limit_wait_s = 0.0  # what the last rate-limit answer asks of this caller
        self.last_wait_pending = False
        self.first_limited_at: float | None = None

    def patience_spent(self, now: float) -> float:
        """Waiting asked for, or time since the first rate-limit answer, whichever is more: a
        provider that refuses without asking to wait must not keep a call forever."""
        since = now - self.first_limited_at if self.first_limited_at is not None else 0.0
        return max(self.waited_s, since)

    def count(self, exc: BaseException) -> None:
        if isinstance(exc, DegenerateAnswer):  # not an invalid answer: its retry is its own
            self.degenerate += 1
        elif isinstance(exc, SchemaValidationError):
            self.invalid += 1
        elif rate_limit_of(exc) is not None:
            self.rate_limited += 1
            if self.first_limited_at is None:
                self.first_limited_at = time.time()
        elif is_transient(exc):
            self.transient += 1

    def summary(self, name: str, exc: BaseException) -> str:
        if isinstance(exc, PatienceExhausted):
            return f"{name}: rate limited for longer than the patience ({exc})"
        tries = self.transient + self.invalid + self.degenerate + self.rate_limited
        return f"{name}: {describe(exc)} after {max(tries, 1)} {'try' if tries <= 1 else 'tries'}"


class CallFailures:
    """Why each model of one logical call failed, and the last raw answer any of them gave."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.quotas: list[str] = []
        self.last_raw: str | None = None

    def add(self, name: str, attempts: ModelAttempts, exc: BaseException) -> None:
        self.last_raw = getattr(exc, "raw_text", None) or self.last_raw
        self.reasons.append(attempts.summary(name, exc))
        if isinstance(exc, ProviderQuotaExhausted):
            self.quotas.append(str(exc))

    def error(self, *, stage: str, item: int | None, run_dir: Path | None) -> LLMCallFailed:
        """The error that ends the call, the last raw answer saved in the run folder."""
        if self.quotas and len(self.quotas) == len(self.reasons):
            # The same words from every task, so the run ends with one line, not one per task.
            return ProviderQuotaError(f"{'; '.join(self.quotas)}: everything finished is kept; "
                                      "run again after that moment to resume, or pass another --llm")
        where = f"{stage} item {item}" if item is not None else stage
        saved = ""
        if self.last_raw is not None and run_dir is not None:
            name = f"llm_failures/{stage}-{f'item-{item:03d}' if item is not None else 'single'}.txt"
            path = run_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.last_raw, encoding="utf-8")
            # Named within the run folder: this line goes into its telemetry, which a copy of the
            # folder keeps.
            saved = f"; last raw answer saved to {name} in the run folder"
        return LLMCallFailed(f"{where}: every model failed ({'; '.join(self.reasons)}){saved}; "
                             f"fix the model or pass another with --llm, then run again to resume")
