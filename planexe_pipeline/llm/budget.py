"""How a model is asked, and whether a prompt fits it: settings, windows, token counts.

Every prompt is counted before it leaves, with an estimate that errs high: one token per three
bytes of UTF-8 (English prose runs near four characters a token with common tokenizers, and a
character of a CJK script, three bytes, is about one token). A tokenizer would be closer, but
loading one costs about a second in every task process, more than the check is worth. A prompt
that would leave less than its answer's budget inside the model's window is refused before any
request is made.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

from llama_index.core.base.llms.types import ChatMessage

from planexe_pipeline.errors import ConfigError

DEFAULT_MAX_OUTPUT_TOKENS = 4096  # an answer's budget unless its entry says otherwise
MIN_OUTPUT_TOKENS = 1024  # the smallest budget a call asks for, however small its schema
# The window an entry whose client sends it to its server (Ollama's num_ctx) sends at most: the
# plan's largest prompt (at most 12,000 tokens, see the README) plus the largest answer budget,
# instead of the model's trained maximum.
SENT_WINDOW_CAP = 16_384
BYTES_PER_TOKEN = 3
PER_MESSAGE_TOKENS = 4  # role and separators of the chat template


@dataclass(frozen=True)
class ModelSettings:
    """What a model entry says about how to call it (llm_config.json, beside class and arguments)."""

    name: str = "model"
    structured_output: str = "prompt"
    context_window: int | None = None
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    window_required: bool = False  # entries must know their window; ad-hoc test models need not
    # What the entry's class can do (llm/config.py ModelClass): where a window the entry does not
    # state comes from ("stated": nowhere, "asked": the client asks its server, "held": the client
    # knows its own), and whether the answer's budget and sampling are options of the client.
    window_source: str = "stated"
    options_in_client: bool = False


class PromptTooLarge(Exception):
    """The prompt and its answer's budget exceed the model's context window: nothing was sent."""


def count_tokens(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def prompt_tokens(messages: Sequence[ChatMessage], request: dict[str, Any]) -> int:
    """Input tokens of a request, erring high: messages, plus any schema or tool it carries."""
    text = "\n".join(m.content or "" for m in messages)
    if request:
        text += "\n" + json.dumps(request, ensure_ascii=False)
    return count_tokens(text) + PER_MESSAGE_TOKENS * len(messages)


def context_window_of(llm: Any, settings: ModelSettings) -> int | None:
    """The entry's window, else the one its client knows (asked from its server on first use, as
    Ollama's; or its own, as the simulator's), else None where no window is required."""
    if settings.context_window:
        return settings.context_window
    if settings.window_source == "asked" and llm.context_window == -1:
        # Asks the server for the model's trained window, then sends no more than the plan needs.
        llm.context_window = min(llm.get_context_window(), SENT_WINDOW_CAP)
    held = getattr(llm, "context_window", None)
    if settings.window_source != "stated" and isinstance(held, int) and held > 0:
        return held
    if settings.window_required:
        raise ConfigError(f"model '{settings.name}' names no context window: add \"context_window\": N "
                          f"(the server's window in tokens) to its entry in llm_config.json")
    return None


def check_fits(*, stage: str, model: str, needed: int, budget: int, window: int | None) -> None:
    if window is not None and needed + budget > window:
        raise PromptTooLarge(
            f"{stage}: the prompt needs {needed} tokens plus {budget} for the answer, more than the "
            f"{window}-token context window of model '{model}'; raise its \"context_window\" in "
            f"llm_config.json (and the server's), or pick a model with a larger window")
