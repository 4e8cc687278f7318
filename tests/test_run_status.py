"""planexe-pipeline status: a finished plan read from its telemetry alone, and the same plan's
telemetry cut at a moment of its run, which is then a running (or stalled, or stopped) plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from collections import Counter

import pytest
from support.plan_runs import REPO, cli_env, run_to_end, write_llm_config

from planexe_pipeline.status import StatusTracker
from planexe_pipeline.tasks.expected_work import walked_expectation
from planexe_pipeline.telemetry.critical_path import final_executions
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import LLMCallEvent, RunEvent, TaskEvent
from planexe_pipeline.telemetry.expected_work import EXPECTED_WORK_FILE, read_expected_work
from planexe_pipeline.telemetry.run_state import read_run_state

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("status")
    config = write_llm_config(folder / "llm.json", {"sim": {"seed": 42, "time_scale": 0.004}})
    run = run_to_end(folder / "run", config, ["sim"])
    assert run.proc.returncode == 0, run.stderr
    return run.run_dir


def status_json(run_dir: Path, *extra: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "planexe_pipeline", "status", str(run_dir), "--json", *extra],
                          cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_finished_plan_is_done_with_every_task_and_call_counted(finished):
    status = status_json(finished)
    events = read_events(finished)
    tasks = {e.task_id for e in events if isinstance(e, TaskEvent)}
    calls = sum(1 for e in events if isinstance(e, LLMCallEvent) and e.ok)
    assert status["state"] == "done" and status["progress"] == 1.0 and status["eta_s"] == 0.0
    assert status["tasks"] == {"done": len(tasks), "expected": len(tasks)}
    assert status["llm_calls"]["done"] == status["llm_calls"]["expected"] == calls
    assert status["failure"] is None and status["in_flight"] == []
    assert status["run_id"] == next(e.run_id for e in events if isinstance(e, RunEvent))


def test_the_expected_work_is_what_the_finished_plan_ran(finished):
    """The work recorded at the start, its guessed widths read from the merges' lines, is exactly
    what ran; so is a walk of the graph on the finished folder, whose lists are all written."""
    ran = Counter(e.task_family for e in final_executions(read_events(finished)).values())
    calls = sum(1 for e in read_events(finished, LLMCallEvent) if e.ok)
    recorded = read_expected_work(finished)
    assert recorded is not None and recorded.estimated, "a new run guesses the widths of its fan-outs"
    for work in (recorded.with_widths(read_events(finished)), walked_expectation(str(finished))):
        assert {stage.family: stage.tasks for stage in work.stages} == ran and work.estimated == []
        assert work.llm_calls == calls


def test_a_running_plan_is_read_from_its_record_without_importing_the_graph(finished, tmp_path):
    cut_at(finished, tmp_path, 0.5, os.getpid())  # owned by this process: running while the test runs
    probe = ("import json, sys; from planexe_pipeline.cli import main; main(['status', sys.argv[1], '--json']); "
             "assert not any(m.startswith(('planexe_pipeline.pipeline', 'planexe_pipeline.tasks', 'llama_index')) "
             "for m in sys.modules), 'the graph was imported'")
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], cwd=REPO, env=cli_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["state"] == "running" and 0 < status["tasks"]["done"] < status["tasks"]["expected"]


def test_a_finished_plan_is_read_without_importing_the_graph(finished):
    probe = ("import sys; from planexe_pipeline.cli import main; main(['status', sys.argv[1]]); "
             "assert 'planexe_pipeline.pipeline' not in sys.modules, 'the graph was imported'")
    done = subprocess.run([sys.executable, "-c", probe, str(finished)], cwd=REPO, env=cli_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "done 100%" in done.stdout


def cut_at(run_dir: Path, to: Path, fraction: float, pid: int) -> float:
    """A copy of the run's telemetry as it stood at `fraction` of its makespan, its run owned by
    `pid`; at fraction 1, all of it but the run's end line."""
    events = read_events(run_dir)
    run = next(e for e in events if isinstance(e, RunEvent) and e.event == "end")
    moment = run.start + fraction * (run.end - run.start)
    if fraction < 1:
        # The middle of the LLM call nearest that moment: a cut between two calls would have none in flight.
        calls = [e for e in events if isinstance(e, LLMCallEvent) and e.start and e.end]
        nearest = min(calls, key=lambda e: abs((e.start + e.end) / 2 - moment))
        moment = (nearest.start + nearest.end) / 2
    folder = to / "telemetry"
    folder.mkdir(parents=True)
    for path in (run_dir / "telemetry").glob("events-*.jsonl"):
        kept = []
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record.get("kind") == "run":
                if record.get("event") == "end":
                    continue
                record["pid"] = pid
            if (record.get("end") or record.get("start") or 0) > moment:
                continue
            if record.get("kind") == "task":
                record["worker"] = pid
            kept.append(json.dumps(record))
        (folder / path.name).write_text("\n".join(kept) + "\n")
    # The work the run expected when it started, recorded before its first task.
    (folder / EXPECTED_WORK_FILE).write_bytes((run_dir / "telemetry" / EXPECTED_WORK_FILE).read_bytes())
    for item in run_dir.iterdir():  # the plan files, for the fan-out lists (some are ahead of the cut)
        if item.name != "telemetry" and item.is_file():
            (to / item.name).write_bytes(item.read_bytes())
    return moment


