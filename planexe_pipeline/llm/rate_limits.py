"""What a provider's rate-limit answer says: when to come back, and whether that is soon.

Providers say it in many ways: `Retry-After` (seconds or an HTTP date), `retry-after-ms`,
OpenAI's `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` (`1s`, `6m0s`, `20ms`),
`X-RateLimit-Reset` as epoch seconds or milliseconds (OpenRouter, without Retry-After), with
`x-ratelimit-remaining-*: 0` naming the budget that ran out. All of it becomes one moment,
"come back at", so the executor and the shared limiter deal with one number.
"""

from __future__ import annotations

import datetime
import email.utils
import re
import time
from dataclasses import dataclass
from typing import Callable, Mapping

from planexe_pipeline.llm.failures import ProviderHTTPError, ProviderRateLimited

# 503 is "overloaded" when it says when to come back; without a hint it is an ordinary error.
_BACKPRESSURE_STATUS = frozenset({429, 503})
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
# Epoch values above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_EPOCH_MS_ABOVE = 1e11
# X-RateLimit-Reset values below this are seconds from now, not an epoch (1e9 s is 2001).
_EPOCH_S_ABOVE = 1e9
# OpenAI's answer when the account has no credit left: no reset will clear it.
_NO_CREDIT_CODES = ("insufficient_quota", "billing_hard_limit_reached")


@dataclass(frozen=True)
class RateLimitAnswer:
    """A provider's "not now": come back at `reset_at` (epoch seconds), or None if it did not say."""

    reset_at: float | None
    source: str  # the header (or attribute) the moment came from, for the error line
    no_credit: bool = False
    asked_s: float | None = None  # reset_at as seconds from the moment the answer was read

    def wait_s(self, now: float) -> float | None:
        return None if self.reset_at is None else max(0.0, self.reset_at - now)

    def is_quota(self, now: float, patience_s: float) -> bool:
        """A limit that will not clear within the patience: a daily quota, an empty account."""
        return self.no_credit or (self.reset_at is not None and self.reset_at - now > patience_s)


def parse_duration(text: str) -> float | None:
    """OpenAI's reset form (`1s`, `6m0s`, `20ms`, `1h2m3.5s`) or plain seconds; None if neither."""
    text = text.strip().lower()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def parse_http_date(text: str) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # "-0000": a date in UTC, not in the local zone
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


def parse_reset_epoch(text: str, now: float) -> float | None:
    """X-RateLimit-Reset: epoch milliseconds, epoch seconds, or (small values) seconds from now."""
    try:
        value = float(text)
    except ValueError:
        return None
    if value >= _EPOCH_MS_ABOVE:
        return value / 1000
    if value >= _EPOCH_S_ABOVE:
        return value
    return now + max(0.0, value)


def rate_limit_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers that speak of rate limits (`x-ratelimit-*`, the IETF draft's `ratelimit-*`,
    `retry-after`, `retry-after-ms`), lower-cased, in the order given."""
    return {k.lower(): v for k, v in headers.items()
            if "ratelimit" in k.lower().replace("-", "") or k.lower().startswith("retry-after")}


def reset_at_of(headers: Mapping[str, str], now: float) -> tuple[float | None, str]:
    """The moment the headers say to come back, and which header said it."""
    if "retry-after-ms" in headers:
        try:
            return now + max(0.0, float(headers["retry-after-ms"]) / 1000), "retry-after-ms"
        except ValueError:
            pass
    if "retry-after" in headers:
        raw = headers["retry-after"]
        seconds = parse_duration(raw)
        if seconds is not None:
            return now + seconds, "retry-after"
        moment = parse_http_date(raw)
        if moment is not None:
            return max(now, moment), "retry-after"
    # OpenAI: one reset per budget; the exhausted budget (remaining 0) is the one that matters.
    resets: dict[str, float] = {}
    for budget in ("requests", "tokens"):
        seconds = parse_duration(headers.get(f"x-ratelimit-reset-{budget}", "x"))
        if seconds is not None:
            resets[f"x-ratelimit-reset-{budget}"] = now + seconds
    exhausted = {k: v for k, v in resets.items() if headers.get(k.replace("reset", "remaining"), "").strip() == "0"}
    if exhausted or resets:
        source, moment = max((exhausted or resets).items(), key=lambda kv: kv[1])
        return moment, source
    if "x-ratelimit-reset" in headers:
        moment = parse_reset_epoch(headers["x-ratelimit-reset"], now)
        if moment is not None:
            return max(now, moment), "x-ratelimit-reset"
    return None, ""


def rate_limit_of(exc: BaseException, now: Callable[[], float] = time.time) -> RateLimitAnswer | None:
    """The rate-limit answer a provider failure (llm/failures.py) carries, or None if it is not one.

    A 429 always is one (a hint or not); a 503 only when it says when to come back."""
    if not isinstance(exc, ProviderHTTPError):
        return None
    limited = isinstance(exc, ProviderRateLimited)
    if exc.status_code not in _BACKPRESSURE_STATUS and not limited:
        return None
    t = now()
    no_credit = exc.error_code in _NO_CREDIT_CODES
    if exc.retry_after is not None:  # clients (and the simulator) that parsed it already
        return RateLimitAnswer(t + exc.retry_after, "retry-after", no_credit, exc.retry_after)
    reset_at, source = reset_at_of(exc.headers, t)
    if reset_at is None and not limited and not no_credit:
        return None
    return RateLimitAnswer(reset_at, source, no_credit, None if reset_at is None else round(max(0.0, reset_at - t), 6))


def format_moment(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
