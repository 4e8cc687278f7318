"""Provider failures, mapped once from each client's own exceptions into the kinds of ours.

Every call into a provider's client runs inside `provider_failures()` (each attempt of the
executor, and check-model's one call): what the client raises leaves it as one of the kinds
below, the client's own exception kept as its cause. As httpx maps its transport's errors into
a tree of its own, everything past that boundary (retries, rate limits, check-model's words,
telemetry) reads these kinds and their fields, never a client's class or its name; the clients'
exception types (httpx's, which every client uses underneath, openai's and ollama's once a
client has imported them, and Python's own socket errors) are named here only.

    ProviderFailure              another failure of a provider client: the next model is tried
    +-- ProviderTimeout          no answer within the client's timeout                (transient)
    +-- ProviderUnreachable      no connection, or one dropped before the answer      (transient)
    +-- ProviderHTTPError        an HTTP error status (transient: 408, 409, 5xx)
        +-- ProviderRateLimited  429, or a client's rate-limit error                  (transient)
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterator, Mapping

import httpx

TRANSIENT_STATUS = frozenset({408, 409, 429})
RATE_LIMIT_STATUS = 429


def _client_types(module: str, *names: str) -> tuple[type[BaseException], ...]:
    """Exception classes of a client's package once a client imported it: before that, none of
    its calls has run, so none can have been raised (and a run on the simulator never imports
    openai or ollama for their exceptions' sake: openai takes about a second to import)."""
    loaded = sys.modules.get(module)
    return tuple(getattr(loaded, name) for name in names) if loaded is not None else ()


# Each family of client exceptions, by type. An exception that carries an HTTP error status is an
# answer (ProviderHTTPError) whatever its type: openai's APIStatusError, ollama's ResponseError,
# httpx's HTTPStatusError, and the simulator's refusals all do.
def timeout_types() -> tuple[type[BaseException], ...]:
    return TimeoutError, httpx.TimeoutException, *_client_types("openai", "APITimeoutError")


def unreachable_types() -> tuple[type[BaseException], ...]:
    return (ConnectionError, httpx.NetworkError, httpx.RemoteProtocolError,
            *_client_types("openai", "APIConnectionError"))


def rate_limit_types() -> tuple[type[BaseException], ...]:
    return _client_types("openai", "RateLimitError")


def client_types() -> tuple[type[BaseException], ...]:
    return (httpx.HTTPError, *_client_types("openai", "OpenAIError"),
            *_client_types("ollama", "RequestError", "ResponseError"))


class ProviderFailure(Exception):
    """A provider call failed; `cause` (also `__cause__`) is what its client raised."""

    transient = False

    def __init__(self, cause: BaseException, *, status_code: int | None = None,
                 headers: Mapping[str, str] | None = None, error_code: str = "", retry_after: float | None = None):
        text = str(cause).strip()
        super().__init__(f"{type(cause).__name__}: {text.splitlines()[0] if text else 'no message'}")
        self.cause = cause
        self.status_code = status_code
        self.headers: dict[str, str] = dict(headers or {})  # the response's, names lower-cased
        self.error_code = error_code  # the provider's own code for the error ("insufficient_quota")
        self.retry_after = retry_after  # seconds to wait, where the client read them already
        self.message = _message_of(cause)  # the provider's own words where it sent some


class ProviderTimeout(ProviderFailure):
    transient = True


class ProviderUnreachable(ProviderFailure):
    transient = True


class ProviderHTTPError(ProviderFailure):
    @property
    def transient(self) -> bool:  # type: ignore[override]
        code = self.status_code
        return code is None or code in TRANSIENT_STATUS or 500 <= code < 600


class ProviderRateLimited(ProviderHTTPError):
    pass


def provider_failure(exc: BaseException) -> ProviderFailure | None:
    """What kind of provider failure `exc` is, or None when no provider client raised it (our
    own errors: an answer that fails its schema, a prompt too large, a bug)."""
    if isinstance(exc, ProviderFailure):
        return exc
    status = _status_of(exc)
    if status is not None:
        kind = ProviderRateLimited if status == RATE_LIMIT_STATUS or isinstance(exc, rate_limit_types()) \
            else ProviderHTTPError
    elif isinstance(exc, rate_limit_types()):
        kind = ProviderRateLimited
    elif isinstance(exc, timeout_types()):  # before unreachable: openai's timeout is a connection error
        kind = ProviderTimeout
    elif isinstance(exc, unreachable_types()):
        kind = ProviderUnreachable
    elif isinstance(exc, client_types()):
        kind = ProviderFailure
    else:
        return None
    return kind(exc, status_code=status, headers=_headers_of(exc), error_code=_error_code(exc),
                retry_after=_retry_after(exc))


@contextlib.contextmanager
def provider_failures() -> Iterator[None]:
    """Around a call into a provider's client: what it raises leaves as a ProviderFailure."""
    try:
        yield
    except Exception as exc:
        failure = provider_failure(exc)
        if failure is None or failure is exc:
            raise
        raise failure from exc


def is_transient(exc: BaseException) -> bool:
    """A failure worth trying again on the same model."""
    return isinstance(exc, ProviderFailure) and exc.transient


# -- what a client's exception carries ------------------------------------------------------
def _status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(exc, "status_code", None)
    if not isinstance(code, int) and isinstance(response, httpx.Response):
        code = response.status_code
    return code if isinstance(code, int) and not isinstance(code, bool) and code >= 400 else None


def _headers_of(exc: BaseException) -> dict[str, str]:
    response = getattr(exc, "response", None)
    headers = response.headers if isinstance(response, httpx.Response) else getattr(exc, "headers", None)
    try:
        return {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    except (AttributeError, TypeError):
        return {}


def _body_error(exc: BaseException) -> Any:
    body = getattr(exc, "body", None)
    return body.get("error", body) if isinstance(body, dict) else body


def _error_code(exc: BaseException) -> str:
    error = _body_error(exc)
    if isinstance(error, dict):
        return str(error.get("code") or error.get("type") or "")
    code = getattr(exc, "code", "")
    return code if isinstance(code, str) else ""


def _retry_after(exc: BaseException) -> float | None:
    asked = getattr(exc, "retry_after", None)
    return max(0.0, float(asked)) if isinstance(asked, (int, float)) and not isinstance(asked, bool) else None


def _message_of(exc: BaseException) -> str:
    """The provider's own message where its error carries one (openai's body, ollama's `error`),
    else the exception's first line."""
    error = _body_error(exc)
    message = error.get("message") if isinstance(error, dict) else getattr(exc, "error", None)
    text = str(message if isinstance(message, str) and message else exc or type(exc).__name__)
    return (text.splitlines() or [type(exc).__name__])[0][:200]
