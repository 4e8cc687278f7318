"""What kind of failure a provider call ended in, by the exception's type, not its name.

Transient failures (timeouts, dropped connections, 408/409/429/5xx answers) are tried again;
anything else moves on to the next model. The provider clients' own exception types are named
here once: httpx's (which every client uses underneath) and, when its extra is installed,
openai's.
"""

from __future__ import annotations

import asyncio

import httpx

try:  # the [openai] extra; without it no call can raise its errors
    import openai
except ImportError:  # pragma: no cover - the test environment installs every extra
    openai = None

TRANSIENT_STATUS = frozenset({408, 409, 429})
TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    TimeoutError, ConnectionError, asyncio.TimeoutError,
    httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError,
    *((openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)
      if openai is not None else ()),
)
# A rate-limit answer by its type, for clients that raise one without a status code on it.
RATE_LIMIT_TYPES: tuple[type[BaseException], ...] = (openai.RateLimitError,) if openai is not None else ()


def status_code_of(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    if code is None:
        code = getattr(getattr(exc, "response", None), "status_code", None)
    return code if isinstance(code, int) else None


def is_transient(exc: BaseException) -> bool:
    code = status_code_of(exc)
    if code is not None:
        return code in TRANSIENT_STATUS or 500 <= code < 600
    return isinstance(exc, TRANSIENT_TYPES)


def is_rate_limit_type(exc: BaseException) -> bool:
    return isinstance(exc, RATE_LIMIT_TYPES)
