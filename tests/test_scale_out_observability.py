"""A scaled-out plan seen from outside: its two workers' spans make the run's one trace, and the
shipped scheduler's /metrics counts the tasks it handed out (Luigi's Prometheus collector)."""

from __future__ import annotations

import urllib.request

import pytest
from support.plan_runs import cli_env, write_llm_config
from support.receivers import OtlpReceiver
from support.scale_out import free_port, start_luigid, start_worker, stop

from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import RunEvent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]


def test_two_workers_make_one_trace_and_the_scheduler_serves_task_metrics(tmp_path):
    config = write_llm_config(tmp_path / "llm.json", {"paced": {"seed": 42, "time_scale": 0.005}})
    port = free_port()
    luigid = start_luigid(port, tmp_path / "luigi-state", tmp_path / "luigid.log", 2)
    logs = tmp_path / "logs"
    logs.mkdir()
    try:
        with OtlpReceiver() as collector:
            env = cli_env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url)
            run_dir = tmp_path / "run"
            workers = [start_worker(run_dir, config, port, logs, f"worker-{i}", env=env) for i in (1, 2)]
            assert [w.finish(120) for w in workers] == [0, 0], [w.err.read_text()[-1500:] for w in workers]
            starts = [e for e in read_events(run_dir, RunEvent) if e.event == "start"]
            assert len({e.run_id for e in starts}) == 1, "both workers joined the run's one id"
            spans = collector.spans()
            assert {s.trace_id for s in spans} == {starts[0].run_id}
            assert sum(s.name == "plan run" for s in spans) == 1
            by_worker = {s.attributes.get("planexe.worker") for s in spans if "planexe.stage" in s.attributes
                         and s.kind == 1}  # INTERNAL: task spans
            assert {w.pid for w in workers} <= by_worker, "spans of both workers' tasks"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            metrics = reply.read().decode()
        assert "luigi_task_started_total" in metrics and 'family="IdentifyPurpose"' in metrics
    finally:
        stop(luigid)
