"""The LLM cap a run reports is the one its scheduler enforces, and a cap of 1 is said out loud."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import luigi.scheduler

from planexe_pipeline.worker import llm_cap_of
from planexe_pipeline.telemetry.event_log import read_events

REPO = Path(__file__).resolve().parent.parent


def test_a_scheduler_without_an_llm_resource_allows_one_call():
    scheduler = luigi.scheduler.Scheduler(resources={"other": 4})
    assert llm_cap_of(scheduler.resource_list()) == 1
    # ... because that is what Luigi enforces for a resource it does not list.
    assert not scheduler._has_resources({"llm": 1}, {"llm": 1})
    assert llm_cap_of(luigi.scheduler.Scheduler(resources={"llm": 6}).resource_list()) == 6


def run_until_plan_type(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, Path]:
    """A run that stops at its third task (PlanType always fails): enough to see how it started."""
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"stops": {"class": "Simulated", "arguments": {
        "time_scale": 0, "fail_stages": ["PlanType"]}}}}))
    run_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "planexe_pipeline", "run", "--prompt-id", "bakery-lyon",
                           "--run-dir", str(run_dir), "--speed", "fast", "--llm", "stops",
                           "--llm-config", str(config), *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    return done, run_dir


def test_a_cap_of_one_under_many_workers_is_said_in_one_line_and_recorded(tmp_path):
    done, run_dir = run_until_plan_type(tmp_path, "--workers", "4", "--llm-slots", "1")
    warnings = [line for line in done.stderr.splitlines() if "at most 1 LLM call in flight" in line]
    assert len(warnings) == 1 and "--workers 4" in warnings[0], done.stderr
    assert "LLM cap 1" in done.stdout.splitlines()[0]
    assert "LLM calls in flight: at most 1, cap 1." in done.stdout
    assert {e.llm_slots for e in read_events(run_dir, "run")} == {1}


def test_the_run_line_records_the_cap_the_scheduler_holds(tmp_path):
    (tmp_path / "luigi.cfg").write_text("[resources]\nllm = 3\n")  # the working folder's file wins
    done, run_dir = run_until_plan_type(tmp_path, "--workers", "2")
    assert "at most 1 LLM call" not in done.stderr
    assert "LLM cap 3" in done.stdout.splitlines()[0] and ", cap 3." in done.stdout
    assert {e.llm_slots for e in read_events(run_dir, "run")} == {3}
