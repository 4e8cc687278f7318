"""The offline simulator: a real llama-index LLM that needs no network and no key.

It answers chat calls with JSON valid for the schema in the prompt (see sim_content), after a
latency drawn from the measured ranges of hosted models, and can inject the faults hosted
models show (rate limits with Retry-After, malformed JSON, timeouts). Content depends only on
(seed, messages); latency and faults on (seed, stage, item, attempt). So a run is repeatable,
and a retried call gives the same answer a clean call would.

Each answer reports its usage as an OpenAI-compatible provider does, the prompt tokens served
from the provider's prompt cache included: the run's prompts meet one cache (sim_provider.
PrefixCache), kept in the run folder so that every process of the run shares it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Literal, Sequence

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from pydantic import Field

from planexe_pipeline.latency import OUTPUT_TOKENS_PER_S, TIME_TO_FIRST_TOKEN_S, stage_range, token_seconds
from planexe_pipeline.llm.context import current_call
from planexe_pipeline.llm.shared_state import locked_json
from planexe_pipeline.llm.sim_content import judged_unusable, requested_schema, write_answer
from planexe_pipeline.llm.sim_provider import (CHARS_PER_TOKEN, RESET_HEADERS, PrefixCache, ProviderBudget,
                                                ProviderRefusal, provider_prompt)
from planexe_pipeline.llm.structured import estimate_tokens
from planexe_pipeline.telemetry.event_log import telemetry_dir

# Items of each width-driven list (a field marked schema_rules.WIDTH_KEY) on the standard workload:
# what the simulator writes unless told other widths. The bench's workload is these.
STANDARD_WIDTHS: dict[str, int] = {
    "documents_to_find": 8,
    "documents_to_create": 8,
    "experts_per_query": 4,
    "team_members": 6,
    "wbs_phases": 4,
    "wbs_tasks_per_phase": 6,
}
_SCHEMA_MARKER = re.compile(r"Here's a JSON schema to follow:\s*\n(\{.*\})\s*\n", re.DOTALL)


def _rng(*parts: Any) -> random.Random:
    digest = hashlib.sha256(repr(parts).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class SimulatedRateLimitError(Exception):
    """Stands for an HTTP 429 with a Retry-After header."""

    status_code = 429

    def __init__(self, retry_after: float):
        super().__init__(f"simulated rate limit (429), retry after {retry_after:.2f}s")
        self.retry_after = retry_after


class SimulatedTimeoutError(TimeoutError):
    """Stands for a request cut by the client's timeout."""


