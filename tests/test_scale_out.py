"""Scaling out: Luigi's central scheduler (luigid) and two `planexe-pipeline run` workers on one plan.

`planexe-pipeline scheduler --llm-slots 2` runs luigid; two workers of 3 processes each start at
the same moment on the same run folder, on a simulator with small latency so calls overlap. The
plan completes once, both workers exit 0, every task ran exactly once (telemetry), both workers
ran tasks, and the `llm` resource of the *scheduler* caps the calls in flight across both workers.
Everything real: subprocesses, HTTP to luigid on 127.0.0.1, a shared folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from support.plan_runs import REPO, START_DATE, cli_env, poll, write_llm_config

from planexe_pipeline.telemetry.events import read_events
from planexe_pipeline.telemetry.stats import compute_stats

pytestmark = pytest.mark.timeout(150)

LLM_SLOTS = 2
WORKER_PROCESSES = 3
# Calls of ~50-225 ms: a fast plan takes a few seconds and independent calls overlap.
MODEL = {"seed": 42, "time_scale": 0.005}
CLI = [sys.executable, "-m", "planexe_pipeline"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def stop(proc: subprocess.Popen, grace_s: float = 10) -> None:
    """Terminate, then kill on timeout (its whole session: a worker's forked task processes too)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace_s)
    except ProcessLookupError:
        pass


@pytest.fixture
def luigid(tmp_path):
    """`planexe-pipeline scheduler` on a free port, up and answering; torn down after the test."""
    port = free_port()
    log = tmp_path / "luigid.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([*CLI, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                 "--state-dir", str(tmp_path / "luigi-state"), "--llm-slots", str(LLM_SLOTS)],
                                cwd=REPO, env=cli_env(), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        poll(lambda: port_answers(port), 30, "luigid answering on its port", every=0.05,
             give_up=lambda: proc.poll() is not None and f"luigid exited {proc.returncode}: {log.read_text()[-2000:]}")
        yield port
    finally:
        stop(proc)


def start_worker(run_dir: Path, config: Path, port: int, logs: Path, name: str) -> tuple[subprocess.Popen, Path, Path]:
    argv = [*CLI, "run", "--prompt-id", "bakery-lyon", "--run-dir", str(run_dir), "--speed", "fast",
            "--start-date", START_DATE, "--workers", str(WORKER_PROCESSES), "--scheduler-host", "127.0.0.1",
            "--scheduler-port", str(port), "--llm-config", str(config), "--llm", "paced"]
    out, err = logs / f"{name}.out", logs / f"{name}.err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen(argv, cwd=REPO, env=cli_env(), stdout=fo, stderr=fe,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return proc, out, err


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end at t closes before a start at t opens)."""
    points = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = now = 0
    for _, step in points:
        now += step
        most = max(most, now)
    return most


def test_two_workers_on_one_plan_share_the_work_and_the_global_llm_cap(tmp_path, luigid):
    config = write_llm_config(tmp_path / "llm_config.json", {"paced": MODEL})
    run_dir, logs = tmp_path / "run", tmp_path / "logs"
    logs.mkdir()
    workers = [start_worker(run_dir, config, luigid, logs, f"worker-{i}") for i in (1, 2)]
    try:
        deadline = time.monotonic() + 100
        for proc, _, err in workers:
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise AssertionError(f"worker {proc.pid} still running after 100 s: {err.read_text()[-2000:]}")
    finally:
        for proc, _, _ in workers:
            stop(proc)

    for proc, out, err in workers:
        assert proc.returncode == 0, f"worker {proc.pid} exited {proc.returncode}: {err.read_text()[-3000:]}"
        assert "Done in" in out.read_text(), out.read_text()[-2000:]
    assert (run_dir / "999-pipeline_complete.txt").exists()
    assert (run_dir / "060-report.html").exists()

    events = read_events(run_dir)
    tasks = [e for e in events if e.kind == "task"]
    assert not [e for e in tasks if e.status == "failed"]

    # Every task ran exactly once: one "ok" end line per task id; a fan-out merge also has one
    # start and one "yielded" end per time it handed its items out, and nothing else started twice.
    ends = [e for e in tasks if e.event == "end"]
    ok = Counter(e.task_id for e in ends if e.status == "ok")
    yielded = Counter(e.task_id for e in ends if e.status == "yielded")
    starts = Counter(e.task_id for e in tasks if e.event == "start")
    assert {t for t, n in ok.items() if n != 1} == set(), "tasks that ran more than once"
    assert set(starts) == set(ok), "tasks that started but never ended ok"
    assert {t: n for t, n in starts.items() if n != ok[t] + yielded[t]} == {}, "tasks started twice"
    assert len(ok) >= 70, f"only {len(ok)} tasks: the fast plan has about 73"

    # Both workers ran tasks: `worker` on a task line is the pid of the `planexe-pipeline run`
    # that launched it, the pid on that run's own telemetry lines.
    pids = {proc.pid for proc, _, _ in workers}
    assert {e.pid for e in events if e.kind == "run"} == pids
    assert {e.llm_slots for e in events if e.kind == "run"} == {LLM_SLOTS}  # luigid's cap, not the local one
    ok_lines = [e for e in ends if e.status == "ok"]
    per_worker = Counter(e.worker for e in ok_lines)
    assert set(per_worker) == pids, f"tasks per worker: {dict(per_worker)}"
    assert all(n >= 5 for n in per_worker.values()), f"tasks per worker: {dict(per_worker)}"
    assert set(compute_stats(run_dir).tasks_per_worker) == {str(p) for p in pids}  # what `stats` shows

    # The scheduler's `llm` resource is the cap across both workers (6 processes between them,
    # each with [resources] llm = 8 in its own luigi.cfg): never more than LLM_SLOTS calls at once,
    # and the slots were used (calls overlapped), so the check measures something.
    calls = [(e.start, e.end) for e in events if e.kind == "llm_call"]
    llm_tasks = [(e.start, e.end) for e in ok_lines if e.llm]
    peak_calls, peak_tasks = most_at_once(calls), most_at_once(llm_tasks)
    print(f"\nscale-out: LLM calls in flight at most {peak_calls} (LLM tasks {peak_tasks}), cap {LLM_SLOTS}; "
          f"tasks per worker {dict(per_worker)}; {len(calls)} calls, {len(ok)} tasks")
    assert peak_calls <= LLM_SLOTS and peak_tasks <= LLM_SLOTS
    assert peak_calls == LLM_SLOTS, "no two calls overlapped: the cap was never tested"


def test_the_visualiser_page_loads(luigid):
    """The README's http://HOST:PORT/ answers with Luigi's visualiser."""
    with urllib.request.urlopen(f"http://127.0.0.1:{luigid}/", timeout=10) as response:
        assert response.status == 200
        page = response.read().decode("utf-8", errors="replace")
        assert response.url.rstrip("/").endswith("/static/visualiser/index.html")
    assert "Luigi Task Status" in page or "luigi" in page.lower()
    with urllib.request.urlopen(f"http://127.0.0.1:{luigid}/api/resource_list", timeout=10) as response:
        body = response.read().decode()
    assert '"llm"' in body and f'"num_total": {LLM_SLOTS}' in body, body


def test_a_folder_deleted_and_started_again_at_once_stops_with_a_clear_line_then_resumes(tmp_path, luigid):
    """luigid ignores "not done" for 10 s after a task was DONE (stable_done_cooldown_secs): a run
    folder deleted and started again at once finds every task DONE in luigid but not on disk. The
    worker must say so and stop (it used to idle for ten minutes), and the same command again
    (past the cooldown) must make the whole plan."""
    config = write_llm_config(tmp_path / "llm_config.json", {"paced": {"seed": 42, "time_scale": 0}})
    run_dir, logs = tmp_path / "run", tmp_path / "logs"
    logs.mkdir()

    def one_worker(name: str, deadline_s: float) -> tuple[int, str, str]:
        proc, out, err = start_worker(run_dir, config, luigid, logs, name)
        try:
            proc.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{name} still running after {deadline_s} s: {err.read_text()[-2000:]}")
        finally:
            stop(proc)
        return proc.returncode, out.read_text(), err.read_text()

    code, _, err = one_worker("first", 60)
    assert code == 0, err[-2000:]
    shutil.rmtree(run_dir)

    started = time.monotonic()
    code, out, err = one_worker("again-at-once", 45)
    assert code == 1, out[-2000:]
    assert "still holds an earlier run of this folder as done" in err and "run the same command again" in err, err
    assert time.monotonic() - started < 40, "the worker must stop soon after luigid has nothing left for it"

    code, out, err = one_worker("once-more", 60)
    assert code == 0, err[-2000:]
    assert (run_dir / "999-pipeline_complete.txt").exists()
