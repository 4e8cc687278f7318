"""OpenTelemetry: one trace per run, a span per task, a client span per LLM call with the GenAI
attributes, through the SDK's in-memory exporter and through a loopback OTLP/HTTP collector."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from support.plan_runs import cli_env, run_to_end, write_llm_config
from support.receivers import OtlpReceiver

from planexe_pipeline.telemetry.correlation import read_run_id
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import LLMCallEvent, RunEvent, TaskEvent
from planexe_pipeline.telemetry.otel_export import TraceExporter

pytestmark = pytest.mark.slow
MODEL = {"seed": 42, "time_scale": 0.004}
GEN_AI = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.usage.input_tokens",
          "gen_ai.usage.output_tokens")


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("traces")
    config = write_llm_config(folder / "llm.json", {"sim": MODEL})
    run = run_to_end(folder / "run", config, ["sim"])
    assert run.proc.returncode == 0, run.stderr
    return run.run_dir


def test_spans_from_the_telemetry_make_one_trace_with_a_span_per_task_and_per_call(finished):
    identity = read_run_id(finished)
    memory = InMemorySpanExporter()
    exporter = TraceExporter(finished, identity, memory, opened_run=True)
    exporter.stop(ok=True)
    spans = memory.get_finished_spans()
    ends = [e for e in read_events(finished, TaskEvent) if e.is_end]
    calls = read_events(finished, LLMCallEvent)
    tasks = [s for s in spans if s.kind == SpanKind.INTERNAL and s.name != "plan run"]
    clients = [s for s in spans if s.kind == SpanKind.CLIENT]
    [run] = [s for s in spans if s.name == "plan run"]
    assert len(tasks) == len(ends) and len(clients) == len(calls)
    assert {s.context.trace_id for s in spans} == {int(identity.run_id, 16)}
    assert run.parent is None and all(s.parent.span_id == run.context.span_id for s in tasks)
    task_span_ids = {s.context.span_id for s in tasks}
    assert all(s.parent.span_id in task_span_ids for s in clients), "each call's parent is its task's span"
    for span in clients:
        assert all(key in span.attributes for key in GEN_AI), span.attributes
        assert span.attributes["gen_ai.operation.name"] == "chat"
        assert span.attributes["gen_ai.provider.name"] == "planexe.simulator"
        assert "gen_ai.input.messages" not in span.attributes  # no prompt text unless asked for


def test_a_plan_sends_its_trace_to_an_otlp_collector_with_the_run_id_as_trace_id(tmp_path):
    config = write_llm_config(tmp_path / "llm.json", {"sim": MODEL, "broken": {**MODEL, "malformed_json_rate": 1.0}})
    with OtlpReceiver() as collector:
        env = cli_env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_SERVICE_NAME="plans-under-test",
                      OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="true")
        run = run_to_end(tmp_path / "run", config, ["sim"], env=env)
        assert run.proc.returncode == 0, run.stderr
        spans = collector.spans()
        run_id = next(e.run_id for e in read_events(run.run_dir, RunEvent))
        assert {s.trace_id for s in spans} == {run_id}
        assert sum(s.name == "plan run" for s in spans) == 1
        assert len([s for s in spans if s.kind == 3]) == len(read_events(run.run_dir, LLMCallEvent))  # CLIENT
        assert {s.service for s in spans} == {"plans-under-test"}
        assert all("gen_ai.input.messages" in s.attributes for s in spans if s.kind == 3), "asked for: prompts in"

        failed = run_to_end(tmp_path / "failed", config, ["broken"], env=env)
        assert failed.proc.returncode == 1
        failed_id = next(e.run_id for e in read_events(failed.run_dir, RunEvent))
        assert f"[run {failed_id}]" in failed.stderr, "the failure line carries the run's id"
        errors = [s for s in collector.spans() if s.trace_id == failed_id and "error.type" in s.attributes]
        assert errors and {s.attributes["error.type"] for s in errors} == {"SchemaValidationError"}


def test_a_call_span_names_the_finish_reason_and_the_error_type():
    from planexe_pipeline.telemetry.otel_export import _llm_attributes

    ok = LLMCallEvent(task_family="PlanType", start=1.0, end=2.0, status="ok", model="gpt", provider="openai",
                      request_model="gpt-4o-mini", input_tokens=10, output_tokens=5, finish_reason="stop")
    failed = LLMCallEvent(task_family="PlanType", start=1.0, end=2.0, status="error", model="gpt",
                          provider="ollama", error_type="ReadTimeout", error="ReadTimeout: slow")
    assert _llm_attributes(ok)["gen_ai.response.finish_reasons"] == ("stop",)
    assert _llm_attributes(ok)["gen_ai.provider.name"] == "openai"
    assert _llm_attributes(ok)["gen_ai.request.model"] == "gpt-4o-mini" and "error.type" not in _llm_attributes(ok)
    assert _llm_attributes(failed)["error.type"] == "ReadTimeout"
    assert _llm_attributes(failed)["gen_ai.provider.name"] == "ollama"