class SimulatedLLM(CustomLLM):
    seed: int = Field(default=42, description="Seed of every draw: content, latency, faults.")
    time_scale: float = Field(default=0.0, ge=0.0, description="Multiplies the latency model; 0 = instant.")
    rate_limit_error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    malformed_json_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    retry_after_s: float = Field(default=2.0, ge=0.0, description="Retry-After of a simulated 429, before time_scale.")
    timeout_s: float = Field(default=60.0, ge=0.0, description="How long a simulated timeout hangs, before time_scale.")
    fail_stages: list[str] = Field(default_factory=list,
                                   description="Stages (task families) that always get malformed JSON: a model that cannot do them.")
    hostile_text: bool = Field(default=False,
                               description="Write markup, script and path payloads into every text field, as a hostile answer would.")
    unusable_prompts: list[str] = Field(
        default_factory=list,
        description="Markers (substrings) of prompts to judge unusable: a call whose user message holds one answers "
                    "the last shape a union offers instead of the first, as a stage's verdict offers 'usable' first.")
    widths: dict[str, int] = Field(default_factory=lambda: dict(STANDARD_WIDTHS),
                                   description="Items of each width-driven list (x-width in a schema) the answers hold.")
    section_length: float = Field(default=1.0, gt=0.0,
                                  description="Multiplies the sentences of every text written: 4 = sections four times longer.")
    context_window: int = Field(default=128_000, gt=0, description="The window the pipeline fits its prompts to.")
    model_name: str = Field(default="simulated")
    latency_model: Literal["stage_ranges", "tokens"] = Field(
        default="stage_ranges",
        description="stage_ranges: the measured range of each stage (latency.py); tokens: time to first token "
                    "plus output tokens / output_tokens_per_s, so long answers take longer.")
    time_to_first_token_s: float = Field(default=TIME_TO_FIRST_TOKEN_S, ge=0.0,
                                         description="latency_model tokens: seconds before the first token, before time_scale.")
    output_tokens_per_s: float = Field(default=OUTPUT_TOKENS_PER_S, gt=0.0,
                                       description="latency_model tokens: output speed, before time_scale.")
    # The provider's own limits (0 = none), answered with 429 and reset headers when exceeded.
    # Their state is shared by every process calling this provider (see provider_state_dir).
    max_concurrent: int = Field(default=0, ge=0, description="Requests in flight the provider admits.")
    requests_per_minute: float = Field(default=0, ge=0, description="Requests per sliding minute_s.")
    tokens_per_minute: float = Field(default=0, ge=0, description="Prompt and answer tokens per sliding minute_s.")
    requests_per_day: int = Field(default=0, ge=0, description="Requests before a quota that resets quota_reset_s later.")
    minute_s: float = Field(default=60.0, gt=0.0, description="Length of the provider's minute in real seconds (not scaled).")
    quota_reset_s: float = Field(default=6 * 3600.0, gt=0.0, description="When a used-up daily quota resets, in real seconds.")
    reset_header: Literal[RESET_HEADERS] = Field(default="retry-after", description="How a 429 says when to come back.")
    provider_state_dir: str = Field(default="", description="Folder of the provider's shared state; "
                                    "default: a folder under the system's temp folder, keyed by seed and model_name.")

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.model_name, is_chat_model=True, context_window=self.context_window,
                           num_output=4096)

    # -- the simulated service --------------------------------------------------------------
    def _plan_call(self) -> tuple[float, str | None]:
        """(seconds to wait, fault or None) for the current stage, item and attempt."""
        ctx = current_call.get()
        # Drawn by the stage's declared name (latency.py): a renamed task keeps its latencies.
        name = ctx.name or ctx.stage
        low, high = stage_range(name)
        key = (self.seed, name, ctx.item) if ctx.attempt == 1 else (self.seed, name, ctx.item, ctx.attempt)
        latency = _rng("latency", *key).uniform(low, high) * self.time_scale
        fault = "malformed" if ctx.stage in self.fail_stages else self._draw_fault(ctx)
        if fault == "rate_limit":
            latency = min(latency, 0.5 * self.time_scale)  # a 429 comes back fast
        elif fault == "timeout":
            latency = self.timeout_s * self.time_scale
        return latency, fault

    def _draw_fault(self, ctx) -> str | None:
        draw = _rng("fault", self.seed, ctx.stage, ctx.item, ctx.attempt).random()
        for name, rate in (("rate_limit", self.rate_limit_error_rate), ("timeout", self.timeout_rate),
                           ("malformed", self.malformed_json_rate)):
            if draw < rate:
                return name
            draw -= rate
        return None

    def token_latency(self, output_tokens: int) -> float:
        """Seconds an answer of this many tokens takes under latency_model tokens, after time_scale."""
        return token_seconds(output_tokens, time_to_first_token_s=self.time_to_first_token_s,
                             output_tokens_per_s=self.output_tokens_per_s) * self.time_scale

    def _serve(self, messages: Sequence[ChatMessage],
               request: dict[str, Any] | None = None) -> tuple[float, str | None, str | None]:
        """(seconds to wait, fault, answer text): the answer is written first, as its length
        sets the latency under latency_model tokens."""
        latency, fault = self._plan_call()
        text = self._content(messages, requested_schema(request or {})) if fault in (None, "malformed") else None
        if text is not None and self.latency_model == "tokens":
            latency = self.token_latency(estimate_tokens(text))
        return latency, fault, text

    def _answer(self, text: str | None, fault: str | None, messages: Sequence[ChatMessage],
                request: dict[str, Any]) -> ChatResponse:
        if fault == "rate_limit":
            raise SimulatedRateLimitError(self.retry_after_s * self.time_scale)
        if fault == "timeout":
            raise SimulatedTimeoutError(f"simulated timeout after {self.timeout_s * self.time_scale:.2f}s")
        if fault == "malformed":
            text = text[: max(1, len(text) // 2)]  # a reply cut off mid-object
        usage = self._usage(messages, request, text)
        if request.get("tools"):  # answered as the call of the one tool offered
            call = {"function": {"name": request["tools"][0]["function"]["name"], "arguments": text}}
            return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=""),
                                raw={"message": {"tool_calls": [call]}, "usage": usage})
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), raw={"usage": usage})

    def _usage(self, messages: Sequence[ChatMessage], request: dict[str, Any], text: str) -> dict[str, Any]:
        """The usage block of an OpenAI-compatible answer: the prompt's tokens (as the pipeline
        estimates them, four characters a token), those served from the prompt cache, the answer's."""
        prompt_tokens = estimate_tokens("".join(m.content or "" for m in messages))
        cached = self._cached_chars(provider_prompt(request, [m.content or "" for m in messages]))
        return {"prompt_tokens": prompt_tokens, "completion_tokens": estimate_tokens(text),
                "total_tokens": prompt_tokens + estimate_tokens(text),
                "prompt_tokens_details": {"cached_tokens": min(prompt_tokens, cached // CHARS_PER_TOKEN)}}

    def _cached_chars(self, prompt: str) -> int:
        """Characters of the prompt the run's prompt cache serves (none outside a run)."""
        run_dir = current_call.get().run_dir
        if not run_dir or len(prompt) < PrefixCache().min_chars:
            return 0
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.model_name)
        with locked_json(telemetry_dir(run_dir) / "provider_cache" / f"{safe}-{self.seed}.json") as state:
            return PrefixCache().serve_shared(state, prompt)

    def _content(self, messages: Sequence[ChatMessage], schema: dict | None = None) -> str:
        transcript = "\n".join(f"{m.role.value}: {m.content or ''}" for m in messages)
        rng = _rng("content", self.seed, hashlib.sha256(transcript.encode("utf-8")).hexdigest())
        if schema is None:  # the prompt mode: the schema is in the system message
            for m in messages:
                match = _SCHEMA_MARKER.search(m.content or "")
                schema = json.loads(match.group(1)) if match else schema
        user_text = "\n".join(m.content or "" for m in messages if m.role == MessageRole.USER)
        unusable = judged_unusable(user_text, self.unusable_prompts)
        if schema is None:
            return write_answer({"type": "string"}, user_text, rng, self.widths, self.hostile_text, self.section_length,
                                unusable)
        answer = write_answer(schema, user_text, rng, self.widths, self.hostile_text, self.section_length, unusable)
        return json.dumps(answer, ensure_ascii=False, indent=1)

    # -- llama-index LLM interface ----------------------------------------------------------
    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        latency, fault, text = self._serve(messages, kwargs)
        with self._provider_slot(messages, text):
            if latency > 0:
                time.sleep(latency)
            return self._answer(text, fault, messages, kwargs)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        latency, fault, text = self._serve(messages, kwargs)
        with self._provider_slot(messages, text):
            if latency > 0:
                await asyncio.sleep(latency)
            return self._answer(text, fault, messages, kwargs)

    # -- the provider's limits --------------------------------------------------------------
    def provider_budget(self) -> ProviderBudget:
        return ProviderBudget(self.max_concurrent, self.requests_per_minute, self.tokens_per_minute,
                              self.requests_per_day, self.minute_s, self.quota_reset_s,
                              self.retry_after_s * self.time_scale, self.reset_header)

    def provider_state_path(self) -> Path:
        folder = Path(self.provider_state_dir or Path(tempfile.gettempdir()) / "planexe-simulated-provider")
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.model_name)
        return folder / f"{safe}-{self.seed}.json"

    def provider_counts(self) -> dict[str, Any]:
        """What the provider saw: requests received and refused, most in flight (before and after a refusal)."""
        with locked_json(self.provider_state_path()) as st:
            return {k: st.get(k, 0) for k in ("received", "refused", "peak_in_flight", "peak_after_refusal")}

    @contextlib.contextmanager
    def _provider_slot(self, messages: Sequence[ChatMessage], text: str | None):
        budget = self.provider_budget()
        if not budget.enforced:
            yield
            return
        tokens = estimate_tokens("".join(m.content or "" for m in messages)) + estimate_tokens(text or "")
        path, refusal = self.provider_state_path(), None
        with locked_json(path) as st:
            try:
                lease = budget.admit(st, time.time(), tokens)
            except ProviderRefusal as exc:  # the refusal is counted: the state must be saved
                refusal = exc
        if refusal is not None:
            raise refusal
        try:
            yield
        finally:
            with locked_json(path) as st:
                budget.finish(st, lease)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        response = self.chat([ChatMessage(role=MessageRole.USER, content=prompt)])
        return CompletionResponse(text=response.message.content or "")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        response = self.complete(prompt, formatted=formatted)

        def gen():
            yield CompletionResponse(text=response.text, delta=response.text)

        return gen()
