"""LLMExecutor: one logical LLM call, tried on each model of the run's list in turn.

Policy, per model: a rate-limit answer (429, or a 503 saying when to come back) is backpressure:
it is waited out and retried for as long as the patience allows (`patience_s` of waiting per
call), through the endpoint's shared limiter when the run has one (llm/limiter.py), which
stops every caller until the provider's reset and lowers the limit. A limit that cannot clear
within the patience (a daily quota) hands over to the next model at once. Other transient
errors (408/5xx, timeouts, connection resets) are retried a fixed number of times with
exponential backoff plus jitter, capped; an answer that does not validate against the schema
gets one more try on the same model, and so does a degenerate answer (llm/degeneracy.py), with
varied sampling; anything else hands over to the next model.
After the last model: LLMCallFailed naming the stage, item, every model and why, and the file
where the last raw answer was saved, or, when every model is out of quota, one line naming the
models and the moments they reset (the tally and its words: llm/call_attempts.py). Every
attempt is one telemetry line.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, Sequence, TypeVar

from pydantic import BaseModel
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception

from planexe_pipeline.llm.budget import ModelSettings
from planexe_pipeline.llm.call_attempts import CallFailures, Estimate, ModelAttempts, describe
from planexe_pipeline.llm.calls import StructuredCall
from planexe_pipeline.llm.config import ModelEntry
from planexe_pipeline.llm.context import CallContext, current_call
from planexe_pipeline.llm.degeneracy import within_retry_budget
from planexe_pipeline.llm.failures import is_transient, provider_failures
from planexe_pipeline.llm.limiter import Lease, ProviderQuotaExhausted, SharedLimiter
from planexe_pipeline.llm.pricing import Pricing, call_cost
from planexe_pipeline.llm.rate_limits import rate_limit_of
from planexe_pipeline.llm.retry_policy import RetryPolicy
from planexe_pipeline.llm.spend import BudgetReached, Hold, PlanSpend
from planexe_pipeline.llm.structured import DegenerateAnswer, SchemaValidationError
from planexe_pipeline.records import call_version
from planexe_pipeline.redaction import redact
from planexe_pipeline.telemetry.correlation import capture_content, task_span
from planexe_pipeline.telemetry.event_log import append_event
from planexe_pipeline.telemetry.events import LLMCallEvent

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass
class NamedModel:
    """A model of the run's list; the LLM is created on first use, once per executor."""

    name: str
    factory: Callable[[], Any]
    settings: ModelSettings = field(default_factory=ModelSettings)
    limiter: SharedLimiter | None = None  # the endpoint's limit, shared by the run's callers
    provider: str | None = None  # the API its class speaks, and the model as its provider knows it: for traces
    request_model: str | None = None
    pricing: Pricing = Pricing("unknown", why_unknown="a model made for this call alone")
    route: str | None = None  # the route of llm_config.json that chose this model; None: the run's --llm
    _llm: Any = field(default=None, repr=False)

    @classmethod
    def from_entry(cls, entry: ModelEntry, limiter: SharedLimiter | None = None,
                   route: str | None = None) -> "NamedModel":
        model = entry.arguments.get("model") or entry.arguments.get("model_name")
        return cls(entry.name, entry.create, entry.settings(), limiter, provider=entry.model_class.api,
                   request_model=model if isinstance(model, str) else None, pricing=entry.price(), route=route)

    @classmethod
    def of(cls, name: str, llm: Any, settings: ModelSettings | None = None) -> "NamedModel":
        return cls(name, lambda: llm, settings or ModelSettings(name=name))

    def llm(self) -> Any:
        if self._llm is None:
            self._llm = self.factory()
        return self._llm


