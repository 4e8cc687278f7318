"""`planexe-pipeline check-model`: one small structured call to one model entry, as a run makes it.

The call is a plan's call in miniature (StructuredCall: the entry's structured-output mode, its
output budget, its window), through the executor under the run's retry policy, on this entry
alone (no fallback): a model that a run gets through a rate limit or a timeout passes the check
too, and one that fails is said in one line, after the tries a run would make (a wrong model
name or a refused key is not tried again: it fails at once). The client is given an HTTP client
that keeps every response, so the rate-limit headers a provider sends are shown when it says
yes, not only when it says no.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import httpx
from pydantic import BaseModel, Field

from planexe_pipeline.errors import LLMCallFailed, PipelineError
from planexe_pipeline.llm.budget import ModelSettings, PromptTooLarge
from planexe_pipeline.llm.calls import StructuredCall
from planexe_pipeline.llm.config import ModelEntry, load_llm_config, resolve_models
from planexe_pipeline.llm.executor import LLMExecutor, NamedModel, OnModel
from planexe_pipeline.llm.failures import (ProviderFailure, ProviderHTTPError, ProviderRateLimited, ProviderTimeout,
                                           ProviderUnreachable, provider_failures)
from planexe_pipeline.llm.rate_limits import rate_limit_headers
from planexe_pipeline.llm.retry_policy import RetryPolicy
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.llm.structured import RefusedAnswer, SchemaValidationError, TokenUsage, TruncatedAnswer
from planexe_pipeline.redaction import redact

STAGE = "CheckModel"  # the call's stage, for the simulator's latency draw
SYSTEM_PROMPT = "You check that a connection works."
USER_PROMPT = "Answer with the word ready."


class ModelCheckFailed(PipelineError):
    """The entry is well formed, but its endpoint did not answer as a run needs."""

    exit_code = 1


class CheckAnswer(BaseModel):
    word: str = Field(description="The word asked for.", json_schema_extra=bounded(chars=20))


@dataclass(frozen=True)
class ModelCheck:
    """What one call to a model entry showed."""

    entry: ModelEntry
    mode: str
    latency_s: float
    usage: TokenUsage
    finish_reason: str | None
    rate_limit_headers: dict[str, str]
    retried: tuple[str, ...] = ()  # why each earlier attempt failed

    def lines(self) -> list[str]:
        counted = "estimated" if self.usage.estimated else "counted by the provider"
        cached = "" if self.usage.cached_input_tokens is None else f" ({self.usage.cached_input_tokens} cached)"
        headers = [f"rate-limit header {k}: {v}" for k, v in self.rate_limit_headers.items()]
        attempts = [f"attempts: {len(self.retried) + 1} (retried as a run retries: {'; '.join(self.retried)})"] \
            if self.retried else []
        return [f"model: {describe(self.entry)}",
                f"structured output: {self.mode}",
                *attempts,
                f"latency: {self.latency_s:.3f} s",
                f"tokens: {self.usage.input_tokens} in{cached}, {self.usage.output_tokens} out ({counted})",
                f"price: {self.entry.price().label()}",
                f"finish reason: {self.finish_reason or 'not given'}",
                *(headers or ["rate-limit headers: none sent"]),
                f"ok: model '{self.entry.name}' answered valid JSON for the schema"]


def describe(entry: ModelEntry) -> str:
    """The entry's class, model and address as written in the config (a ${VAR} stays a name)."""
    if entry.model_class.simulated:
        return f"{entry.name} (the offline simulator)"
    args = entry.arguments
    model = args.get("model") or args.get("model_name") or "?"
    address = args.get("api_base") or args.get("base_url") or "the client's default address"
    return f"{entry.name} ({entry.class_name}, {model} at {address})"


class _Responses:
    """An httpx response hook that keeps every response the client received."""

    def __init__(self) -> None:
        self.seen: list[httpx.Response] = []

    def __call__(self, response: httpx.Response) -> None:
        self.seen.append(response)

    def headers(self) -> dict[str, str]:
        return dict(self.seen[-1].headers) if self.seen else {}

    def latency_s(self) -> float | None:
        """Request sent to answer read, as the HTTP client timed the last request (the chat call)."""
        try:
            return self.seen[-1].elapsed.total_seconds() if self.seen else None
        except RuntimeError:  # the answer was never read to its end
            return None


def _watched_client(entry: ModelEntry, responses: _Responses) -> Any:
    """The entry's client, built as a run builds it, with an HTTP client that keeps the responses."""
    hooks = {"response": [responses]}
    if entry.model_class.http_client == "httpx":
        return entry.create(http_client=httpx.Client(event_hooks=hooks, follow_redirects=True))
    if entry.model_class.http_client == "ollama":
        plain = entry.create()
        # The client the class would build for itself, with the hook added (ollama passes extra
        # keywords to httpx).
        client = type(plain.client)(host=plain.base_url, timeout=plain.request_timeout,
                                    headers=plain.headers or {}, event_hooks=hooks)
        return entry.create(client=client)
    return entry.create()


