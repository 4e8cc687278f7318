"""`planexe-pipeline check-model`: one small structured call to one model entry, as a run makes it.

The call is a plan's call in miniature (StructuredCall: the entry's structured-output mode, its
output budget, its window), sent once, without the executor's retries and fallbacks, so that a
dead endpoint, a wrong model name or a refused key is said in one line at once. The client is
given an HTTP client that keeps every response, so the rate-limit headers a provider sends are
shown when it says yes, not only when it says no.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, Field

from planexe_pipeline.errors import PipelineError
from planexe_pipeline.llm.budget import PromptTooLarge
from planexe_pipeline.llm.calls import StructuredCall
from planexe_pipeline.llm.config import ModelEntry, load_llm_config, resolve_models
from planexe_pipeline.llm.context import CallContext, current_call
from planexe_pipeline.llm.failures import (ProviderFailure, ProviderHTTPError, ProviderRateLimited, ProviderTimeout,
                                           ProviderUnreachable, provider_failures)
from planexe_pipeline.llm.rate_limits import rate_limit_headers
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

    def lines(self) -> list[str]:
        counted = "estimated" if self.usage.estimated else "counted by the provider"
        headers = [f"rate-limit header {k}: {v}" for k, v in self.rate_limit_headers.items()]
        return [f"model: {describe(self.entry)}",
                f"structured output: {self.mode}",
                f"latency: {self.latency_s:.3f} s",
                f"tokens: {self.usage.input_tokens} in, {self.usage.output_tokens} out ({counted})",
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


def check_model(name: str, llm_config: str | None = None) -> ModelCheck:
    """One structured call to model `name`; ConfigError (exit 2) for a bad entry, ModelCheckFailed
    (exit 1) for an endpoint that does not answer as a run needs."""
    (entry,) = resolve_models([name], load_llm_config(llm_config))
    settings = entry.settings()
    responses = _Responses()
    llm = _watched_client(entry, responses)
    call = StructuredCall(CheckAnswer, SYSTEM_PROMPT, USER_PROMPT, stage=STAGE)
    token = current_call.set(CallContext(STAGE, None, 1, settings))
    start = time.perf_counter()
    try:
        with provider_failures():
            result = call.sync(llm)
    except PipelineError:
        raise
    except Exception as exc:
        raise ModelCheckFailed(_failure_line(entry, settings.structured_output, exc, responses)) from None
    finally:
        current_call.reset(token)
    wall_s = time.perf_counter() - start
    latency = responses.latency_s()
    return ModelCheck(entry, settings.structured_output, wall_s if latency is None else latency, result.usage,
                      result.finish_reason, rate_limit_headers(responses.headers()))


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
