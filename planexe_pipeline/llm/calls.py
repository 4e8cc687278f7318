"""One logical structured call across its attempts: the request each model's dialect needs,
an output budget that covers the schema's worst case, a prompt that fits the window, one
retry with a larger budget after a truncation, and one retry with varied sampling after a
degenerate answer (llm/degeneracy.py), after which the better of the two is kept and flagged.

The executor runs `sync`/`run_async` once per attempt, with the model being tried, how to ask
it (its entry's settings) and the attempt's number.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Callable, Generic, TypeVar

from pydantic import BaseModel

from planexe_pipeline.llm.budget import (
    MIN_OUTPUT_TOKENS,
    ModelSettings,
    check_fits,
    context_window_of,
    count_tokens,
    prompt_tokens,
)
from planexe_pipeline.llm.degeneracy import Finding, findings
from planexe_pipeline.llm.schema_rules import full_schema, provider_schema, worst_case_tokens
from planexe_pipeline.llm.structured import (
    DegenerateAnswer,
    RefusedAnswer,
    SchemaValidationError,
    StructuredResult,
    TruncatedAnswer,
    answer_name,
    build_messages,
    read_response,
    request_kwargs,
    with_output_budget,
    with_varied_sampling,
)

M = TypeVar("M", bound=BaseModel)

GROWTH = 2.0  # a truncated answer's retry gets this many times the budget, window permitting
MIN_GROWTH = 1.25  # below this, a retry would be cut again: the truncation is reported at once


class StructuredCall(Generic[M]):
    def __init__(self, output_cls: type[M], system_prompt: str, user_prompt: str, *, stage: str,
                 may_ask_again: Callable[[], bool] = lambda: True):
        self.output_cls = output_cls
        self.may_ask_again = may_ask_again  # the run's retry budget, asked when an answer is degenerate
        self.system_prompt = system_prompt
        self.user_prompt = user_prompt
        self.stage = stage
        self.worst_case = worst_case_tokens(provider_schema(output_cls))
        self._budgets: dict[str, int] = {}  # per model: the budget after a truncation
        self._degenerate: tuple[StructuredResult[M], list[Finding]] | None = None  # the first such answer

    def estimated_tokens(self) -> int:
        """The call's size before any model is asked, for a provider's tokens-per-minute budget:
        the prompts and the schema, plus the first answer budget."""
        schema = json.dumps(self.output_cls.model_json_schema())
        return count_tokens(self.system_prompt + self.user_prompt + schema) + max(self.worst_case, MIN_OUTPUT_TOKENS)

    def estimate(self, settings: ModelSettings) -> tuple[int, int]:
        """(input, output) tokens the next attempt on this model may use at most, for the plan's
        budget: the prompts and the schema counted high, and the whole answer budget it asks for."""
        schema = json.dumps(self.output_cls.model_json_schema())
        return (count_tokens(self.system_prompt + self.user_prompt + schema),
                self._budgets.get(settings.name, self.first_budget(settings)))

    def first_budget(self, settings: ModelSettings) -> int:
        return min(max(self.worst_case, MIN_OUTPUT_TOKENS), settings.max_output_tokens)

    def _prepare(self, llm: Any, settings: ModelSettings, attempt: int):
        mode = settings.structured_output
        messages = build_messages(self.output_cls, self.system_prompt, self.user_prompt, mode)
        request = request_kwargs(self.output_cls, mode)
        window = context_window_of(llm, settings)
        needed = prompt_tokens(messages, request)
        budget = self._budgets.get(settings.name, self.first_budget(settings))
        check_fits(stage=self.stage, model=settings.name, needed=needed, budget=budget, window=window)
        grown = int(budget * GROWTH) if window is None else min(int(budget * GROWTH), window - needed)
        client, budget_kwargs = with_output_budget(llm, budget, options_in_client=settings.options_in_client)
        sampling: dict[str, Any] = {}
        if self._degenerate is not None:
            client, sampling = with_varied_sampling(client, attempt, options_in_client=settings.options_in_client)
        return settings, client, messages, {**request, **budget_kwargs, **sampling}, budget, grown

    def _read(self, settings: ModelSettings, response, messages, budget: int, grown: int) -> StructuredResult[M]:
        try:
            can_grow = grown >= budget * MIN_GROWTH
            result = read_response(self.output_cls, response, messages, budget=budget, can_grow=can_grow,
                                   budget_setting=f"\"max_output_tokens\" (now {settings.max_output_tokens}) or "
                                                  f"\"context_window\" of model '{settings.name}'")
        except (SchemaValidationError, RefusedAnswer) as exc:
            if isinstance(exc, TruncatedAnswer) and exc.retryable:
                self._budgets[settings.name] = grown
            if self._degenerate is not None:  # the retry gave nothing better: keep the first
                return self._flagged(*self._degenerate, usage=exc.usage)
            raise
        return self._judged(result)

    def _judged(self, result: StructuredResult[M]) -> StructuredResult[M]:
        """The answer if it is not degenerate; else, the first time, a retry (if the run's retry
        budget allows; if not, the answer flagged); else the better of the two, flagged."""
        found = findings(full_schema(self.output_cls), result.value.model_dump(mode="json"),
                         instructions=self.system_prompt, plan=_plan_section(self.user_prompt))
        if not found:
            return result
        if self._degenerate is None and not self.may_ask_again():
            return self._flagged(result, found, usage=result.usage)
        if self._degenerate is None:
            self._degenerate = (result, found)
            raise DegenerateAnswer(f"the {answer_name(self.output_cls)} answer is degenerate: "
                                   f"{'; '.join(map(str, found))[:240]}", result.raw_text, result.usage,
                                   result.finish_reason)
        better = min([self._degenerate, (result, found)], key=lambda pair: sum(f.weight for f in pair[1]))
        return self._flagged(*better, usage=result.usage)

    @staticmethod
    def _flagged(result: StructuredResult[M], found: list[Finding], usage) -> StructuredResult[M]:
        """The kept answer with its flags, and the tokens of the attempt that ends the call (the
        first answer's were counted with its own attempt)."""
        return dataclasses.replace(result, flags=tuple(map(str, found)), usage=usage or result.usage)

    def sync(self, llm: Any, settings: ModelSettings | None = None, attempt: int = 1) -> StructuredResult[M]:
        settings, client, messages, kwargs, budget, grown = self._prepare(llm, settings or ModelSettings(), attempt)
        return self._read(settings, client.chat(messages, **kwargs), messages, budget, grown)

    async def run_async(self, llm: Any, settings: ModelSettings | None = None,
                        attempt: int = 1) -> StructuredResult[M]:
        settings, client, messages, kwargs, budget, grown = self._prepare(llm, settings or ModelSettings(), attempt)
        return self._read(settings, await client.achat(messages, **kwargs), messages, budget, grown)


def _plan_section(user_prompt: str) -> str:
    """The plan's own text, where the prompt leads with it (stages/markdown.user_prompt puts it first
    under "# Plan"); the sections after it are earlier answers, which an answer may well repeat."""
    if not user_prompt.startswith("# Plan\n"):
        return ""
    return re.split(r"\n# ", user_prompt, maxsplit=1)[0].removeprefix("# Plan\n")
