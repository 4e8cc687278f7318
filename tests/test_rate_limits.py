"""Every way a provider says when to come back becomes one moment; far moments are quotas."""

from __future__ import annotations

import email.utils

import httpx
import openai
import pytest

from planexe_pipeline.llm.failures import provider_failure
from planexe_pipeline.llm.rate_limits import parse_duration, rate_limit_of
from planexe_pipeline.llm.sim_provider import openai_duration
from support.executor_fakes import status_error

NOW = 1_800_000_000.0


def answer(headers: dict, status: int = 429, cls=openai.RateLimitError):
    return rate_limit_of(provider_failure(status_error(cls, status, headers)), now=lambda: NOW)


@pytest.mark.parametrize("text, seconds", [
    ("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("0.5", 0.5), ("17", 17.0),
    ("6h0m0s", 21600.0), ("soon", None), ("1x", None), ("", None),
])
def test_openai_durations(text, seconds):
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize("seconds", [0.02, 1.0, 59.5, 360.0, 21600.0])
def test_the_simulator_writes_durations_the_parser_reads(seconds):
    assert parse_duration(openai_duration(seconds)) == pytest.approx(seconds, abs=0.001)


@pytest.mark.parametrize("headers, wait, source", [
    ({"Retry-After": "3"}, 3.0, "retry-after"),
    ({"Retry-After": email.utils.formatdate(NOW + 90, usegmt=True)}, 90.0, "retry-after"),
    ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5, "retry-after-ms"),
    ({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s",
      "x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "5000"}, 1.0, "x-ratelimit-reset-requests"),
    ({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "20ms",
      "x-ratelimit-remaining-tokens": "0"}, 0.02, "x-ratelimit-reset-tokens"),
    ({"X-RateLimit-Reset": str(int((NOW + 42) * 1000))}, 42.0, "x-ratelimit-reset"),  # OpenRouter: epoch ms
    ({"X-RateLimit-Reset": str(int(NOW + 42))}, 42.0, "x-ratelimit-reset"),  # epoch seconds
    ({"X-RateLimit-Reset": "12"}, 12.0, "x-ratelimit-reset"),  # seconds from now
])
def test_every_reset_hint_becomes_one_moment(headers, wait, source):
    found = answer(headers)
    assert found.wait_s(NOW) == pytest.approx(wait, abs=0.01)
    assert found.source == source


def test_a_429_without_a_hint_is_still_a_rate_limit_and_a_503_only_with_one():
    bare = answer({})
    assert bare is not None and bare.reset_at is None and not bare.is_quota(NOW, 600)
    assert answer({}, 503, openai.InternalServerError) is None
    assert answer({"Retry-After": "2"}, 503, openai.InternalServerError).wait_s(NOW) == pytest.approx(2.0)
    assert answer({"Retry-After": "2"}, 500, openai.InternalServerError) is None
    assert rate_limit_of(ValueError("not an HTTP answer")) is None


def test_a_reset_beyond_the_patience_is_a_quota():
    daily = answer({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6h0m0s"})
    assert daily.is_quota(NOW, patience_s=600)
    assert not answer({"Retry-After": "30"}).is_quota(NOW, patience_s=600)
    assert answer({"Retry-After": "30"}).is_quota(NOW, patience_s=10)


def test_an_account_without_credit_is_a_quota_whatever_the_headers():
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    exc = openai.RateLimitError("no credit", response=httpx.Response(429, request=request),
                                body={"error": {"code": "insufficient_quota", "message": "no credit"}})
    assert rate_limit_of(provider_failure(exc)).is_quota(NOW, patience_s=600)


def test_garbled_hints_mean_no_hint():
    for headers in ({"Retry-After": "soon-ish"}, {"retry-after-ms": "x"}, {"x-ratelimit-reset-requests": "later"},
                    {"X-RateLimit-Reset": "tomorrow"}):
        assert answer(headers).reset_at is None, headers