def check_model(name: str, llm_config: str | None = None, policy: RetryPolicy = RetryPolicy(),
                on_retry: Callable[[str, float], None] | None = None) -> ModelCheck:
    """One structured call to model `name`, tried as a run tries it (`policy`); ConfigError (exit 2)
    for a bad entry, ModelCheckFailed (exit 1) for an endpoint that does not answer as a run needs.
    on_retry(why the attempt failed, seconds until the next) is told before each wait."""
    (entry,) = resolve_models([name], load_llm_config(llm_config))
    settings = entry.settings()
    responses = _Responses()
    llm = _watched_client(entry, responses)
    call = StructuredCall(CheckAnswer, SYSTEM_PROMPT, USER_PROMPT, stage=STAGE,
                          may_ask_again=lambda: policy.degenerate_retry_share > 0)
    failures: list[BaseException] = []
    last_attempt_s = [0.0]

    def attempt(client: Any, asked: ModelSettings, number: int):
        start = time.perf_counter()
        try:
            # Mapped here, not only by the executor, so the failures kept are of our kinds too.
            with provider_failures():
                return call.sync(client, asked, number)
        except Exception as exc:
            failures.append(exc)
            raise
        finally:
            last_attempt_s[0] = time.perf_counter() - start

    def wait(seconds: float) -> None:
        if on_retry is not None:
            on_retry(f"attempt {len(failures)} failed ({_short(entry, failures[-1])})", seconds)
        time.sleep(seconds)

    executor = LLMExecutor([NamedModel(entry.name, lambda: llm, settings)], stage=STAGE, policy=policy, sleep=wait)
    try:
        result = executor.run(OnModel(attempt), tokens=call.estimated_tokens())
    except LLMCallFailed:
        last = failures[-1] if failures else None
        if isinstance(last, PipelineError):
            raise last from None
        tries = f" (after {len(failures)} attempts, as a run makes them)" if len(failures) > 1 else ""
        raise ModelCheckFailed(_failure_line(entry, settings.structured_output, last, responses) + tries) from None
    latency = responses.latency_s()
    return ModelCheck(entry, settings.structured_output, last_attempt_s[0] if latency is None else latency,
                      result.usage, result.finish_reason, rate_limit_headers(responses.headers()),
                      tuple(_short(entry, exc) for exc in failures))


def _short(entry: ModelEntry, exc: BaseException) -> str:
    if isinstance(exc, ProviderHTTPError) and exc.status_code is not None:
        return f"HTTP {exc.status_code}"
    said = exc.message if isinstance(exc, ProviderFailure) else _first_line(exc)
    return f"{type(exc).__name__}: {_scrub(entry, said)[:80]}"


def _failure_line(entry: ModelEntry, mode: str, exc: BaseException, responses: _Responses) -> str:
    where = describe(entry)
    provider = exc if isinstance(exc, ProviderFailure) else None
    status = exc.status_code if isinstance(exc, ProviderHTTPError) else None
    headers = rate_limit_headers(responses.headers() or (provider.headers if provider else {}))
    said = _scrub(entry, provider.message if provider else _first_line(exc))
    if isinstance(exc, (TruncatedAnswer, RefusedAnswer, PromptTooLarge)):
        return f"{where}: {said}"  # each says what to change
    if isinstance(exc, SchemaValidationError):
        return (f"{where} answered, but not as structured output '{mode}' asks ({said}): try another "
                f"\"structured_output\" for it in llm_config.json")
    if isinstance(exc, ProviderTimeout):
        return f"{where} did not answer within its timeout: is the server busy or the address wrong? ({said})"
    if isinstance(exc, ProviderUnreachable):
        return f"{where} cannot be reached ({said}): start the server, or fix its address in llm_config.json"
    if status in (401, 403):
        keys = ", ".join(f"${v}" for v in entry.env_vars()) or "its \"api_key\""
        return f"{where} refused the key (HTTP {status}: {said}): check {keys}"
    if status == 404:
        return f"{where} answered HTTP 404 ({said}): check its \"model\" name and its address in llm_config.json"
    if isinstance(exc, ProviderRateLimited):
        told = "; ".join(f"{k}: {v}" for k, v in headers.items()) or "no rate-limit headers"
        return f"{where} is rate limited now (HTTP 429; {told}): try again later"
    if status is not None:
        return f"{where} answered HTTP {status} ({said}): the server's log says why; try again later"
    return f"{where} failed: {type(provider.cause if provider else exc).__name__}: {said}"


def _first_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return (text.splitlines() or [type(exc).__name__])[0][:200]


def _scrub(entry: ModelEntry, text: str) -> str:
    """No key in the line: those read from the environment (redact) and one written in the entry."""
    text = redact(text)
    key = entry.arguments.get("api_key")
    return text.replace(key, "***") if isinstance(key, str) and len(key) > 3 else text
