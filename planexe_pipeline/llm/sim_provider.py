"""The limits a hosted endpoint enforces, for the simulator and the loopback test server.

A provider admits so many requests in flight, so many requests and tokens per (sliding)
minute, and so many requests a day; beyond that it answers 429 with headers saying when to
come back, in the form the caller chose (each form a real provider uses). The state is a plain
dict, so the simulator can keep it in a file shared by every worker process of a run (the
provider is one, whoever calls it) and the test server in memory. It also counts what a
provider would see: requests, refusals, and the most requests in flight, overall and after
the first refusal.

It also caches prompt prefixes as hosted providers do (PrefixCache): the prompt laid out schema
first, then the messages in order; a prefix of whole blocks it has seen before is served from the
cache once it is long enough, and reported as cached input tokens.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any, Iterable

from planexe_pipeline.llm.shared_state import holder, prune
from planexe_pipeline.llm.sim_content import requested_schema

RESET_HEADERS = ("retry-after", "retry-after-ms", "x-ratelimit-reset-requests", "x-ratelimit-reset")
LEASE_S = 900.0


class ProviderRefusal(Exception):
    """A 429 with the headers a provider sends along."""

    status_code = 429

    def __init__(self, reason: str, headers: dict[str, str]):
        super().__init__(f"simulated provider limit (429): {reason}")
        self.headers = headers


@dataclass(frozen=True)
class ProviderBudget:
    max_concurrent: int = 0  # 0: no limit
    requests_per_minute: float = 0
    tokens_per_minute: float = 0
    requests_per_day: int = 0
    minute_s: float = 60.0
    quota_reset_s: float = 6 * 3600.0  # a daily quota resets hours away, whatever the time scale
    busy_retry_after_s: float = 1.0  # what a refusal for too many in flight asks
    reset_header: str = "retry-after"

    @property
    def enforced(self) -> bool:
        return bool(self.max_concurrent or self.requests_per_minute or self.tokens_per_minute
                    or self.requests_per_day)

    def admit(self, st: dict[str, Any], now: float, tokens: int) -> str:
        """Admit one request (a lease id to finish later) or raise ProviderRefusal."""
        st["in_flight"] = prune(st.get("in_flight", {}), now)
        st["requests"] = [t for t in st.get("requests", []) if t > now - self.minute_s]
        st["tokens"] = [(t, n) for t, n in st.get("tokens", []) if t > now - self.minute_s]
        day = st.setdefault("day", {"start": now, "count": 0})
        if now - day["start"] >= self.quota_reset_s:
            day.update(start=now, count=0)
        arriving = len(st["in_flight"]) + 1
        st["peak_in_flight"] = max(st.get("peak_in_flight", 0), arriving)
        if st.get("first_refusal") is not None:
            st["peak_after_refusal"] = max(st.get("peak_after_refusal", 0), arriving)
        st["received"] = st.get("received", 0) + 1
        refusal = self._refusal(st, now, tokens, day)
        if refusal is not None:
            st["refused"] = st.get("refused", 0) + 1
            if st.get("first_refusal") is None:
                st["first_refusal"] = now
            raise refusal
        lease = uuid.uuid4().hex
        st["in_flight"][lease] = {**holder(), "expires": now + LEASE_S}
        st["requests"].append(now)
        st["tokens"].append((now, tokens))
        day["count"] += 1
        return lease

    def finish(self, st: dict[str, Any], lease: str) -> None:
        st.get("in_flight", {}).pop(lease, None)

    def _refusal(self, st: dict[str, Any], now: float, tokens: int, day: dict[str, Any]) -> ProviderRefusal | None:
        if self.requests_per_day and day["count"] >= self.requests_per_day:
            reset = day["start"] + self.quota_reset_s
            return ProviderRefusal("daily request quota used up", {
                **self._headers(reset - now, now, "requests"), "x-ratelimit-remaining-requests": "0"})
        if self.max_concurrent and len(st["in_flight"]) >= self.max_concurrent:
            return ProviderRefusal(f"more than {self.max_concurrent} requests in flight",
                                   self._headers(self.busy_retry_after_s, now, "requests"))
        if self.requests_per_minute and len(st["requests"]) + 1 > self.requests_per_minute:
            reset = st["requests"][0] + self.minute_s
            return ProviderRefusal(f"more than {self.requests_per_minute:g} requests a minute", {
                **self._headers(reset - now, now, "requests"), "x-ratelimit-remaining-requests": "0"})
        used = sum(n for _, n in st["tokens"])
        if self.tokens_per_minute and st["tokens"] and used + tokens > self.tokens_per_minute:
            reset = st["tokens"][0][0] + self.minute_s
            return ProviderRefusal(f"more than {self.tokens_per_minute:g} tokens a minute", {
                **self._headers(reset - now, now, "tokens"), "x-ratelimit-remaining-tokens": "0"})
        return None

    def _headers(self, wait_s: float, now: float, budget: str) -> dict[str, str]:
        wait_s = max(0.0, wait_s)
        if self.reset_header == "retry-after-ms":
            return {"retry-after-ms": str(int(round(wait_s * 1000)))}
        if self.reset_header == "x-ratelimit-reset-requests":
            return {f"x-ratelimit-reset-{budget}": openai_duration(wait_s)}
        if self.reset_header == "x-ratelimit-reset":
            return {"x-ratelimit-reset": str(int((now + wait_s) * 1000))}  # epoch ms, as OpenRouter
        return {"retry-after": f"{wait_s:.3f}"}


def openai_duration(seconds: float) -> str:
    """OpenAI's reset form: `20ms`, `1s`, `6m0s`, `6h0m0s`."""
    if seconds < 1:
        return f"{int(round(seconds * 1000))}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{int(hours)}h{int(minutes)}m{secs:g}s"
    if minutes:
        return f"{int(minutes)}m{secs:g}s"
    return f"{round(secs, 3):g}s"