class LLMExecutor:
    def __init__(self, models: Sequence[NamedModel], *, run_dir: str | Path | None = None,
                 stage: str = "unknown", task_id: str | None = None, item: int | None = None,
                 policy: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep,
                 async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rng: random.Random | None = None, priority: int = 0, stage_name: str | None = None,
                 spend: PlanSpend | None = None, remark: str | None = None):
        if not models:
            raise ValueError("LLMExecutor needs at least one model")
        self.models = list(models)
        self.run_dir = Path(run_dir) if run_dir else None
        self.stage, self.task_id, self.item = stage, task_id, item
        self.stage_name = stage_name  # the stage's declared name, which the latency model knows it by
        self.policy = policy
        self._sleep, self._async_sleep = sleep, async_sleep
        self._rng = rng or random.Random()
        self.priority = priority  # who goes first when the provider's limit is the bottleneck
        self.flags: list[str] = []  # degenerate places of the answers kept: the stage's files show them
        # What the plan's calls cost, against its budget if it has one (llm/spend.py).
        self.spend = spend if spend is not None else (PlanSpend(self.run_dir) if self.run_dir else None)
        # What the task's record says it was made with (records.py): each structured call's
        # instructions, and the models that answered.
        self.call_versions: list[str] = []
        self.answered_by: list[str] = []
        self.remark = remark  # a person's remark on this step, added to each of its prompts

    # -- public API -------------------------------------------------------------------------
    def run(self, fn: Callable[[Any], T], tokens: int = 0, messages: tuple[str, ...] = (),
            estimate: Estimate | None = None) -> T:
        """fn(llm) -> result; tried on each model in turn under the retry policy.

        tokens: the call's estimated size, for a model paced to a tokens-per-minute budget.
        messages: the prompt's text, for telemetry that was asked to carry it.
        estimate: (input, output) tokens an attempt on a model may use at most, for the budget."""
        failures, attempts = CallFailures(), itertools.count(1)  # attempts: per logical call
        for model in self.models:
            state = ModelAttempts(tokens, messages, estimate)
            try:
                retrying = Retrying(sleep=self._sleep, **self._tenacity_args(model, state))
                return retrying(self._attempt_sync, model, fn, state, attempts)
            except BudgetReached:
                raise  # the plan's, not the model's: no other model is tried
            except Exception as exc:
                failures.add(model.name, state, exc)
        raise failures.error(stage=self.stage, item=self.item, run_dir=self.run_dir)

    async def run_async(self, fn: Callable[[Any], Awaitable[T]], tokens: int = 0,
                        messages: tuple[str, ...] = (), estimate: Estimate | None = None) -> T:
        failures, attempts = CallFailures(), itertools.count(1)
        for model in self.models:
            state = ModelAttempts(tokens, messages, estimate)
            try:
                retrying = AsyncRetrying(sleep=self._async_sleep, **self._tenacity_args(model, state))
                return await retrying(self._attempt_async, model, fn, state, attempts)
            except BudgetReached:
                raise
            except Exception as exc:
                failures.add(model.name, state, exc)
        raise failures.error(stage=self.stage, item=self.item, run_dir=self.run_dir)

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
        self.call_versions.append(call_version(system_prompt, output_cls.model_json_schema()))
        user_prompt = with_remark(user_prompt, self.remark)
        call = StructuredCall(output_cls, system_prompt, user_prompt, stage=self.stage,
                              may_ask_again=self._may_ask_again)
        return self._keep_repairs(self.run(OnModel(call.sync), tokens=call.estimated_tokens(), estimate=call.estimate,
                                           messages=_messages(system_prompt, user_prompt))).value

    async def astructured(self, output_cls: type[M], system_prompt: str, user_prompt: str) -> M:
        self.call_versions.append(call_version(system_prompt, output_cls.model_json_schema()))
        user_prompt = with_remark(user_prompt, self.remark)
        call = StructuredCall(output_cls, system_prompt, user_prompt, stage=self.stage,
                              may_ask_again=self._may_ask_again)
        return self._keep_repairs(await self.run_async(OnModel(call.run_async), tokens=call.estimated_tokens(),
                                                       estimate=call.estimate,
                                                       messages=_messages(system_prompt, user_prompt))).value

    def _may_ask_again(self) -> bool:
        return within_retry_budget(self.run_dir, self.policy.degenerate_retry_share)

    def _keep_repairs(self, result: Any) -> Any:
        """What was mended, and what was kept although degenerate, goes to the stage's notes,
        beside its failure reports; the flags also to the stage's own files (tasks/base.py)."""
        flags = getattr(result, "flags", ())
        self.flags.extend(flags)
        lines = [*getattr(result, "repairs", ()), *(f"flagged: {flag}" for flag in flags)]
        if lines and self.run_dir is not None:
            item = f"item-{self.item:03d}" if self.item is not None else "single"
            path = self.run_dir / "llm_repairs" / f"{self.stage}-{item}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as fh:
                fh.writelines(f"{redact(line)}\n" for line in lines)
        return result

    # -- one attempt ------------------------------------------------------------------------
    def _tenacity_args(self, model: NamedModel, state: ModelAttempts) -> dict[str, Any]:
        policy = self.policy

        def stop(rs: RetryCallState) -> bool:
            exc = rs.outcome.exception()
            if isinstance(exc, DegenerateAnswer):
                return state.degenerate > 1
            if isinstance(exc, SchemaValidationError):
                return state.invalid > policy.validation_retries
            if rate_limit_of(exc) is not None:
                return state.patience_spent(time.time()) >= policy.patience_s and not state.last_wait_pending
            return state.transient >= policy.max_attempts_per_model

        def wait(rs: RetryCallState) -> float:
            exc = rs.outcome.exception()
            if rate_limit_of(exc) is None:
                return policy.wait_s(exc, max(1, state.transient), self._rng)
            if model.limiter is not None and model.limiter.limits.adaptive:
                return 0.0  # the limiter now holds the reset: the next admission waits for it
            # (tenacity asks for the wait before it asks whether to stop: a last, shortened wait
            # that spends the patience still earns its attempt.)
            wait_s = max(0.0, min(state.rate_limit_wait_s, policy.patience_s - state.waited_s))
            state.last_wait_pending = wait_s > 0
            state.waited_s += wait_s
            return wait_s

        retry = retry_if_exception(lambda e: (isinstance(e, SchemaValidationError) and e.retryable) or is_transient(e))
        return {"stop": stop, "wait": wait, "retry": retry, "reraise": True}

    def _admission(self, model: NamedModel, state: ModelAttempts) -> Lease | None:
        """A place under the provider's shared limit (waiting for it), if the model has one."""
        if model.limiter is None:
            return None
        lease = model.limiter.acquire(priority=self.priority, tokens=state.tokens, stage=self.stage, item=self.item,
                                      deadline=time.time() + self.policy.patience_s - state.patience_spent(time.time()))
        state.waited_s += lease.blocked_s
        return lease

    @contextlib.contextmanager
    def _held(self, model: NamedModel, state: ModelAttempts) -> Iterator[Hold]:
        """The attempt's place under the plan's budget (BudgetReached before anything is sent),
        settled with what the attempt cost when it ends, however it ends."""
        if self.spend is None:
            yield Hold(None)
            return
        estimate_usd = None
        if self.spend.budget_usd is not None and state.estimate is not None:
            tokens_in, tokens_out = state.estimate(model.settings)
            estimate_usd = model.pricing.cost(input_tokens=tokens_in, output_tokens=tokens_out)
        hold = self.spend.hold(estimate_usd)
        try:
            yield hold
        finally:
            self.spend.settle(hold)

    @contextlib.contextmanager
    def _attempt(self, model: NamedModel, state: ModelAttempts, attempts: Iterator[int], lease: Lease | None,
                 hold: Hold):
        """One attempt under its lease: the call context the simulator reads, the provider's
        failure mapped to ours (llm/failures.py), the attempt's telemetry line, and what the answer
        tells the limiter."""
        attempt = next(attempts)
        token = current_call.set(CallContext(self.stage, self.item, attempt, self.stage_name,
                                             str(self.run_dir) if self.run_dir else None))
        outcome = _Outcome(attempt=attempt)
        start = time.time()
        try:
            with provider_failures():
                yield outcome
        except Exception as exc:
            state.count(exc)
            self._record(model, state, attempt, start, None, exc, hold)
            self._answered(model, lease, state, exc)
            raise
        finally:
            current_call.reset(token)
        if lease is not None:
            model.limiter.release(lease)
        self.answered_by.append(model.name)
        self._record(model, state, attempt, start, outcome.result, None, hold)

    def _answered(self, model: NamedModel, lease, state: ModelAttempts, exc: BaseException) -> None:
        """Tell the limiter how a failed attempt ended; a quota beyond the patience ends the model."""
        answer = rate_limit_of(exc)
        limiter = model.limiter
        if answer is None:
            if lease is not None:
                limiter.release(lease, clean=False)
            return
        now = time.time()
        if answer.is_quota(now, self.policy.patience_s):
            if lease is None:
                raise ProviderQuotaExhausted(model.name, answer.reset_at, answer.source) from exc
            limiter.release(lease, clean=False)
            raise limiter.record_quota(answer.reset_at, answer.source) from exc
        failures = state.transient + state.rate_limited
        state.rate_limit_wait_s = self.policy.wait_s(exc, max(1, failures), self._rng)
        if lease is not None:
            limiter.release(lease, rate_limited=True, come_back_at=answer.reset_at or now + state.rate_limit_wait_s)

    def _attempt_sync(self, model: NamedModel, fn, state: ModelAttempts, attempts: Iterator[int]):
        with self._held(model, state) as hold:
            with self._attempt(model, state, attempts, self._admission(model, state), hold) as outcome:
                outcome.result = _call(fn, model, outcome.attempt)
        return outcome.result

    async def _attempt_async(self, model: NamedModel, fn, state: ModelAttempts, attempts: Iterator[int]):
        with self._held(model, state) as hold:
            # The limiter waits with a blocking sleep: off the event loop, so other calls go on.
            lease = await asyncio.to_thread(self._admission, model, state)
            with self._attempt(model, state, attempts, lease, hold) as outcome:
                outcome.result = await _call(fn, model, outcome.attempt)
        return outcome.result

    def _record(self, model: NamedModel, state: ModelAttempts, attempt: int, start: float, result: Any,
                exc: BaseException | None, hold: Hold) -> None:
        usage = getattr(result, "usage", None) or getattr(exc, "usage", None)
        cost, cost_source = call_cost(model.pricing, usage)
        hold.cost_usd = cost
        if self.run_dir is None:
            return
        end = time.time()
        append_event(self.run_dir, LLMCallEvent(
            task_family=self.stage, task_id=self.task_id, item=self.item,
            model=model.name, attempt=attempt, start=start, end=end,
            duration_s=round(end - start, 6),
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
            tokens_estimated=bool(usage and usage.estimated),
            cached_input_tokens=getattr(usage, "cached_input_tokens", None),
            reasoning_tokens=getattr(usage, "reasoning_tokens", None),
            cost_usd=None if cost is None else round(cost, 9), cost_source=cost_source, route=model.route,
            status="error" if exc else "ok", error=describe(exc) if exc else None,
            finish_reason=getattr(result, "finish_reason", None) or getattr(exc, "finish_reason", None),
            repairs=len(getattr(result, "repairs", ())),
            flags=len(getattr(result, "flags", ())),
            error_type=type(exc).__name__ if exc else None, provider=model.provider,
            request_model=model.request_model, parent_span_id=task_span(self.task_id), messages=state.messages,
        ))


REMARK_HEADING = "# Remark from the person revising this plan"


def with_remark(user_prompt: str, remark: str | None) -> str:
    """The prompt with a person's remark last, after the plan's context and the item."""
    return f"{user_prompt.rstrip()}\n\n{REMARK_HEADING}\n{remark.strip()}\n" if remark and remark.strip() else user_prompt


@dataclass
class _Outcome:
    attempt: int = 1
    result: Any = None


@dataclass(frozen=True)
class OnModel:
    """A call that is told how the model it is tried on is asked, and which attempt this is:
    fn(llm, settings, attempt). A plain fn(llm) is told nothing."""

    fn: Callable[[Any, ModelSettings, int], Any]


def _call(fn: Any, model: NamedModel, attempt: int) -> Any:
    return fn.fn(model.llm(), model.settings, attempt) if isinstance(fn, OnModel) else fn(model.llm())


def _messages(system_prompt: str, user_prompt: str) -> tuple[str, ...]:
    # Prompts stay out of telemetry unless a trace was asked to carry them.
    return (redact(system_prompt), redact(user_prompt)) if capture_content() else ()
