"""LLMExecutor: fallback, retries, Retry-After, validation retry, failure report, batches, telemetry.

No real sleeping: every executor gets `sleep` / `async_sleep` fakes that record the waits.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time

import openai
import pytest

from planexe_pipeline.errors import LLMCallFailed
from planexe_pipeline.llm.executor import (
    NamedModel,
    RetryPolicy,
)
from planexe_pipeline.llm.retry_policy import retry_after_of
from planexe_pipeline.llm.failures import provider_failure
from planexe_pipeline.llm.structured import SchemaValidationError
from support.executor_fakes import (Answer, FixedRng, Flaky, INVALID, ScriptedLLM, VALID, llm_lines, make, status_error)


# -- fallback ----------------------------------------------------------------------------------
def test_non_transient_failure_falls_back_to_next_model_in_order(tmp_path):
    first, second, third = Flaky(ValueError("model refused"), result="a"), Flaky(result="b"), Flaky(result="c")
    executor, sleeps = make([("first", first), ("second", second), ("third", third)], tmp_path)
    assert executor.run(lambda llm: llm(None)) == "b"
    assert (first.calls, second.calls, third.calls) == (1, 1, 0)
    assert sleeps.waits == [], "a non-transient error is not retried on the same model"
    lines = llm_lines(tmp_path)
    assert [(line.model, line.attempt, line.status) for line in lines] == [
        ("first", 1, "error"), ("second", 2, "ok")]
    assert lines[0].error == "ValueError: model refused"
    assert lines[1].error is None


def test_model_that_keeps_failing_transiently_hands_over_after_max_attempts(tmp_path):
    policy = RetryPolicy(max_attempts_per_model=3, initial_wait_s=1, max_wait_s=30, jitter_s=0)
    busy = Flaky(*[TimeoutError("slow")] * 10)
    executor, sleeps = make([("busy", lambda: None), ("spare", lambda: None)], tmp_path, policy=policy)
    calls = []

    def fn(llm):
        calls.append(llm)
        return busy(None) if len(calls) <= 3 else "spare answer"

    assert executor.run(fn) == "spare answer"
    assert len(calls) == 4
    assert sleeps.waits == [1, 2], "waits only between the 3 tries on the busy model"
    assert [line.model for line in llm_lines(tmp_path)] == ["busy"] * 3 + ["spare"]


def test_model_is_created_once_per_executor(tmp_path):
    created = []

    def factory():
        created.append(1)
        return object()

    executor, _ = make([NamedModel("lazy", factory)], tmp_path)
    executor.run(Flaky(TimeoutError("t")))
    executor.run(Flaky())
    assert len(created) == 1


# -- backoff -----------------------------------------------------------------------------------
def test_transient_errors_back_off_exponentially_with_jitter(tmp_path):
    policy = RetryPolicy(max_attempts_per_model=5, initial_wait_s=1.0, max_wait_s=30.0, jitter_s=0.5)
    fn = Flaky(TimeoutError("t"), ConnectionResetError("r"), status_error(openai.InternalServerError, 502),
               status_error(openai.RateLimitError, 429))  # a 429 without Retry-After: plain backoff
    executor, sleeps = make([("m", None)], tmp_path, policy=policy, rng=FixedRng(0.4))
    assert executor.run(fn) == "done"
    assert fn.calls == 5
    assert sleeps.waits == pytest.approx([1.2, 2.2, 4.2, 8.2])  # 2**k + 0.4 * jitter


def test_backoff_jitter_is_random_but_bounded(tmp_path):
    policy = RetryPolicy(max_attempts_per_model=5, initial_wait_s=1.0, max_wait_s=30.0, jitter_s=1.0)
    executor, sleeps = make([("m", None)], tmp_path, policy=policy, rng=random.Random(3))
    executor.run(Flaky(*[TimeoutError("t")] * 4))
    for k, wait in enumerate(sleeps.waits):
        assert 2 ** k <= wait <= 2 ** k + 1.0
    assert len({round(w - int(w), 6) for w in sleeps.waits}) > 1, "the jitter varies"


def test_backoff_is_capped(tmp_path):
    policy = RetryPolicy(max_attempts_per_model=5, initial_wait_s=4.0, max_wait_s=10.0, jitter_s=1.0)
    executor, sleeps = make([("m", None)], tmp_path, policy=policy, rng=FixedRng(1.0))
    executor.run(Flaky(*[TimeoutError("t")] * 4))
    assert sleeps.waits == [5.0, 9.0, 10.0, 10.0]


# -- Retry-After -------------------------------------------------------------------------------
class RetryAfterAttr(Exception):
    status_code = 429

    def __init__(self, seconds):
        super().__init__("slow down")
        self.retry_after = seconds


def test_retry_after_attribute_is_waited_at_least(tmp_path):
    executor, sleeps = make([("m", None)], tmp_path, rng=FixedRng(0.0))
    assert executor.run(Flaky(RetryAfterAttr(2.5), RetryAfterAttr(0.0))) == "done"
    assert sleeps.waits == pytest.approx([2.5, 0.0], abs=0.01)


def test_retry_after_is_spread_by_jitter_so_refused_callers_do_not_return_together(tmp_path):
    policy = RetryPolicy(jitter_s=1.0)
    executor, sleeps = make([("m", None)], tmp_path, policy=policy, rng=FixedRng(1.0))
    executor.run(Flaky(RetryAfterAttr(2.0), RetryAfterAttr(20.0)))
    # a quarter of the wait at most, and never more than jitter_s
    assert sleeps.waits == pytest.approx([2.5, 21.0], abs=0.01)


def test_retry_after_header_seconds(tmp_path):
    executor, sleeps = make([("m", None)], tmp_path, rng=FixedRng(0.0))
    fn = Flaky(status_error(openai.RateLimitError, 429, {"Retry-After": "3"}),
               status_error(openai.InternalServerError, 503, {"retry-after": "0.75"}))
    assert executor.run(fn) == "done"
    assert sleeps.waits == pytest.approx([3.0, 0.75], abs=0.01)


def test_retry_after_ms_header_wins(tmp_path):
    executor, sleeps = make([("m", None)], tmp_path, rng=FixedRng(0.0))
    fn = Flaky(status_error(openai.RateLimitError, 429, {"retry-after-ms": "1500", "retry-after": "9"}))
    executor.run(fn)
    assert sleeps.waits == pytest.approx([1.5], abs=0.01)


def refusal(headers: dict):
    """A 429 as it leaves the provider boundary (llm/failures.py)."""
    return provider_failure(status_error(openai.RateLimitError, 429, headers))


@pytest.fixture
def far_from_utc(monkeypatch):
    """A local zone 5 hours off UTC, so a date read as local time would be caught."""
    monkeypatch.setenv("TZ", "EST+05")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_retry_after_http_date(tmp_path, far_from_utc):
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 7, usegmt=True)
    assert retry_after_of(refusal({"Retry-After": date}), now=lambda: now) == 7.0
    # the same in the "-0000" form, which parses to a naive datetime: still UTC, not local time
    naive = email.utils.formatdate(now + 7, usegmt=False)
    assert retry_after_of(refusal({"Retry-After": naive}), now=lambda: now) == 7.0
    past = email.utils.formatdate(now - 60, usegmt=True)
    assert retry_after_of(refusal({"Retry-After": past}), now=lambda: now) == 0.0

    executor, sleeps = make([("m", None)], tmp_path, rng=FixedRng(0.0))
    in_7s = email.utils.formatdate(time.time() + 7, usegmt=True)  # whole seconds: 6 < wait <= 7
    executor.run(Flaky(status_error(openai.RateLimitError, 429, {"Retry-After": in_7s})))
    assert len(sleeps.waits) == 1 and 5.5 < sleeps.waits[0] <= 7.0


def test_garbled_retry_after_falls_back_to_backoff(tmp_path):
    assert retry_after_of(refusal({"Retry-After": "soon-ish"})) is None
    assert retry_after_of(refusal({"Retry-After-Ms": "x"})) is None
    assert retry_after_of(ValueError("no response at all")) is None
    policy = RetryPolicy(initial_wait_s=1.0, jitter_s=0.0)
    executor, sleeps = make([("m", None)], tmp_path, policy=policy)
    assert executor.run(Flaky(status_error(openai.RateLimitError, 429, {"Retry-After": "soon-ish"}))) == "done"
    assert sleeps.waits == [1.0]


def test_a_rate_limit_is_waited_out_beyond_the_backoff_cap_within_the_patience(tmp_path):
    policy = RetryPolicy(max_wait_s=30.0, patience_s=600.0, jitter_s=0.0)
    executor, sleeps = make([("m", None)], tmp_path, policy=policy)
    executor.run(Flaky(RetryAfterAttr(500)))
    assert sleeps.waits == pytest.approx([500.0], abs=0.01), "coming back before the reset only earns a refusal"


def test_rate_limits_are_retried_by_patience_not_by_count(tmp_path):
    policy = RetryPolicy(max_attempts_per_model=2, patience_s=10.0, jitter_s=0.0)
    executor, sleeps = make([("m", None)], tmp_path, policy=policy)
    assert executor.run(Flaky(*[RetryAfterAttr(1.0)] * 8)) == "done", "eight refusals, nine seconds: within patience"
    assert len(sleeps.waits) == 8
    fn = Flaky(*[RetryAfterAttr(3.0)] * 8)
    with pytest.raises(LLMCallFailed, match="RateLimit|rate limit|slow down"):
        make([("m", None)], tmp_path, policy=policy)[0].run(fn)
    assert fn.calls == 5, "3 + 3 + 3 + 1 seconds of waiting, then the patience is spent"


# -- schema validation -------------------------------------------------------------------------
def test_invalid_answer_gets_exactly_one_more_try_then_next_model(tmp_path):
    first = ScriptedLLM(INVALID, "not json at all", VALID)
    second = ScriptedLLM(VALID)
    executor, sleeps = make([("first", first), ("second", second)], tmp_path, item=2)
    result = executor.structured(Answer, "system", "user")
    assert result == Answer(title="Solar farm", score=4)
    assert (first.calls, second.calls) == (2, 1)
    assert all(w == 0 for w in sleeps.waits), "no backoff for an invalid answer"
    lines = llm_lines(tmp_path)
    assert [(line.model, line.status) for line in lines] == [
        ("first", "error"), ("first", "error"), ("second", "ok")]
    assert lines[0].error.startswith("SchemaValidationError: answer is not valid Answer JSON")
    assert lines[0].tokens_estimated is True and lines[0].output_tokens > 0


def test_invalid_answer_then_valid_on_the_same_model(tmp_path):
    first = ScriptedLLM(INVALID, VALID)
    second = ScriptedLLM(VALID)
    executor, _ = make([("first", first), ("second", second)], tmp_path)
    assert executor.structured(Answer, "s", "u").score == 4
    assert (first.calls, second.calls) == (2, 0)


def test_structured_async(tmp_path):
    llm = ScriptedLLM(TimeoutError("t"), INVALID, VALID)
    executor, sleeps = make([("m", llm)], tmp_path, policy=RetryPolicy(jitter_s=0))
    assert asyncio.run(executor.astructured(Answer, "s", "u")).title == "Solar farm"
    assert llm.calls == 3
    assert sleeps.waits == [1.0, 0.0]


# -- every model fails -------------------------------------------------------------------------
def test_all_models_fail_names_stage_item_models_and_saved_raw_answer(tmp_path):
    first = ScriptedLLM("first raw answer, not JSON")
    second = ScriptedLLM('{"title": "last raw answer"}')
    executor, _ = make([("model-one", first), ("model-two", second)], tmp_path, item=7,
                       stage="ExpertCriticismItem")
    with pytest.raises(LLMCallFailed) as exc:
        executor.structured(Answer, "s", "u")
    message = str(exc.value)
    assert "\n" not in message
    assert "ExpertCriticismItem item 7" in message
    assert "model-one" in message and "model-two" in message
    assert message.index("model-one") < message.index("model-two")
    saved = tmp_path / "llm_failures" / "ExpertCriticismItem-item-007.txt"
    # Named within the run folder: the line is kept in its telemetry, which a copy keeps too.
    assert "saved to llm_failures/ExpertCriticismItem-item-007.txt in the run folder;" in message
    assert str(tmp_path) not in message
    assert saved.read_text(encoding="utf-8") == '{"title": "last raw answer"}'
    assert exc.value.exit_code == 3
    assert len(llm_lines(tmp_path)) == 4


def test_all_models_fail_without_raw_answer_still_names_everything(tmp_path):
    executor, _ = make([("a", None), ("b", None)], tmp_path, stage="PlanType")
    with pytest.raises(LLMCallFailed) as exc:
        executor.run(Flaky(*[ValueError("nope")] * 3))
    message = str(exc.value)
    assert message.startswith("PlanType: every model failed")
    assert "a: ValueError: nope" in message and "b: ValueError: nope" in message
    assert not (tmp_path / "llm_failures").exists()


def test_all_models_fail_async(tmp_path):
    executor, _ = make([("a", ScriptedLLM("raw a")), ("b", ScriptedLLM("raw b"))], tmp_path, item=0,
                       stage="WBSLevel3Item")
    with pytest.raises(LLMCallFailed) as exc:
        asyncio.run(executor.astructured(Answer, "s", "u"))
    saved = tmp_path / "llm_failures" / "WBSLevel3Item-item-000.txt"
    assert "saved to llm_failures/WBSLevel3Item-item-000.txt in the run folder" in str(exc.value)
    assert saved.read_text() == "raw b"
