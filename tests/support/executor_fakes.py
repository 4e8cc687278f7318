"""Scripted LLMs and helpers for the executor tests: no network, no real sleeping."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import (
    LLMExecutor,
    NamedModel,
    RetryPolicy,
)
from planexe_pipeline.telemetry.event_log import read_events
from support.fakes import Sleeps


TELEMETRY_FIELDS = {
    "kind", "task_family", "task_id", "item", "model", "attempt", "start", "end", "duration_s",
    "input_tokens", "output_tokens", "tokens_estimated", "status", "error", "finish_reason", "repairs", "flags",
    "error_type", "provider", "request_model", "parent_span_id", "messages",
    "cached_input_tokens", "reasoning_tokens", "cost_usd", "cost_source", "route",
}


class Answer(BaseModel):
    title: str
    score: int = Field(ge=1, le=5)


VALID = '{"title": "Solar farm", "score": 4}'
INVALID = '{"title": "Solar farm", "score": 99}'


class FixedRng(random.Random):
    """uniform(a, b) returns a + fraction * (b - a): the jitter is known."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction

    def uniform(self, a: float, b: float) -> float:
        return a + self.fraction * (b - a)


class ScriptedLLM:
    """A chat LLM whose answers (text) or failures (exceptions) are scripted in order."""

    def __init__(self, *script) -> None:
        self.script = list(script)
        self.calls = 0

    def _next(self) -> ChatResponse:
        self.calls += 1
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, BaseException):
            raise step
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=step))

    def chat(self, messages, **kwargs) -> ChatResponse:
        return self._next()

    async def achat(self, messages, **kwargs) -> ChatResponse:
        return self._next()


class Flaky:
    """fn(llm) for executor.run: raises the scripted exceptions, then returns `result`."""

    def __init__(self, *errors: BaseException, result="done") -> None:
        self.errors = list(errors)
        self.result = result
        self.calls = 0

    def __call__(self, llm):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


def make(models, tmp_path: Path, *, policy: RetryPolicy = RetryPolicy(), rng=None, item=None,
         stage="IdentifyPurpose") -> tuple[LLMExecutor, Sleeps]:
    sleeps = Sleeps()
    named = [m if isinstance(m, NamedModel) else NamedModel.of(*m) for m in models]
    executor = LLMExecutor(named, run_dir=tmp_path, stage=stage, task_id=f"{stage}_run_abc", item=item,
                           policy=policy, sleep=sleeps, async_sleep=sleeps.a, rng=rng or FixedRng(0.5))
    return executor, sleeps


def llm_lines(run_dir: Path) -> list[dict]:
    return read_events(run_dir, kind="llm_call")


def status_error(cls, status: int, headers: dict | None = None, message: str = "provider said no"):
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, headers=headers or {}, request=request)
    return cls(message, response=response, body=None)
