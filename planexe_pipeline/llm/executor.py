"""LLMExecutor: one logical LLM call, tried on each model of the run's list in turn.

Policy, per model: transient errors (HTTP 429/408/5xx, timeouts, connection resets) are retried
with exponential backoff plus jitter, capped, waiting exactly what a Retry-After asks when the
provider sends one; an answer that does not validate against the schema gets one more try on
the same model; anything else, or a model that keeps failing, hands over to the next model.
After the last model: LLMCallFailed naming the stage, item, every model and why, and the file
where the last raw answer was saved. Every attempt is one telemetry line.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import email.utils
import itertools
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, Sequence, TypeVar

from pydantic import BaseModel
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception

from planexe_pipeline.errors import LLMCallFailed
from planexe_pipeline.llm.budget import ModelSettings
from planexe_pipeline.llm.calls import StructuredCall
from planexe_pipeline.llm.config import ModelEntry, redact
from planexe_pipeline.llm.context import CallContext, current_call
from planexe_pipeline.llm.structured import SchemaValidationError
from planexe_pipeline.telemetry.events import LLMCallEvent, append_event

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

_TRANSIENT_NAMES = frozenset({
    "APITimeoutError", "APIConnectionError", "RateLimitError", "InternalServerError",
    "ConnectError", "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout", "ReadError",
    "RemoteProtocolError", "ServiceUnavailableError",
})


def status_code_of(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    if code is None:
        code = getattr(getattr(exc, "response", None), "status_code", None)
    return code if isinstance(code, int) else None


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (TimeoutError, ConnectionError, asyncio.TimeoutError)):
        return True
    code = status_code_of(exc)
    if code is not None:
        return code in (408, 409, 429) or 500 <= code < 600
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


def retry_after_of(exc: BaseException, now: Callable[[], float] = time.time) -> float | None:
    """Seconds the provider asked us to wait (Retry-After as seconds or HTTP date), if any."""
    value = getattr(exc, "retry_after", None)
    if isinstance(value, (int, float)):
        return max(0.0, float(value))
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        raw = headers.get("retry-after")
    except (AttributeError, ValueError):
        return None
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:  # an HTTP date; a garbled header must not crash the retry loop (it means: no hint)
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:  # "-0000": a date in UTC, not in the local zone
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, parsed.timestamp() - now())


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts_per_model: int = 5
    initial_wait_s: float = 1.0
    max_wait_s: float = 30.0
    jitter_s: float = 1.0
    validation_retries: int = 1

    def wait_s(self, exc: BaseException | None, failures: int, rng: random.Random) -> float:
        if isinstance(exc, SchemaValidationError):
            return 0.0
        asked = retry_after_of(exc) if exc is not None else None
        if asked is not None:
            return min(asked, self.max_wait_s)
        backoff = self.initial_wait_s * (2 ** (failures - 1))
        return min(self.max_wait_s, backoff + rng.uniform(0, self.jitter_s))


@dataclass
class NamedModel:
    """A model of the run's list; the LLM is created on first use, once per executor."""

    name: str
    factory: Callable[[], Any]
    settings: ModelSettings = field(default_factory=ModelSettings)
    _llm: Any = field(default=None, repr=False)

    @classmethod
    def from_entry(cls, entry: ModelEntry) -> "NamedModel":
        return cls(entry.name, entry.create, entry.settings())

    @classmethod
    def of(cls, name: str, llm: Any, settings: ModelSettings | None = None) -> "NamedModel":
        return cls(name, lambda: llm, settings or ModelSettings(name=name))

    def llm(self) -> Any:
        if self._llm is None:
            self._llm = self.factory()
        return self._llm


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return redact(f"{type(exc).__name__}: {text}")[:300]