# -- the prompt cache --------------------------------------------------------------------------
# OpenAI's: prompts of 1,024 tokens or more, cached in steps of 128 tokens; at four characters a
# token, 4,096 and 512 characters.
CACHE_MIN_CHARS = 4096
CACHE_BLOCK_CHARS = 512
CHARS_PER_TOKEN = 4


def provider_prompt(request: dict[str, Any], messages: Iterable[str]) -> str:
    """The prompt as a provider lays it out for its cache: the schema the request carries (its
    response format, format or tool) first, then each message in order."""
    schema = requested_schema(request)
    head = json.dumps(schema, sort_keys=True, ensure_ascii=False) if schema else ""
    return head + "".join(f"\n{text}" for text in messages)


@dataclass(frozen=True)
class PrefixCache:
    """A provider's prompt cache over a set of seen prefixes (a plain set, or a list in a shared
    state file): each prefix of whole blocks is known by a hash chained over its blocks.

    Which call finds a prefix cached depends on which arrived first; the total cached over the
    calls does not: every block of the prompts' prefix tree is paid once, by whichever call
    reaches it first, and served from the cache to every other."""

    min_chars: int = CACHE_MIN_CHARS
    block_chars: int = CACHE_BLOCK_CHARS

    def serve(self, seen: set[str], prompt: str) -> int:
        """Characters of `prompt` served from the cache; its blocks are remembered for later calls."""
        chain = hashlib.blake2b(digest_size=8)
        hits, missed = 0, False
        for start in range(0, len(prompt) - self.block_chars + 1, self.block_chars):
            chain.update(prompt[start:start + self.block_chars].encode("utf-8"))
            key = chain.hexdigest()
            if not missed and key in seen:
                hits += 1
            else:
                missed = True
                seen.add(key)
        cached = hits * self.block_chars
        return cached if cached >= self.min_chars else 0

    def serve_shared(self, state: dict[str, Any], prompt: str) -> int:
        """serve() over a shared state file's dict (llm/shared_state.py)."""
        seen = set(state.get("prefixes", ()))
        cached = self.serve(seen, prompt)
        state["prefixes"] = sorted(seen)
        return cached
