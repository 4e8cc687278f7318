"""Provider failures are mapped once (llm/failures.py): each family of client exceptions, as the
real clients raise them, becomes one kind of ours; nothing else tells providers apart by name."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import httpx
import ollama
import openai
import pytest

import planexe_pipeline
from planexe_pipeline.llm.budget import PromptTooLarge
from planexe_pipeline.llm.failures import (ProviderFailure, ProviderHTTPError, ProviderRateLimited, ProviderTimeout,
                                           ProviderUnreachable, is_transient, provider_failure, provider_failures)
from planexe_pipeline.llm.sim_provider import ProviderRefusal
from planexe_pipeline.llm.simulator import SimulatedRateLimitError, SimulatedTimeoutError
from planexe_pipeline.llm.structured import SchemaValidationError
from support.executor_fakes import status_error

REQUEST = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
CLOSED_PORT = "http://127.0.0.1:9"  # discard: nothing listens, the connection is refused at once


def http_status(status: int) -> httpx.HTTPStatusError:
    response = httpx.Response(status, request=REQUEST)
    return httpx.HTTPStatusError(f"HTTP {status}", request=REQUEST, response=response)


@pytest.mark.parametrize("exc, kind, transient", [
    # Python's own, as clients and the simulator raise them
    (TimeoutError("t"), ProviderTimeout, True),
    (asyncio.TimeoutError(), ProviderTimeout, True),
    (ConnectionRefusedError("refused"), ProviderUnreachable, True),
    (ConnectionResetError("reset"), ProviderUnreachable, True),
    # httpx, under every client
    (httpx.ReadTimeout("slow", request=REQUEST), ProviderTimeout, True),
    (httpx.ConnectTimeout("slow", request=REQUEST), ProviderTimeout, True),
    (httpx.PoolTimeout("slow", request=REQUEST), ProviderTimeout, True),
    (httpx.ConnectError("refused", request=REQUEST), ProviderUnreachable, True),
    (httpx.ReadError("dropped", request=REQUEST), ProviderUnreachable, True),
    (httpx.RemoteProtocolError("closed mid-answer", request=REQUEST), ProviderUnreachable, True),
    (http_status(502), ProviderHTTPError, True),
    (http_status(400), ProviderHTTPError, False),
    (httpx.UnsupportedProtocol("ftp://"), ProviderFailure, False),
    # openai (OpenAILike)
    (openai.APITimeoutError(request=REQUEST), ProviderTimeout, True),  # a connection error by its class
    (openai.APIConnectionError(request=REQUEST), ProviderUnreachable, True),
    (status_error(openai.RateLimitError, 429), ProviderRateLimited, True),
    (status_error(openai.InternalServerError, 503), ProviderHTTPError, True),
    (status_error(openai.APIStatusError, 408), ProviderHTTPError, True),
    (status_error(openai.ConflictError, 409), ProviderHTTPError, True),
    (status_error(openai.BadRequestError, 400), ProviderHTTPError, False),
    (status_error(openai.AuthenticationError, 401), ProviderHTTPError, False),
    (status_error(openai.NotFoundError, 404), ProviderHTTPError, False),
    (openai.APIResponseValidationError(httpx.Response(200, request=REQUEST), body=None), ProviderFailure, False),
    # ollama (Ollama)
    (ollama.ResponseError("model is loading", 503), ProviderHTTPError, True),
    (ollama.ResponseError("too many requests", 429), ProviderRateLimited, True),
    (ollama.ResponseError("error in the stream"), ProviderFailure, False),  # no status: said mid-answer
    (ollama.RequestError("must provide a model"), ProviderFailure, False),
    # the offline simulator and its provider limits
    (SimulatedRateLimitError(2.0), ProviderRateLimited, True),
    (SimulatedTimeoutError("hung"), ProviderTimeout, True),
    (ProviderRefusal("busy", {"Retry-After": "1.5"}), ProviderRateLimited, True),
])
def test_each_provider_exception_family_maps_to_one_kind_of_failure(exc, kind, transient):
    failure = provider_failure(exc)
    assert type(failure) is kind and failure.cause is exc
    assert is_transient(failure) is transient
    assert str(failure).startswith(type(exc).__name__ + ":"), "the client's own class stays readable"


@pytest.mark.parametrize("exc", [ValueError("a bug"), SchemaValidationError("bad", raw_text="{}"),
                                 PromptTooLarge("too long"), KeyError("x")])
def test_what_no_provider_client_raised_is_not_a_provider_failure(exc):
    assert provider_failure(exc) is None and not is_transient(exc)
    with pytest.raises(type(exc)) as raised, provider_failures():
        raise exc
    assert raised.value is exc, "passed on as it was"


def test_the_mapping_keeps_what_the_answer_said():
    body = {"error": {"code": "insufficient_quota", "message": "no credit"}}
    exc = openai.RateLimitError("Error code: 429", body=body,
                                response=httpx.Response(429, headers={"Retry-After": "7", "X-Request-Id": "r1"},
                                                        request=REQUEST))
    failure = provider_failure(exc)
    assert failure.status_code == 429 and failure.error_code == "insufficient_quota" and failure.message == "no credit"
    assert failure.headers == {"retry-after": "7", "x-request-id": "r1"}, "lower-cased, for every reader"
    assert provider_failure(SimulatedRateLimitError(2.5)).retry_after == 2.5
    assert provider_failure(ollama.ResponseError('{"error": "model not found"}', 404)).message == "model not found"


def test_a_real_client_s_failure_leaves_the_boundary_as_ours_with_its_own_as_the_cause():
    with pytest.raises(ProviderUnreachable) as raised, provider_failures():
        ollama.Client(host=CLOSED_PORT).chat(model="m", messages=[{"role": "user", "content": "hi"}])
    assert isinstance(raised.value.__cause__, ConnectionError) and raised.value.cause is raised.value.__cause__
    with pytest.raises(ProviderUnreachable) as raised, provider_failures():
        openai.OpenAI(base_url=CLOSED_PORT + "/v1", api_key="k", max_retries=0).models.list()
    assert isinstance(raised.value.cause, openai.APIConnectionError)
    failure = ProviderTimeout(TimeoutError("t"))
    with pytest.raises(ProviderTimeout) as raised, provider_failures():
        raise failure
    assert raised.value is failure, "a failure already ours is not wrapped again"


def name_tests_in(path: Path) -> list[int]:
    """Lines that compare a class's name (`type(x).__name__ == ...`, `x.class_name in ...`) or
    intersect the names of an exception's classes with a set: what the one mapping replaces."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            named = [s for s in sides if isinstance(s, ast.Attribute) and s.attr in ("__name__", "class_name")]
            main = any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
            if named and not main:
                lines.append(node.lineno)
        elif isinstance(node, ast.SetComp) and "__mro__" in ast.unparse(node):
            lines.append(node.lineno)
    return lines


def test_no_module_tells_a_provider_or_model_class_by_its_name():
    package = Path(planexe_pipeline.__file__).parent
    found = {str(p.relative_to(package)): lines for p in sorted(package.rglob("*.py"))
             if (lines := name_tests_in(p))}
    assert found == {}, "test a capability of the entry (llm/config.py ModelClass) or a failure kind instead"
