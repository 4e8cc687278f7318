"""One structured LLM call: pydantic schema in, validated model out, in the model's own dialect.

Providers constrain an answer to a schema in different ways; `structured_output` in a model's
entry says which one it speaks:

- `json_schema`: OpenAI's `response_format` `{"type": "json_schema", ..., "strict": true}`
  (OpenAI, OpenRouter, vLLM, LM Studio);
- `json_object_schema`: `{"type": "json_object", "schema": ...}`, llama-cpp-python's server;
- `ollama_format`: Ollama's `format` set to the schema;
- `tools`: one function whose parameters are the schema, which the model is told to call;
- `prompt`: the schema appended to the system message and the answer parsed afterwards
  (llama-index's text-completion path; any model, no guarantee).

We build the request and read the answer ourselves instead of `structured_predict`, to keep
the raw answer (saved when every model fails), the provider's token usage (telemetry) and its
finish reason: an answer cut by the output limit is a truncation, not "invalid JSON", and a
refusal is named as one. Near misses are mended and named: of JSON syntax (answer_json.py),
and of soft rules (schema_rules.repair); a cut answer keeps the items it finished where they
are enough (answer_json.salvage_cut).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.output_parsers.pydantic import PYDANTIC_FORMAT_TMPL
from pydantic import BaseModel, ValidationError

from planexe_pipeline.llm.answer_json import UnclosedJSON, read_json, salvage_cut
from planexe_pipeline.llm.schema_rules import full_schema, prompt_schema, provider_schema, repair

M = TypeVar("M", bound=BaseModel)

MODES = ("json_schema", "json_object_schema", "ollama_format", "tools", "prompt")
TRUNCATED = "length"
REFUSED = "content_filter"
_PROVIDER_INSTRUCTION = "Answer with one JSON object that follows the schema given with this request."
_TOOLS_INSTRUCTION = "Answer by calling the function {name} once, with every argument filled in."
# A degenerate answer's retry samples differently: warmer, with another seed, and penalised for
# repeating itself (presence_penalty: OpenAI-style servers; repeat_penalty: Ollama's option).
VARIED_TEMPERATURE = 0.8
VARIED_SEED = 7919
VARIED_PRESENCE_PENALTY = 0.6
VARIED_REPEAT_PENALTY = 1.3


@dataclass(frozen=True)
class TokenUsage:
    """Tokens as the provider reported them (estimated: it reported none). The input counts the
    cached input too, and the output the reasoning, as providers report and bill them."""

    input_tokens: int
    output_tokens: int
    estimated: bool
    cached_input_tokens: int | None = None  # None: the provider does not say
    reasoning_tokens: int | None = None
    cost_usd: float | None = None  # what the provider says the call cost (OpenRouter's usage.cost)


@dataclass(frozen=True)
class StructuredResult(Generic[M]):
    value: M
    raw_text: str
    usage: TokenUsage
    finish_reason: str | None = None
    repairs: tuple[str, ...] = field(default_factory=tuple)
    flags: tuple[str, ...] = field(default_factory=tuple)  # degenerate places kept: the plan says so


class SchemaValidationError(ValueError):
    """The model answered, but not with JSON valid for the schema."""

    retryable = True

    def __init__(self, message: str, raw_text: str, usage: TokenUsage | None = None,
                 finish_reason: str | None = None):
        super().__init__(message)
        self.raw_text = raw_text
        self.usage = usage
        self.finish_reason = finish_reason


class TruncatedAnswer(SchemaValidationError):
    """The answer was cut by the output limit (finish_reason `length`, Ollama `done_reason`)."""

    def __init__(self, message: str, raw_text: str, usage: TokenUsage | None, budget: int | None,
                 retryable: bool):
        super().__init__(message, raw_text, usage, TRUNCATED)
        self.budget = budget
        self.retryable = retryable


class DegenerateAnswer(SchemaValidationError):
    """Valid for the schema, useless to a reader (llm/degeneracy.py): asked again, sampled otherwise."""


class RefusedAnswer(Exception):
    """The provider filtered the answer or the model refused: another model may answer."""

    def __init__(self, message: str, raw_text: str = "", usage: TokenUsage | None = None,
                 finish_reason: str | None = REFUSED):
        super().__init__(message)
        self.raw_text = raw_text
        self.usage = usage
        self.finish_reason = finish_reason


# -- the request ---------------------------------------------------------------------------
def answer_name(output_cls: type[BaseModel]) -> str:
    """What a model is told its answer is called: the schema's title, the class's name unless the
    class sets another (an answer class named `<Stage>Answer` keeps its stage's name)."""
    return output_cls.model_config.get("title") or output_cls.__name__


def tool_name(output_cls: type[BaseModel]) -> str:
    return f"submit_{answer_name(output_cls)}"


def build_messages(output_cls: type[BaseModel], system_prompt: str, user_prompt: str,
                   mode: str = "prompt") -> list[ChatMessage]:
    if mode == "prompt":  # as llama-index's PydanticOutputParser words it
        schema = json.dumps(prompt_schema(output_cls), ensure_ascii=False)
        system = system_prompt + "\n" + PYDANTIC_FORMAT_TMPL.format(schema=schema)
    elif mode == "tools":
        system = system_prompt + "\n\n" + _TOOLS_INSTRUCTION.format(name=tool_name(output_cls))
    else:
        system = system_prompt + "\n\n" + _PROVIDER_INSTRUCTION
    return [ChatMessage(role=MessageRole.SYSTEM, content=system), ChatMessage(role=MessageRole.USER, content=user_prompt)]


def request_kwargs(output_cls: type[BaseModel], mode: str) -> dict[str, Any]:
    """What the chat call carries besides the messages, in the mode's dialect. (`tools` is
    OpenAI's: the config refuses it for Ollama, whose client drops nested schemas from tools.)"""
    name = answer_name(output_cls)
    if mode == "json_schema":
        return {"response_format": {"type": "json_schema", "json_schema": {
            "name": name, "schema": provider_schema(output_cls, strict=True), "strict": True}}}
    if mode == "json_object_schema":
        return {"response_format": {"type": "json_object", "schema": provider_schema(output_cls, grammar=True)}}
    if mode == "ollama_format":
        return {"format": provider_schema(output_cls, grammar=True)}
    if mode == "tools":
        function = {"name": tool_name(output_cls), "description": f"Submit the {name} answer.",
                    "parameters": provider_schema(output_cls, strict=True), "strict": True}
        return {"tools": [{"type": "function", "function": function}],
                "tool_choice": {"type": "function", "function": {"name": tool_name(output_cls)}}}
    return {}


def with_output_budget(llm: Any, budget: int | None, *, options_in_client: bool = False) -> tuple[Any, dict[str, Any]]:
    """(llm, kwargs) that cap the answer at `budget` tokens: a client that takes options of its
    own (Ollama's) as `num_predict`, every other client as the `max_tokens` of the request."""
    if budget is None:
        return llm, {}
    if options_in_client:
        options = {**(llm.additional_kwargs or {}), "num_predict": budget}
        return llm.model_copy(update={"additional_kwargs": options}), {}
    return llm, {"max_tokens": budget}


def with_varied_sampling(llm: Any, attempt: int, *, options_in_client: bool = False) -> tuple[Any, dict[str, Any]]:
    """(llm, kwargs) that sample unlike the first try, with a seed of this attempt's own: as
    options of a client that takes its own (Ollama's), else as part of the request."""
    if options_in_client:
        options = {**(llm.additional_kwargs or {}), "temperature": VARIED_TEMPERATURE,
                   "seed": VARIED_SEED + attempt, "repeat_penalty": VARIED_REPEAT_PENALTY}
        return llm.model_copy(update={"additional_kwargs": options}), {}
    return llm, {"temperature": VARIED_TEMPERATURE, "seed": VARIED_SEED + attempt,
                 "presence_penalty": VARIED_PRESENCE_PENALTY}


# -- the answer ----------------------------------------------------------------------------
def estimate_tokens(text: str) -> int:
    # ~4 characters per token for English prose, the usual rule of thumb.
    return max(1, (len(text) + 3) // 4)


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def _first_choice(raw: Any) -> Any:
    choices = _get(raw, "choices")
    return choices[0] if choices else None


def usage_of(response: ChatResponse, messages: list[ChatMessage]) -> TokenUsage:
    """Token counts from the provider's own usage report where it gives one, else an estimate."""
    raw = response.raw
    usage = _get(raw, "usage")
    prompt_tokens = _get(usage, "prompt_tokens")
    completion_tokens = _get(usage, "completion_tokens")
    if prompt_tokens is None:  # Ollama reports eval counts at the top level
        prompt_tokens, completion_tokens = _get(raw, "prompt_eval_count"), _get(raw, "eval_count")
    if isinstance(prompt_tokens, int) and isinstance(completion_tokens, int):
        cost = _get(usage, "cost")
        return TokenUsage(prompt_tokens, completion_tokens, estimated=False,
                          cached_input_tokens=_cached_tokens(raw, usage),
                          reasoning_tokens=_count(_get(_get(usage, "completion_tokens_details"), "reasoning_tokens")),
                          cost_usd=float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None)
    text_in = "".join(m.content or "" for m in messages)
    return TokenUsage(estimate_tokens(text_in), estimate_tokens(response.message.content or ""), estimated=True)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _cached_tokens(raw: Any, usage: Any) -> int | None:
    """Prompt tokens served from the provider's cache, in whichever counter it reports them:
    OpenAI's `prompt_tokens_details.cached_tokens` (OpenRouter, vLLM, recent llama.cpp), DeepSeek's
    `prompt_cache_hit_tokens`, llama.cpp's `timings.cache_n`, Ollama's `prompt_eval_cached_count`."""
    for value in (_get(_get(usage, "prompt_tokens_details"), "cached_tokens"), _get(usage, "prompt_cache_hit_tokens"),
                  _get(_get(raw, "timings"), "cache_n"), _get(raw, "prompt_eval_cached_count")):
        if _count(value) is not None:
            return value
    return None


def finish_reason_of(response: ChatResponse) -> str | None:
    raw = response.raw
    reason = _get(_first_choice(raw), "finish_reason") or _get(raw, "done_reason")
    return str(reason) if reason else None


def refusal_of(response: ChatResponse) -> str | None:
    refusal = _get(_get(_first_choice(response.raw), "message"), "refusal")
    return str(refusal) if refusal else None


def answer_text(response: ChatResponse) -> str:
    """The answer's JSON text: a tool call's arguments where the model made one, else the content."""
    raw = response.raw
    message = _get(_first_choice(raw), "message") or _get(raw, "message")
    for call in _get(message, "tool_calls") or []:
        arguments = _get(_get(call, "function"), "arguments")
        if arguments is not None:
            return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return response.message.content or ""


def _validated(output_cls: type[M], data: Any, notes: list[str]) -> tuple[M, list[str]]:
    mended, soft = repair(output_cls, data)
    return output_cls.model_validate(mended), notes + soft


def parse_answer(output_cls: type[M], raw_text: str, usage: TokenUsage | None = None) -> tuple[M, list[str]]:
    """The validated model, after the near misses were mended; and one line per mend."""
    try:
        return _validated(output_cls, *read_json(raw_text))
    except (ValidationError, ValueError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SchemaValidationError(f"answer is not valid {answer_name(output_cls)} JSON: {first_line}", raw_text, usage) from None


def salvage(output_cls: type[M], raw_text: str) -> tuple[M, list[str]] | None:
    """What an answer cut by the output limit finished, if that is a valid answer: the whole
    object where it closed in time, else the object less the item it was writing."""
    try:
        return _validated(output_cls, *read_json(raw_text))
    except UnclosedJSON:
        pass
    except (ValidationError, ValueError):
        return None
    for data, note in salvage_cut(raw_text, full_schema(output_cls)):
        try:
            return _validated(output_cls, data, [note])
        except (ValidationError, ValueError):
            continue
    return None


def read_response(output_cls: type[M], response: ChatResponse, messages: list[ChatMessage], *,
                  budget: int | None = None, can_grow: bool = False,
                  budget_setting: str = "max_output_tokens") -> StructuredResult[M]:
    raw_text = answer_text(response)
    usage = usage_of(response, messages)
    reason = finish_reason_of(response)
    if reason == TRUNCATED:
        kept = salvage(output_cls, raw_text)
        if kept is not None:
            return StructuredResult(kept[0], raw_text, usage, reason, tuple(kept[1]))
        cut_at = usage.output_tokens if not usage.estimated else budget
        raise TruncatedAnswer(f"the {answer_name(output_cls)} answer was cut at {cut_at} output tokens "
                              f"(finish_reason length); raise {budget_setting}", raw_text, usage, budget, can_grow)
    refusal = refusal_of(response)
    if reason == REFUSED or refusal:
        why = f"the model refused: {refusal[:120]}" if refusal else "the provider's content filter stopped the answer"
        raise RefusedAnswer(f"{answer_name(output_cls)}: {why} (finish_reason {reason})", raw_text, usage, reason)
    try:
        value, notes = parse_answer(output_cls, raw_text, usage)
    except SchemaValidationError as exc:
        exc.finish_reason = reason  # telemetry tells an invalid answer that ended normally
        raise
    return StructuredResult(value, raw_text, usage, reason, tuple(notes))


def structured_chat(llm, output_cls: type[M], system_prompt: str, user_prompt: str,
                    mode: str = "prompt") -> StructuredResult[M]:
    """One plain attempt with no budget: the executor's StructuredCall adds budget and window."""
    messages = build_messages(output_cls, system_prompt, user_prompt, mode)
    response = llm.chat(messages, **request_kwargs(output_cls, mode))
    return read_response(output_cls, response, messages)


async def astructured_chat(llm, output_cls: type[M], system_prompt: str, user_prompt: str,
                           mode: str = "prompt") -> StructuredResult[M]:
    messages = build_messages(output_cls, system_prompt, user_prompt, mode)
    response = await llm.achat(messages, **request_kwargs(output_cls, mode))
    return read_response(output_cls, response, messages)
