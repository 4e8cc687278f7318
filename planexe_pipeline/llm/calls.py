"""One logical structured call across its attempts: the request each model's dialect needs,
an output budget that covers the schema's worst case, a prompt that fits the window, and one
retry with a larger budget after a truncation.

The executor runs `sync`/`run_async` once per attempt; the model being tried, and how to ask
it, come from the attempt's call context (llm/context.py).
"""

from __future__ import annotations

import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from planexe_pipeline.llm.budget import (
    MIN_OUTPUT_TOKENS,
    ModelSettings,
    check_fits,
    context_window_of,
    count_tokens,
    prompt_tokens,
)
from planexe_pipeline.llm.context import current_call
from planexe_pipeline.llm.schema_rules import provider_schema, worst_case_tokens
from planexe_pipeline.llm.structured import (
    StructuredResult,
    TruncatedAnswer,
    build_messages,
    read_response,
    request_kwargs,
    with_output_budget,
)

M = TypeVar("M", bound=BaseModel)

GROWTH = 2.0  # a truncated answer's retry gets this many times the budget, window permitting
MIN_GROWTH = 1.25  # below this, a retry would be cut again: the truncation is reported at once


class StructuredCall(Generic[M]):
    def __init__(self, output_cls: type[M], system_prompt: str, user_prompt: str, *, stage: str):
        self.output_cls = output_cls
        self.system_prompt = system_prompt
        self.user_prompt = user_prompt
        self.stage = stage
        self.worst_case = worst_case_tokens(provider_schema(output_cls))
        self._budgets: dict[str, int] = {}  # per model: the budget after a truncation

    def estimated_tokens(self) -> int:
        """The call's size before any model is asked, for a provider's tokens-per-minute budget:
        the prompts and the schema, plus the first answer budget."""
        schema = json.dumps(self.output_cls.model_json_schema())
        return count_tokens(self.system_prompt + self.user_prompt + schema) + max(self.worst_case, MIN_OUTPUT_TOKENS)

    def first_budget(self, settings: ModelSettings) -> int:
        return min(max(self.worst_case, MIN_OUTPUT_TOKENS), settings.max_output_tokens)

    def _prepare(self, llm: Any):
        settings = current_call.get().settings or ModelSettings()
        mode = settings.structured_output
        messages = build_messages(self.output_cls, self.system_prompt, self.user_prompt, mode)
        request = request_kwargs(self.output_cls, mode)
        window = context_window_of(llm, settings)
        needed = prompt_tokens(messages, request)
        budget = self._budgets.get(settings.name, self.first_budget(settings))
        check_fits(stage=self.stage, model=settings.name, needed=needed, budget=budget, window=window)
        grown = int(budget * GROWTH) if window is None else min(int(budget * GROWTH), window - needed)
        client, budget_kwargs = with_output_budget(llm, budget)
        return settings, client, messages, {**request, **budget_kwargs}, budget, grown

    def _read(self, settings: ModelSettings, response, messages, budget: int, grown: int) -> StructuredResult[M]:
        try:
            can_grow = grown >= budget * MIN_GROWTH
            return read_response(self.output_cls, response, messages, budget=budget, can_grow=can_grow,
                                 budget_setting=f"\"max_output_tokens\" (now {settings.max_output_tokens}) or "
                                                f"\"context_window\" of model '{settings.name}'")
        except TruncatedAnswer as exc:
            if exc.retryable:
                self._budgets[settings.name] = grown
            raise

    def sync(self, llm: Any) -> StructuredResult[M]:
        settings, client, messages, kwargs, budget, grown = self._prepare(llm)
        return self._read(settings, client.chat(messages, **kwargs), messages, budget, grown)

    async def run_async(self, llm: Any) -> StructuredResult[M]:
        settings, client, messages, kwargs, budget, grown = self._prepare(llm)
        return self._read(settings, await client.achat(messages, **kwargs), messages, budget, grown)
