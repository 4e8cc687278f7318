"""Scaled-out plans survive a dead worker and a restarted scheduler.

Real processes throughout: `planexe-pipeline scheduler` (luigid) and `run --scheduler-host`
workers on 127.0.0.1 sharing one run folder, a worker killed with SIGKILL with every task process
it forked (as a machine dies), luigid stopped and started again on its state folder. Time-scaled:
calls of 100-450 ms, and luigid drops a silent worker after WORKER_GONE_S (15 s as shipped).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import luigi
import pytest
from support.plan_runs import START_DATE, differing, plan_files, poll, write_llm_config
from support.scale_out import (
    PROMPT_ID, Worker, ended_ok, free_port, running_on, scale_out_env, start_luigid, start_worker, stop,
)

from planexe_pipeline.pipeline import FullPlan
from planexe_pipeline.prompts.catalog import get_prompt
from planexe_pipeline.telemetry.event_log import of_kind, read_events
from planexe_pipeline.telemetry.events import TakeoverEvent, TaskEvent
from planexe_pipeline.telemetry.stats import compute_stats
from planexe_pipeline.telemetry.stats_table import format_stats

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

LLM_SLOTS = 2
# Short for a quick test, long enough that a live worker on a loaded machine is not taken for dead.
WORKER_GONE_S = 8
MODEL = {"seed": 42, "time_scale": 0.01}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> SimpleNamespace:
    """One clean local run of the same plan: what every scaled-out run must produce, byte for byte
    (in this process, one worker, no latency: the cheapest clean run there is)."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    root = FullPlan(run_dir=str(run_dir), speed="fast", llm="simulated-instant", prompt=get_prompt(PROMPT_ID).prompt,
                    start_date=START_DATE)
    assert luigi.build([root], workers=1, local_scheduler=True, log_level="WARNING")
    return SimpleNamespace(files=plan_files(run_dir), tasks=len(ended_ok(run_dir)))


@pytest.fixture
def cluster(tmp_path):
    """luigid with the tests' [scale_out] settings, and a way to start workers on one plan."""
    logs = tmp_path / "logs"
    logs.mkdir()
    state = SimpleNamespace(port=free_port(), run_dir=tmp_path / "run", procs=[],
                            state_file=tmp_path / "luigi-state" / "state.pickle",
                            env=scale_out_env(tmp_path, worker_disconnect_delay=WORKER_GONE_S, retry_delay=0.5,
                                              scheduler_patience=20))
    config = write_llm_config(tmp_path / "llm_config.json", {"paced": MODEL})

    def luigid():
        state.luigid = start_luigid(state.port, tmp_path / "luigi-state", logs / "luigid.log", LLM_SLOTS, state.env)
        state.procs.append(state.luigid)

    def worker(name: str) -> Worker:
        started = start_worker(state.run_dir, config, state.port, logs, name, env=state.env)
        state.procs.append(started.proc)
        return started

    state.start_luigid, state.worker = luigid, worker
    luigid()
    try:
        yield state
    finally:
        for proc in reversed(state.procs):
            stop(proc)


def _assert_whole_plan_once(run_dir: Path, reference: SimpleNamespace) -> None:
    assert (run_dir / "999-pipeline_complete.txt").exists()
    assert not differing(reference.files, plan_files(run_dir)), differing(reference.files, plan_files(run_dir))
    counts = ended_ok(run_dir)
    assert {task for task, n in counts.items() if n > 1} == set(), "tasks completed twice"
    assert len(counts) == reference.tasks


