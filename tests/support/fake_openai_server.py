"""A small OpenAI-compatible (and Ollama-compatible) HTTP server for the provider tests.

Stdlib only: `http.server.ThreadingHTTPServer` on 127.0.0.1, port 0, one thread per request.
It answers

- `POST /v1/chat/completions` (OpenAI) and `POST /api/chat` (Ollama, non-streaming) with JSON
  valid for the schema the request carries (`response_format`, Ollama's `format`, or the one
  tool offered, answered as a tool call) or else the one PydanticOutputParser put in the
  system message, written by the simulator's own `write_answer`, and a usage block of known
  numbers; `server.context_window` makes it refuse (HTTP 400) a longer prompt, as servers do;
- `POST /api/show` (Ollama's model info, read by llama-index for the context window).

Faults are queued per test: `server.fail_next(n, "429" | "500" | "hang" | "401" | "length" |
"filter")`. "length" answers the first half of the JSON with finish_reason `length` (Ollama:
done_reason), as an answer cut by the output limit; "filter" answers finish_reason
`content_filter`. Crafted answers are queued the same way: `server.answer_next(text_or_fn, ...,
finish_reason=...)` answers the next requests with those texts instead, a function being given
the valid JSON the server would have written (to wrap it in a code fence, say). A 429
carries `Retry-After: 0.05`; a hang accepts the request and never answers until the server
stops; a 401 echoes the bearer token it got in its error message, as some providers do, so
the tests can check that the key is scrubbed. `server.latency_s` delays every answer.
`server.unusable_prompts` judges prompts holding one of its markers unusable, as the simulator's
knob of that name does; `server.answer_with(messages, schema)` answers in a test's own way
(None: the usual answer).
`server.headers` go out with every answer (a provider's `x-ratelimit-*`, say); with
`server.models` set, a chat request for another model gets a 404, as a wrong model name does.
Every request is counted (`server.requests`, `server.count(path)`) and `server.peak_in_flight`
is the most chat requests it was serving at once.

Provider limits, as a hosted endpoint enforces them: `server.budget = ProviderBudget(...)`
(in flight, requests and tokens per sliding minute, a daily quota; see llm/sim_provider.py)
answers 429 with the reset headers of its `reset_header` form; `server.provider_state` holds
what it saw (received, refused, peak in flight after the first refusal). With
`server.output_tokens_per_s` a long answer takes longer than a short one.

A prompt cache, as hosted providers keep one: with `server.prefix_cache = PrefixCache()`
(llm/sim_provider.py: the request laid out schema first, then its messages; prompts of 4,096
characters or more; 512-character blocks) the usage counts four characters a token and reports
the cached ones as OpenAI does (`prompt_tokens_details.cached_tokens`); `server.prompt_chars` and
`server.cached_chars` add up what it was sent and served from the cache. `server.usage_cost`
reports a cost in the usage, as OpenRouter's `usage.cost`.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from planexe_pipeline.llm.sim_content import judged_unusable, requested_schema, write_answer
from planexe_pipeline.llm.sim_provider import CHARS_PER_TOKEN, PrefixCache, ProviderBudget, ProviderRefusal, provider_prompt
from planexe_pipeline.llm.simulator import STANDARD_WIDTHS, _SCHEMA_MARKER
from planexe_pipeline.llm.structured import estimate_tokens

PROMPT_TOKENS = 321
COMPLETION_TOKENS = 54
RETRY_AFTER = "0.05"
FAULTS = ("429", "500", "hang", "401", "length", "filter")


def answer_for(messages: list[dict[str, Any]], seed: int = 7, schema: dict | None = None,
               unusable_prompts: list[str] = ()) -> str:
    """JSON text valid for the request's schema (else the one in the system message), as
    SimulatedLLM._content builds it (a prompt holding one of `unusable_prompts` judged unusable)."""
    transcript = "\n".join(f"{m.get('role')}: {m.get('content') or ''}" for m in messages)
    rng = random.Random(int.from_bytes(hashlib.sha256(f"{seed}\n{transcript}".encode()).digest()[:8], "big"))
    user_text = "\n".join(m.get("content") or "" for m in messages if m.get("role") == "user")
    if schema is None:
        for m in messages:
            match = _SCHEMA_MARKER.search(m.get("content") or "") if m.get("role") == "system" else None
            schema = json.loads(match.group(1)) if match else schema
    return json.dumps(write_answer(schema or {"type": "string"}, user_text, rng, STANDARD_WIDTHS,
                                   unusable=judged_unusable(user_text, list(unusable_prompts))))


def prompt_chars(body: dict) -> int:
    return sum(len(m.get("content") or "") for m in body.get("messages") or [])


class FakeOpenAIServer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: deque[str] = deque()
        self._crafted: deque[tuple[str | Callable[[str], str], str]] = deque()
        self._stopping = threading.Event()
        self.requests: list[dict[str, Any]] = []  # {"path", "body", "headers"} in arrival order
        self.model_name = "fake-model"
        self.latency_s = 0.0
        self.unusable_prompts: list[str] = []  # markers of prompts answered as unusable (the simulator's knob)
        # A test's own judge: (messages, schema) -> the answer's JSON text, or None for the usual answer.
        self.answer_with: Callable[[list[dict[str, Any]], dict | None], str | None] | None = None
        self.headers: dict[str, str] = {}  # sent with every answer
        self.models: set[str] | None = None  # None: any model name is served
        self.context_window: int | None = None  # in tokens of 4 characters; None = any prompt fits
        self.trained_context = 8192  # what /api/show reports
        self.in_flight = 0
        self.peak_in_flight = 0
        self.budget = ProviderBudget()
        self.provider_state: dict[str, Any] = {}
        self.output_tokens_per_s = 0.0
        self.answer_delays: list[float] = []  # seconds each answer took for its length
        self.prefix_cache: PrefixCache | None = None
        self._seen_prefixes: set[str] = set()
        self.prompt_chars = 0
        self.cached_chars = 0
        self.usage_cost: float | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {}
                fault = server._record(self.path, body, dict(self.headers))
                if self.path == "/api/show":
                    return self._json(200, {"model_info": {"llama.context_length": server.trained_context}, "details": {}})
                if self.path not in ("/v1/chat/completions", "/api/chat"):
                    return self._json(404, {"error": {"message": f"no route {self.path}"}})
                if server.models is not None and body.get("model") not in server.models:
                    return self._json(404, {"error": {"message": f"The model `{body.get('model')}` does not exist",
                                                      "type": "invalid_request_error", "code": "model_not_found"}})
                with server._lock:
                    server.in_flight += 1
                    server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
                lease = None
                try:
                    lease = server._admit(body) if fault is None else None
                    if server.latency_s:
                        server._stopping.wait(server.latency_s)
                    self._chat(body, fault)
                except ProviderRefusal as refusal:
                    self._json(429, {"error": {"message": str(refusal), "type": "rate_limit_exceeded"}},
                               refusal.headers)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                        if lease:
                            server.budget.finish(server.provider_state, lease)

            def _chat(self, body: dict, fault: str | None) -> None:
                if fault == "hang":
                    server._stopping.wait()
                    self.close_connection = True
                    return
                if fault == "429":
                    return self._json(429, {"error": {"message": "rate limited", "type": "rate_limit"}},
                                      {"Retry-After": RETRY_AFTER})
                if fault == "401":
                    token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                    return self._json(401, {"error": {"message": f"Incorrect API key provided: {token}",
                                                      "type": "invalid_request_error"}})
                if fault == "500":
                    return self._json(500, {"error": {"message": "internal error", "type": "server_error"}})
                if server.context_window and prompt_chars(body) / 4 > server.context_window:
                    return self._json(400, {"error": {"message": "prompt exceeds the context window",
                                                      "type": "invalid_request_error"}})
                messages, schema = body.get("messages") or [], requested_schema(body)
                content = (server.answer_with(messages, schema) if server.answer_with else None) or answer_for(
                    messages, schema=schema, unusable_prompts=server.unusable_prompts)
                reason = {"length": "length", "filter": "content_filter"}.get(fault or "", "stop")
                crafted = server._next_crafted()
                if crafted is not None:
                    text, reason = crafted
                    content = text(content) if callable(text) else text
                if fault == "length":
                    content = content[: len(content) // 2]
                tools = body.get("tools") or []
                if server.output_tokens_per_s:
                    delay = estimate_tokens(content) / server.output_tokens_per_s
                    server.answer_delays.append(delay)
                    server._stopping.wait(delay)
                if self.path == "/api/chat":
                    message = {"role": "assistant", "content": content}
                    if tools and fault is None:
                        message = {"role": "assistant", "content": "", "tool_calls": [{"function": {
                            "name": tools[0]["function"]["name"], "arguments": json.loads(content)}}]}
                    return self._json(200, {
                        "model": body.get("model", server.model_name),
                        "created_at": "2025-01-01T00:00:00Z",
                        "message": message,
                        "done": True, "done_reason": reason,
                        "prompt_eval_count": PROMPT_TOKENS, "eval_count": COMPLETION_TOKENS,
                    })
                message = {"role": "assistant", "content": content}
                if tools and fault is None:
                    reason = "tool_calls"
                    message = {"role": "assistant", "content": None, "tool_calls": [{
                        "id": "call-1", "type": "function",
                        "function": {"name": tools[0]["function"]["name"], "arguments": content}}]}
                return self._json(200, {
                    "id": f"chatcmpl-{len(server.requests)}", "object": "chat.completion",
                    "created": int(time.time()), "model": body.get("model", server.model_name),
                    "choices": [{"index": 0, "finish_reason": reason, "message": message}],
                    "usage": server._usage(body),
                })

            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in {**server.headers, **(headers or {})}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-openai", daemon=True)

    # -- control ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, n: int, kind: str) -> None:
        """The next n chat requests fail with `kind`: "429", "500" or "hang"."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}: use one of {FAULTS}")
        with self._lock:
            self._faults.extend([kind] * n)

    def answer_next(self, *answers: str | Callable[[str], str], finish_reason: str = "stop") -> None:
        """The next chat requests are answered with these texts, one each, in order (a function
        is given the valid JSON the server would have answered, and returns the text)."""
        with self._lock:
            self._crafted.extend((answer, finish_reason) for answer in answers)

    def _next_crafted(self) -> tuple[str | Callable[[str], str], str] | None:
        with self._lock:
            return self._crafted.popleft() if self._crafted else None

    def _admit(self, body: dict) -> str | None:
        """A lease under the provider's budget, or ProviderRefusal (a 429 with reset headers)."""
        if not self.budget.enforced:
            return None
        prompt = "".join(str(m.get("content") or "") for m in body.get("messages") or [])
        with self._lock:
            return self.budget.admit(self.provider_state, time.time(), estimate_tokens(prompt) + COMPLETION_TOKENS)

    def _usage(self, body: dict) -> dict[str, Any]:
        usage: dict[str, Any] = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS}
        if self.prefix_cache is not None:
            prompt = provider_prompt(body, [str(m.get("content") or "") for m in body.get("messages") or []])
            with self._lock:
                cached = self.prefix_cache.serve(self._seen_prefixes, prompt)
                self.prompt_chars += len(prompt)
                self.cached_chars += cached
            usage["prompt_tokens"] = -(-len(prompt) // CHARS_PER_TOKEN)
            usage["prompt_tokens_details"] = {"cached_tokens": cached // CHARS_PER_TOKEN}
        if self.usage_cost is not None:
            usage["cost"] = self.usage_cost
        return {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if path is None or r["path"] == path)

    def chat_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["path"] in ("/v1/chat/completions", "/api/chat")]

    def _record(self, path: str, body: dict, headers: dict) -> str | None:
        with self._lock:
            self.requests.append({"path": path, "body": body, "headers": headers})
            if path in ("/v1/chat/completions", "/api/chat") and self._faults:
                return self._faults.popleft()
        return None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hung handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
