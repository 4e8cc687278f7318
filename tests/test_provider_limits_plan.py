"""Whole plans against a provider that pushes back (the simulator with a provider's limits).

Time-scaled: calls of tens of milliseconds, per-minute budgets over a one-second "minute".
Speed itself is measured by `planexe-pipeline bench --provider-limit N`, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.files import plan_file
from support.plan_runs import REPO, START_DATE, cli_env
from support.scale_out import free_port, start_luigid, start_worker, stop

from planexe_pipeline.llm.simulator import SimulatedLLM
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.stats import compute_stats
from planexe_pipeline.telemetry.stats_table import format_stats

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]


def provider_config(tmp_path: Path, models: dict[str, dict]) -> Path:
    """llm_config.json of simulated providers: {name: {"arguments": {...}, other entry keys}}."""
    entries = {name: {"class": "Simulated", **spec, "arguments": {
        "seed": 42, "provider_state_dir": str(tmp_path / "provider"), "model_name": name, **spec["arguments"]}}
        for name, spec in models.items()}
    path = tmp_path / "llm_config.json"
    path.write_text(json.dumps({"models": entries}, indent=1))
    return path


def counts(config: Path, name: str) -> dict:
    arguments = json.loads(config.read_text())["models"][name]["arguments"]
    return SimulatedLLM(**arguments).provider_counts()


def run(tmp_path: Path, config: Path, *models: str, run_dir: str = "run", extra: tuple[str, ...] = (),
        env: dict | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "planexe_pipeline", "run", "--prompt-id", "solar-farm-denmark", "--run-dir",
            str(tmp_path / run_dir), "--speed", "fast", "--start-date", START_DATE, "--llm-config", str(config),
            *[a for m in models for a in ("--llm", m)], *extra]
    return subprocess.run(argv, cwd=REPO, env=env or cli_env(), capture_output=True, text=True, timeout=140)


def shipped_defaults_env() -> dict:
    env = cli_env()
    env.pop("LUIGI_CONFIG_PATH")  # the packaged luigi.cfg alone: 16 workers, 8 slots, shipped retry policy
    return env


def test_a_provider_admitting_two_with_every_default_as_shipped_completes(tmp_path):
    config = provider_config(tmp_path, {"two": {"arguments": {"time_scale": 0.005, "max_concurrent": 2}}})
    done = run(tmp_path, config, "two", env=shipped_defaults_env())
    assert done.returncode == 0, done.stderr[-3000:]
    seen = counts(config, "two")
    calls = [e for e in read_events(tmp_path / "run", "llm_call") if e.ok]
    assert seen["received"] == len(calls) + seen["refused"]
    # Refusals come in the first burst, before the shared limit has learnt the provider's 2
    # (the limit is kept only from the first 429): a bounded handful, not a storm of retries.
    assert seen["refused"] <= max(3, 0.25 * len(calls)), seen
    if seen["refused"]:  # (calls sent before the first refusal came back may still arrive: see the bench)
        assert read_events(tmp_path / "run", "provider_limit")[-1].limit <= 3, "the run keeps to what it admits"
    # What you can see: the waits per stage in `stats`, the limit over the in-flight curve.
    stats = compute_stats(tmp_path / "run")
    assert stats.provider_limits[0] == 8 and stats.provider_wait_seconds >= 0
    assert abs(sum(s.provider_wait_seconds for s in stats.stages) - stats.provider_wait_seconds) < 1e-6
    assert "wait s" in format_stats(stats)
    assert 'class="provider-limit"' in (tmp_path / "run" / "timeline.html").read_text()


def test_a_stated_requests_per_minute_budget_is_never_exceeded(tmp_path):
    config = provider_config(tmp_path, {"paced": {
        "requests_per_minute": 15, "arguments": {"time_scale": 0.002, "requests_per_minute": 15, "minute_s": 1.0}}})
    done = run(tmp_path, config, "paced", extra=("--workers", "8", "--llm-slots", "8"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "15 requests/min" in done.stdout, "the run says the limits it works under"
    seen = counts(config, "paced")
    assert seen["refused"] == 0
    starts = sorted(e.start for e in read_events(tmp_path / "run", "llm_call"))
    assert all(b - a >= 1 / 15 * 0.95 for a, b in zip(starts, starts[1:])), "paced evenly"


def test_a_daily_quota_stops_the_run_with_one_line_and_keeps_what_finished(tmp_path):
    config = provider_config(tmp_path, {
        "daily": {"arguments": {"time_scale": 0.002, "requests_per_day": 6,
                                "reset_header": "x-ratelimit-reset-requests"}},
        "spare": {"arguments": {"time_scale": 0.0}}})
    started = time.time()
    done = run(tmp_path, config, "daily", extra=("--workers", "4"))
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert "model 'daily' is out of quota until" in errors[0] and "UTC" in errors[0]
    assert "x-ratelimit-reset-requests" in errors[0]
    finished = sorted(p.name for p in (tmp_path / "run").glob("0*.json"))
    assert plan_file("IdentifyPurpose") in finished, "what finished before the quota is kept"
    quota_at = min(e.start for e in read_events(tmp_path / "run", "provider_quota"))
    last = max(e.end for e in read_events(tmp_path / "run", "task") if e.end)
    print(f"\nquota: run stopped {last - quota_at:.2f} s after the quota answer ({time.time() - started:.1f} s in all)")

    # Resumed with a fallback model: the quota model is skipped at once, the spare takes over.
    asked = counts(config, "daily")["received"]
    assert asked >= 7, "six answers, then the refusals of whatever was in flight"
    resumed = run(tmp_path, config, "daily", "spare", extra=("--workers", "4"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert counts(config, "daily")["received"] == asked, "the quota model is not asked again until its reset"
    assert all(p.name in {q.name for q in (tmp_path / "run").glob("0*.json")} for p in map(Path, finished))


def test_two_scaled_out_workers_keep_to_what_the_provider_admits(tmp_path):
    # start_worker runs the model named "paced": here a provider admitting 2 in flight, under
    # luigid's cap of 4, so the two workers' calls meet at the provider.
    config = provider_config(tmp_path, {"paced": {"arguments": {"time_scale": 0.005, "max_concurrent": 2}}})
    logs = tmp_path / "logs"
    logs.mkdir()
    port = free_port()
    luigid = start_luigid(port, tmp_path / "luigi-state", tmp_path / "luigid.log", llm_slots=4)
    workers = [start_worker(tmp_path / "run", config, port, logs, f"worker-{i}") for i in (1, 2)]
    try:
        for worker in workers:
            assert worker.finish(timeout=120) == 0, worker.err.read_text()[-3000:]
    finally:
        for worker in workers:
            stop(worker.proc)
        stop(luigid)
    assert (tmp_path / "run" / "999-pipeline_complete.txt").exists()
    if counts(config, "paced")["refused"]:
        limits = read_events(tmp_path / "run", "provider_limit")
        assert min(e.limit for e in limits) <= 2, "the two workers shared one limit and it came down"