def test_a_run_cut_midway_is_running_with_what_is_done_in_flight_and_left(finished, tmp_path):
    moment = cut_at(finished, tmp_path, 0.5, os.getpid())
    status = StatusTracker(tmp_path, stall_after_s=3600).snapshot(now=moment)
    ended = [e for e in final_executions(read_events(tmp_path)).values()]
    assert status["state"] == "running"
    assert status["tasks"]["done"] == len(ended) < status["tasks"]["expected"]
    assert 0.0 < status["progress"] < 1.0
    assert status["in_flight"], "calls that started before the moment and ended after it"
    assert status["eta_s"] is not None and status["eta_s"] > 0
    assert status["last_progress_at"] <= moment


def test_a_plan_whose_last_task_ended_is_done_while_its_run_writes_its_end_line(finished, tmp_path):
    # The live view draws its last frame then: it read "running 98%, 149/151 tasks" above "Done".
    moment = cut_at(finished, tmp_path, 1.0, os.getpid())
    status = StatusTracker(tmp_path, stall_after_s=3600).snapshot(now=moment)
    ran = len(final_executions(read_events(tmp_path)))
    assert status["state"] == "done" and status["progress"] == 1.0
    assert status["tasks"] == {"done": ran, "expected": ran}


def test_no_progress_for_longer_than_the_stall_limit_is_stalled(finished, tmp_path):
    moment = cut_at(finished, tmp_path, 0.5, os.getpid())
    state = read_run_state(tmp_path, now=moment + 120, stall_after_s=60)
    assert state.state == "stalled"


def test_a_run_whose_process_is_gone_is_stopped_and_says_how_to_resume(finished, tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    cut_at(finished, tmp_path, 0.5, gone.pid)
    status = StatusTracker(tmp_path).snapshot()
    assert status["state"] == "stopped" and status["eta_s"] is None
    assert status["in_flight"] == []
    assert status["failure"]["recoverable"] is True
    assert status["failure"]["resume"] == f"planexe-pipeline run --run-dir {tmp_path}"


def test_a_failed_step_is_named_with_its_reason(finished, tmp_path):
    cut_at(finished, tmp_path, 0.5, 999_999_999)
    line = {"kind": "task", "event": "end", "task_family": "PlanType", "task_id": "PlanType_x", "start": 1.0,
            "end": 2.0, "status": "failed", "error": "PlanType: every model failed (sim: ValueError: bad)",
            "error_kind": "llm"}
    with open(next((tmp_path / "telemetry").glob("events-*.jsonl")), "a") as fh:
        fh.write(json.dumps({**line, "start": 9e9, "end": 9e9 + 1}) + "\n")
    status = StatusTracker(tmp_path).snapshot()
    assert status["state"] == "failed"
    assert status["failure"]["step"] == "PlanType" and "every model failed" in status["failure"]["reason"]
    assert status["failure"]["recoverable"] is True


def test_status_of_a_folder_without_a_run_says_so(tmp_path):
    done = subprocess.run([sys.executable, "-m", "planexe_pipeline", "status", str(tmp_path)], cwd=REPO,
                          env=cli_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "run the plan first" in done.stderr


@pytest.mark.parametrize("kind, recoverable", [("llm", True), ("quota", True), ("unreadable", True),
                                               ("prompt_unusable", False), ("defect", False), (None, False)])
def test_whether_a_rerun_gets_past_a_failure_is_its_kind_not_its_words(finished, tmp_path, kind, recoverable):
    cut_at(finished, tmp_path, 0.5, 999_999_999)
    line = {"kind": "task", "event": "end", "task_family": "PlanType", "task_id": "PlanType_x", "start": 9e9,
            "end": 9e9 + 1, "status": "failed", "error": "PlanType: every model failed (rate limited)",
            "error_kind": kind}
    with open(next((tmp_path / "telemetry").glob("events-*.jsonl")), "a") as fh:
        fh.write(json.dumps(line) + "\n")
    assert StatusTracker(tmp_path).snapshot()["failure"]["recoverable"] is recoverable
