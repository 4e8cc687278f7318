"""OpenTelemetry traces of a run, built from its telemetry lines (optional: the `otel` extra).

On when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set; the standard OTEL_*
variables configure the OTLP/HTTP exporter (headers, timeout) and the resource (service name).

The task processes do not export anything: their lines already hold every span's times, ids and
attributes (telemetry/correlation.py gives the ids). The `run` process of each host reads the
lines of its own host's file as they are written and exports them from a thread of its own:
a span per task execution, a client span per LLM call attempt with the GenAI semantic
conventions' attributes, and (from the run that opened the run's id) one span for the run. All of
them carry the run's id as their trace id, so the hosts of a scaled-out plan make one trace. A
collector that is down or slow costs the run nothing but this thread's time, bounded when the
run ends. Prompt text goes into a span only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
asked for it (it is then in the call's telemetry line).
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from planexe_pipeline import __version__
from planexe_pipeline.telemetry.correlation import RunIdentity, new_span_id
from planexe_pipeline.telemetry.event_log import EventFollower, host_label
from planexe_pipeline.telemetry.events import LLMCallEvent, TaskEvent

try:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
except ImportError:  # the extra is not installed: tracing stays off, and says so when asked for
    ReadableSpan = None

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
SERVICE_NAME = "planexe-pipeline"
FINAL_EXPORT_S = 5.0  # at most this long at the run's end for what is left to export


def tracing_asked() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


def tracing_available() -> bool:
    return ReadableSpan is not None


def _context(trace_id: str, span_id: str, remote: bool = False):
    return SpanContext(trace_id=int(trace_id, 16), span_id=int(span_id, 16), is_remote=remote,
                       trace_flags=TraceFlags(TraceFlags.SAMPLED))


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


def _llm_attributes(call: LLMCallEvent) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": call.provider or "unknown",  # the API of the entry's class (llm/config.py)
        "gen_ai.request.model": call.request_model or call.model or "unknown",
        "planexe.stage": call.task_family, "planexe.model_entry": call.model or "",
        "planexe.attempt": call.attempt or 0, "planexe.tokens_estimated": call.tokens_estimated,
    }
    if call.item is not None:
        attributes["planexe.item"] = call.item
    if call.input_tokens is not None:
        attributes["gen_ai.usage.input_tokens"] = call.input_tokens
    if call.output_tokens is not None:
        attributes["gen_ai.usage.output_tokens"] = call.output_tokens
    # The semantic conventions' name (experimental) for input tokens served from the provider's cache,
    # which gen_ai.usage.input_tokens includes; they name no cost: ours says its source beside it.
    for name, value in (("gen_ai.usage.cache_read.input_tokens", call.cached_input_tokens),
                        ("planexe.usage.reasoning_tokens", call.reasoning_tokens),
                        ("planexe.cost_usd", call.cost_usd), ("planexe.cost_source", call.cost_source),
                        ("planexe.route", call.route)):
        if value is not None:
            attributes[name] = value
    if call.finish_reason:
        attributes["gen_ai.response.finish_reasons"] = (call.finish_reason,)
    if not call.ok:
        attributes["error.type"] = call.error_type or "error"
    if call.messages:
        roles = ("system", "user")
        attributes["gen_ai.input.messages"] = json.dumps(
            [{"role": roles[min(i, 1)], "parts": [{"type": "text", "content": text}]}
             for i, text in enumerate(call.messages)])
    return attributes


class SpanBuilder:
    """Spans of one run from its telemetry lines."""

    def __init__(self, identity: RunIdentity, resource=None):
        self.identity = identity
        # OTEL_SERVICE_NAME (and OTEL_RESOURCE_ATTRIBUTES) name the service when set; ours otherwise.
        named = os.environ.get("OTEL_SERVICE_NAME")
        self.resource = resource if resource is not None else Resource.create({} if named else {"service.name": SERVICE_NAME})
        self.scope = InstrumentationScope("planexe_pipeline", __version__)
        self.root = _context(identity.run_id, identity.root_span_id, remote=True)

    def _span(self, name: str, span_id: str, parent, start: float, end: float, attributes: dict, kind,
              error: str | None) -> Any:
        status = Status(StatusCode.ERROR, error) if error else Status(StatusCode.UNSET)
        return ReadableSpan(name=name, context=_context(self.identity.run_id, span_id), parent=parent,
                            resource=self.resource, attributes=attributes, kind=kind, status=status,
                            start_time=_ns(start), end_time=_ns(max(start, end)), instrumentation_scope=self.scope)

    def task_span(self, end: TaskEvent) -> Any:
        attributes = {"planexe.stage": end.task_family, "planexe.status": end.status or "ok",
                      "planexe.task_id": end.task_id, "planexe.llm": end.llm}
        for name, value in (("planexe.item", end.item), ("planexe.cpu_s", end.cpu_s),
                            ("planexe.peak_rss_bytes", end.peak_rss_bytes), ("planexe.worker", end.ran_on)):
            if value is not None:
                attributes[name] = value
        name = end.task_family + (f" #{end.item}" if end.item is not None else "")
        return self._span(name, end.span_id or new_span_id(), self.root, end.start, end.end, attributes,
                          SpanKind.INTERNAL, end.error if end.failed else None)

    def call_span(self, call: LLMCallEvent) -> Any:
        attributes = _llm_attributes(call)
        parent = _context(self.identity.run_id, call.parent_span_id, remote=True) if call.parent_span_id else self.root
        name = f"chat {attributes['gen_ai.request.model']}"
        return self._span(name, new_span_id(), parent, call.start, call.end, attributes, SpanKind.CLIENT,
                          call.error if not call.ok else None)

    def run_span(self, end: float, ok: bool, attributes: dict) -> Any:
        status = Status(StatusCode.UNSET) if ok else Status(StatusCode.ERROR, "the plan did not complete")
        return ReadableSpan(name="plan run", context=_context(self.identity.run_id, self.identity.root_span_id),
                            parent=None, resource=self.resource, attributes=attributes, kind=SpanKind.INTERNAL,
                            status=status, start_time=_ns(self.identity.started), end_time=_ns(end),
                            instrumentation_scope=self.scope)

    def spans_of(self, events) -> list[Any]:
        spans = []
        for event in events:
            if isinstance(event, TaskEvent) and event.is_end and event.start is not None:
                spans.append(self.task_span(event))
            elif isinstance(event, LLMCallEvent) and event.start is not None and event.end is not None:
                spans.append(self.call_span(event))
        return spans


class TraceExporter:
    """Exports the spans of this host's telemetry lines while the run goes on, from a thread."""

    def __init__(self, run_dir: str | os.PathLike, identity: RunIdentity, exporter: "SpanExporter",
                 *, opened_run: bool, interval_s: float = 1.0):
        self.builder = SpanBuilder(identity)
        self.exporter = exporter
        self.opened_run = opened_run
        self.interval_s = interval_s
        self._follower = EventFollower(run_dir)
        self._host = host_label()
        self._since = identity.started
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.exported = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="plan-traces", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.export_new()

    def export_new(self) -> None:
        events = [e for host, e in self._follower.new_events()
                  if host == self._host and (e.start or 0) >= self._since - 1e-3]
        spans = self.builder.spans_of(events)
        if spans:
            self.exporter.export(spans)
            self.exported += len(spans)

    def stop(self, *, ok: bool, attributes: dict | None = None) -> None:
        """Export what is left (and the run's own span, from the run that opened the id), waiting
        at most FINAL_EXPORT_S for a collector that does not answer."""
        self._stop.set()

        def finish() -> None:
            if self._thread:
                self._thread.join()
            self.export_new()
            if self.opened_run:
                self.exporter.export([self.builder.run_span(time.time(), ok, attributes or {})])
                self.exported += 1
            self.exporter.shutdown()

        last = threading.Thread(target=finish, name="plan-traces-end", daemon=True)
        last.start()
        last.join(FINAL_EXPORT_S)


def otlp_exporter() -> "SpanExporter":
    """The OTLP/HTTP exporter the standard OTEL_* variables describe."""
    return OTLPSpanExporter()
