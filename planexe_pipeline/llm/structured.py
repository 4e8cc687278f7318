"""One structured LLM call: pydantic schema in, validated model out.

This is llama-index's text-completion structured-output path (the one `structured_predict`
takes for models without function calling): PydanticOutputParser appends the JSON schema to
the system message, the model answers with JSON, the parser extracts and validates it. We call
the pieces ourselves instead of `structured_predict` to keep the raw answer (saved when every
model fails) and the provider's token usage (telemetry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.output_parsers import PydanticOutputParser
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class TokenUsage:
    input_tokens: int
    output_tokens: int
    estimated: bool


@dataclass(frozen=True)
class StructuredResult(Generic[M]):
    value: M
    raw_text: str
    usage: TokenUsage


class SchemaValidationError(ValueError):
    """The model answered, but not with JSON valid for the schema."""

    def __init__(self, message: str, raw_text: str, usage: TokenUsage | None = None):
        super().__init__(message)
        self.raw_text = raw_text
        self.usage = usage


def build_messages(output_cls: type[BaseModel], system_prompt: str, user_prompt: str) -> list[ChatMessage]:
    parser = PydanticOutputParser(output_cls)
    return [
        ChatMessage(role=MessageRole.SYSTEM, content=system_prompt + "\n" + parser.get_format_string(escape_json=False)),
        ChatMessage(role=MessageRole.USER, content=user_prompt),
    ]


def estimate_tokens(text: str) -> int:
    # ~4 characters per token for English prose, the usual rule of thumb.
    return max(1, (len(text) + 3) // 4)


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def usage_of(response: ChatResponse, messages: list[ChatMessage]) -> TokenUsage:
    """Token counts from the provider's own usage report where it gives one, else an estimate."""
    raw = response.raw
    usage = _get(raw, "usage")
    prompt_tokens = _get(usage, "prompt_tokens")
    completion_tokens = _get(usage, "completion_tokens")
    if prompt_tokens is None:  # Ollama reports eval counts at the top level
        prompt_tokens, completion_tokens = _get(raw, "prompt_eval_count"), _get(raw, "eval_count")
    if isinstance(prompt_tokens, int) and isinstance(completion_tokens, int):
        return TokenUsage(prompt_tokens, completion_tokens, estimated=False)
    text_in = "".join(m.content or "" for m in messages)
    return TokenUsage(estimate_tokens(text_in), estimate_tokens(response.message.content or ""), estimated=True)


def parse_answer(output_cls: type[M], raw_text: str, usage: TokenUsage | None = None) -> M:
    try:
        return PydanticOutputParser(output_cls).parse(raw_text)
    except (ValidationError, ValueError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SchemaValidationError(f"answer is not valid {output_cls.__name__} JSON: {first_line}", raw_text, usage) from None


def structured_chat(llm, output_cls: type[M], system_prompt: str, user_prompt: str) -> StructuredResult[M]:
    messages = build_messages(output_cls, system_prompt, user_prompt)
    response = llm.chat(messages)
    raw_text = response.message.content or ""
    usage = usage_of(response, messages)
    return StructuredResult(parse_answer(output_cls, raw_text, usage), raw_text, usage)


async def astructured_chat(llm, output_cls: type[M], system_prompt: str, user_prompt: str) -> StructuredResult[M]:
    messages = build_messages(output_cls, system_prompt, user_prompt)
    response = await llm.achat(messages)
    raw_text = response.message.content or ""
    usage = usage_of(response, messages)
    return StructuredResult(parse_answer(output_cls, raw_text, usage), raw_text, usage)