class LLMExecutor:
    def __init__(self, models: Sequence[NamedModel], *, run_dir: str | Path | None = None,
                 stage: str = "unknown", task_id: str | None = None, item: int | None = None,
                 policy: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep,
                 async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rng: random.Random | None = None):
        if not models:
            raise ValueError("LLMExecutor needs at least one model")
        self.models = list(models)
        self.run_dir = Path(run_dir) if run_dir else None
        self.stage, self.task_id, self.item = stage, task_id, item
        self.policy = policy
        self._sleep, self._async_sleep = sleep, async_sleep
        self._rng = rng or random.Random()

    # -- public API -------------------------------------------------------------------------
    def run(self, fn: Callable[[Any], T]) -> T:
        """fn(llm) -> result; tried on each model in turn under the retry policy."""
        failures, attempts = _CallFailures(), itertools.count(1)  # attempts: per logical call
        for model in self.models:
            state = _ModelState()
            try:
                retrying = Retrying(sleep=self._sleep, **self._tenacity_args(state))
                return retrying(self._attempt_sync, model, fn, state, attempts)
            except Exception as exc:
                failures.add(model.name, state, exc)
        raise self._failed(failures)

    async def run_async(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        failures, attempts = _CallFailures(), itertools.count(1)
        for model in self.models:
            state = _ModelState()
            try:
                retrying = AsyncRetrying(sleep=self._async_sleep, **self._tenacity_args(state))
                return await retrying(self._attempt_async, model, fn, state, attempts)
            except Exception as exc:
                failures.add(model.name, state, exc)
        raise self._failed(failures)

    async def run_batch_async(self, fns: Sequence[Callable[[Any], Awaitable[T]]], max_concurrency: int) -> list[T]:
        """Results in the order of fns, with at most max_concurrency calls in flight."""
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        gate = asyncio.Semaphore(max_concurrency)

        async def one(fn):
            async with gate:
                return await self.run_async(fn)

        return list(await asyncio.gather(*(one(fn) for fn in fns)))

    def structured(self, output_cls: type[M], system_prompt: str, user_prompt: str) -> M:
        """The call every stage makes: a validated pydantic model, via the retry policy."""
        call = StructuredCall(output_cls, system_prompt, user_prompt, stage=self.stage)
        return self._keep_repairs(self.run(call.sync)).value

    async def astructured(self, output_cls: type[M], system_prompt: str, user_prompt: str) -> M:
        call = StructuredCall(output_cls, system_prompt, user_prompt, stage=self.stage)
        return self._keep_repairs(await self.run_async(call.run_async)).value

    def _keep_repairs(self, result: Any) -> Any:
        """What the soft rules mended goes to the stage's notes, beside its failure reports."""
        repairs = getattr(result, "repairs", ())
        if repairs and self.run_dir is not None:
            item = f"item-{self.item:03d}" if self.item is not None else "single"
            path = self.run_dir / "llm_repairs" / f"{self.stage}-{item}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as fh:
                fh.writelines(f"{redact(line)}\n" for line in repairs)
        return result

    # -- one attempt ------------------------------------------------------------------------
    def _tenacity_args(self, state: "_ModelState") -> dict[str, Any]:
        policy = self.policy

        def stop(rs: RetryCallState) -> bool:
            if isinstance(rs.outcome.exception(), SchemaValidationError):
                return state.invalid > policy.validation_retries
            return state.transient >= policy.max_attempts_per_model

        def wait(rs: RetryCallState) -> float:
            return policy.wait_s(rs.outcome.exception(), max(1, state.transient), self._rng)

        retry = retry_if_exception(lambda e: (isinstance(e, SchemaValidationError) and e.retryable) or is_transient(e))
        return {"stop": stop, "wait": wait, "retry": retry, "reraise": True}

    @contextlib.contextmanager
    def _attempt(self, model: NamedModel, state: "_ModelState", attempts: Iterator[int]):
        """One attempt: the call context the simulator reads, and the attempt's telemetry line."""
        attempt = next(attempts)
        token = current_call.set(CallContext(self.stage, self.item, attempt, model.settings))
        outcome = _Outcome()
        start = time.time()
        try:
            yield outcome
        except Exception as exc:
            state.count(exc)
            self._record(model.name, attempt, start, None, exc)
            raise
        finally:
            current_call.reset(token)
        self._record(model.name, attempt, start, outcome.result, None)

    def _attempt_sync(self, model: NamedModel, fn, state: "_ModelState", attempts: Iterator[int]):
        with self._attempt(model, state, attempts) as outcome:
            outcome.result = fn(model.llm())
        return outcome.result

    async def _attempt_async(self, model: NamedModel, fn, state: "_ModelState", attempts: Iterator[int]):
        with self._attempt(model, state, attempts) as outcome:
            outcome.result = await fn(model.llm())
        return outcome.result

    def _record(self, model: str, attempt: int, start: float, result: Any, exc: BaseException | None) -> None:
        if self.run_dir is None:
            return
        end = time.time()
        usage = getattr(result, "usage", None) or getattr(exc, "usage", None)
        append_event(self.run_dir, LLMCallEvent(
            task_family=self.stage, task_id=self.task_id, item=self.item,
            model=model, attempt=attempt, start=start, end=end,
            duration_s=round(end - start, 6),
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
            tokens_estimated=bool(usage and usage.estimated),
            status="error" if exc else "ok", error=_describe(exc) if exc else None,
            finish_reason=getattr(result, "finish_reason", None) or getattr(exc, "finish_reason", None),
            repairs=len(getattr(result, "repairs", ())),
        ))

    def _failed(self, failures: "_CallFailures") -> LLMCallFailed:
        where = f"{self.stage} item {self.item}" if self.item is not None else self.stage
        saved, last_raw = "", failures.last_raw
        if last_raw is not None and self.run_dir is not None:
            item = f"item-{self.item:03d}" if self.item is not None else "single"
            path = self.run_dir / "llm_failures" / f"{self.stage}-{item}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(last_raw, encoding="utf-8")
            saved = f"; last raw answer saved to {path}"
        return LLMCallFailed(f"{where}: every model failed ({'; '.join(failures.reasons)}){saved}; "
                             f"fix the model or pass another with --llm, then run again to resume")


class _Outcome:
    result: Any = None


class _CallFailures:
    """Why each model of one logical call failed, and the last raw answer any of them gave."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.last_raw: str | None = None

    def add(self, name: str, state: "_ModelState", exc: BaseException) -> None:
        self.last_raw = getattr(exc, "raw_text", None) or self.last_raw
        self.reasons.append(state.summary(name, exc))


class _ModelState:
    """Failure counts of one model within one logical call."""

    def __init__(self) -> None:
        self.transient = 0
        self.invalid = 0

    def count(self, exc: BaseException) -> None:
        if isinstance(exc, SchemaValidationError):
            self.invalid += 1
        elif is_transient(exc):
            self.transient += 1

    def summary(self, name: str, exc: BaseException) -> str:
        tries = self.transient + self.invalid
        return f"{name}: {_describe(exc)} after {max(tries, 1)} {'try' if tries <= 1 else 'tries'}"