def test_a_worker_killed_mid_plan_is_taken_over_and_a_late_worker_joins(cluster, reference):
    one, two = cluster.worker("one"), cluster.worker("two")
    run_dir = cluster.run_dir
    # A third of the plan done and worker one in the middle of a task: then its machine dies.
    poll(lambda: len(ended_ok(run_dir)) >= reference.tasks // 3 and running_on(run_dir, one.pid), 60,
         "a third of the plan done with a task running on worker one", every=0.02)
    os.killpg(one.pid, signal.SIGKILL)
    killed_at, done_at_kill = time.time(), len(ended_ok(run_dir))
    one.proc.wait(timeout=10)
    late = cluster.worker("late")

    for worker in (two, late):
        assert worker.finish(60 + 60) == 0, worker.err.read_text()[-3000:]
    finished = time.time()
    _assert_whole_plan_once(run_dir, reference)

    events = read_events(run_dir)
    takeovers = of_kind(events, TakeoverEvent)
    # What worker one was running when it died (started, never ended) is made again elsewhere.
    lost = running_on(run_dir, one.pid)
    assert lost and {e.task_id for e in takeovers} == set(lost), takeovers
    assert all(e.from_worker == one.pid and e.worker in (two.pid, late.pid) for e in takeovers), takeovers
    if takeovers:
        first = min(e.start for e in takeovers) - killed_at
        print(f"\nkilled worker one at {done_at_kill}/{reference.tasks} tasks, running {len(lost)}; first takeover "
              f"{first:.1f} s after the kill; plan done {finished - killed_at:.1f} s after it")
        assert first < 60, "the lost task must go back to work within a minute"
        assert first >= WORKER_GONE_S - 1, "luigid gave the task away before the worker was silent long enough"

    tasks_of_late = [e for e in of_kind(events, TaskEvent) if e.is_end and e.status == "ok" and e.worker == late.pid]
    # Which tasks are still pending when it joins depends on timing: fan-out items often, the
    # chain after the last fan-out sometimes. Either way it takes work the others had not started.
    assert tasks_of_late, "the late worker ran no task"

    stats = compute_stats(run_dir)
    assert {(t.task_id, t.from_worker) for t in stats.taken_over} == {(e.task_id, one.pid) for e in takeovers}
    assert f"from worker {one.pid}" in format_stats(stats)
    page = (run_dir / "timeline.html").read_text()  # written by the last worker to finish
    assert f"taken over from lost worker {one.pid}@" in page and "takeover-mark" in page


def _restart_a_third_in(cluster, reference, workers: list[Worker], stop_with: str) -> None:
    """luigid stopped a third into the plan, started again 3 s later on its state folder: the plan
    completes within 60 s of that, every task once, the files those of a clean run."""
    run_dir = cluster.run_dir
    poll(lambda: len(ended_ok(run_dir)) >= reference.tasks // 3, 60, "a third of the plan done", every=0.02)
    cluster.luigid.send_signal(getattr(signal, stop_with))
    cluster.luigid.wait(timeout=20)
    assert cluster.state_file.exists() == (stop_with == "SIGTERM"), "only a luigid stopped cleanly saves its state"
    time.sleep(3)
    cluster.start_luigid()
    back = time.time()
    for worker in workers:
        assert worker.finish(back + 60 - time.time()) == 0, worker.err.read_text()[-3000:]
    print(f"\n{stop_with}: plan done {time.time() - back:.1f} s after luigid came back")
    _assert_whole_plan_once(run_dir, reference)


def test_a_scheduler_stopped_and_started_again_mid_plan_is_survived(cluster, reference):
    """Stopped as by Ctrl-C (SIGTERM), luigid saves its state and remembers the plan."""
    _restart_a_third_in(cluster, reference, [cluster.worker("one"), cluster.worker("two")], "SIGTERM")


def test_a_scheduler_killed_and_started_again_mid_plan_is_survived(cluster, reference):
    """Killed, luigid saves nothing and starts empty. The worker tells it the tasks it runs and the
    whole plan again; a fan-out merge it had run before runs again and yields its items again, and
    they are told again too, though told to the killed luigid already. One worker: it yielded every
    fan-out open at the kill, so trusting what it told the killed luigid leaves the plan unfinished
    every time (with two workers, only when a merge runs again on the worker that had yielded it:
    scaleout.PlanWorker's `_tell_again` is checked with two in tests/test_scale_out_worker.py)."""
    _restart_a_third_in(cluster, reference, [cluster.worker("one")], "SIGKILL")


def test_workers_stop_with_one_line_when_the_scheduler_stays_away(tmp_path):
    port, logs = free_port(), tmp_path / "logs"
    logs.mkdir()
    env = scale_out_env(tmp_path, scheduler_patience=3)
    config = write_llm_config(tmp_path / "llm_config.json", {"paced": MODEL})
    luigid = start_luigid(port, tmp_path / "luigi-state", logs / "luigid.log", LLM_SLOTS, env)
    worker = start_worker(tmp_path / "run", config, port, logs, "one", env=env)
    try:
        poll(lambda: len(ended_ok(tmp_path / "run")) >= 5, 60, "five tasks done", every=0.02)
        done = set(ended_ok(tmp_path / "run"))
        stop(luigid)
        gone = time.time()
        assert worker.finish(60) == 1
    finally:
        stop(worker.proc)
        stop(luigid)
    took = time.time() - gone
    err = worker.err.read_text()
    lines = [line for line in err.splitlines() if "did not answer for 3 s" in line]
    assert len(lines) == 1 and "start it again on the same --state-dir" in lines[0], err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    assert "Everything finished so far is kept" in err
    assert took < 30, f"the worker took {took:.0f} s to give up on a scheduler gone for good"
    for task_id in done:  # what was finished is still there
        assert task_id in ended_ok(tmp_path / "run")
    assert not list((tmp_path / "run").rglob("*-luigi-tmp-*"))
