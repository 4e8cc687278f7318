"""Scaling out: Luigi's central scheduler (luigid) and two `planexe-pipeline run` workers on one plan.

`planexe-pipeline scheduler --llm-slots 2` runs luigid; two workers of 3 processes each start at
the same moment on the same run folder, on a simulator with small latency so calls overlap. The
plan completes once, both workers exit 0, every task ran exactly once (telemetry), both workers
ran tasks, and the `llm` resource of the *scheduler* caps the calls in flight across both workers.
Everything real: subprocesses, HTTP to luigid on 127.0.0.1, a shared folder.
"""

from __future__ import annotations

import re
import shutil
import time
import urllib.parse
import urllib.request
from collections import Counter

import pytest
from support.files import REPORT_HTML
from support.plan_runs import write_llm_config
from support.scale_out import free_port, start_luigid, start_worker, stop

from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.stats import compute_stats

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

LLM_SLOTS = 2
# Calls of ~50-225 ms: a fast plan takes a few seconds and independent calls overlap.
MODEL = {"seed": 42, "time_scale": 0.005}


@pytest.fixture
def luigid(tmp_path):
    """`planexe-pipeline scheduler` on a free port, up and answering; torn down after the test."""
    port = free_port()
    proc = start_luigid(port, tmp_path / "luigi-state", tmp_path / "luigid.log", LLM_SLOTS)
    try:
        yield port
    finally:
        stop(proc)


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
        for worker in workers:
            worker.finish(deadline - time.monotonic())
    finally:
        for worker in workers:
            stop(worker.proc)

    for worker in workers:
        assert worker.proc.returncode == 0, f"worker {worker.pid} exited {worker.proc.returncode}: {worker.err.read_text()[-3000:]}"
        assert "Done in" in worker.out.read_text(), worker.out.read_text()[-2000:]
    assert (run_dir / "999-pipeline_complete.txt").exists()
    assert (run_dir / REPORT_HTML).exists()

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
    pids = {worker.pid for worker in workers}
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
    assert "<title>Luigi Task Visualiser</title>" in page
    # The page is drawn by its scripts: each one it loads from luigid must be served.
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert any("visualiserApp" in src for src in scripts), scripts
    for src in scripts:
        with urllib.request.urlopen(urllib.parse.urljoin(response.url, src), timeout=10) as script:
            assert script.status == 200 and script.read(), src
    with urllib.request.urlopen(f"http://127.0.0.1:{luigid}/api/resource_list", timeout=10) as response:
        body = response.read().decode()
    assert '"llm"' in body and f'"num_total": {LLM_SLOTS}' in body, body


def test_a_folder_deleted_and_started_again_at_once_is_made_again(tmp_path, luigid):
    """luigid still holds every task of the plan done when its run folder is deleted and started
    again at once: the new worker's "not done" is heard at once (PlanScheduler keeps no cooldown
    after a done), so no task is handed out while an input it reads is gone from disk, and the one
    command makes the whole plan again."""
    config = write_llm_config(tmp_path / "llm_config.json", {"paced": {"seed": 42, "time_scale": 0}})
    run_dir, logs = tmp_path / "run", tmp_path / "logs"
    logs.mkdir()

    def one_worker(name: str, deadline_s: float) -> tuple[int, str, str]:
        worker = start_worker(run_dir, config, luigid, logs, name)
        try:
            worker.finish(deadline_s)
        finally:
            stop(worker.proc)
        return worker.proc.returncode, worker.out.read_text(), worker.err.read_text()

    code, _, err = one_worker("first", 60)
    assert code == 0, err[-2000:]
    shutil.rmtree(run_dir)

    code, out, err = one_worker("again-at-once", 60)
    assert code == 0, err[-2000:]
    assert (run_dir / "999-pipeline_complete.txt").exists()
    assert "Done in" in out, out[-2000:]
