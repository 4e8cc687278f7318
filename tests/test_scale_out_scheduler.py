"""The central scheduler as `planexe-pipeline scheduler` runs it (PlanScheduler), in this process.

Luigi's Scheduler is the same object luigid serves over HTTP; calling it directly, with the clock
moved forward instead of waited for, checks the rules the scaled-out workers rely on: a task lost
with its worker goes back to pending and is handed to another worker, at most [scale_out] retries
times; a task that failed on its own is not handed out again until a new run re-enables it; and
a restarted luigid gives the workers it knew time to call back.
"""

from __future__ import annotations

import time

import pytest
from luigi.task_status import DISABLED, DONE, FAILED, PENDING, RUNNING

from planexe_pipeline.scaleout import PlanScheduler

GONE_S, RETRY_S, RETRIES = 15.0, 1.0, 2


@pytest.fixture
def clock(monkeypatch):
    """time.time() under our control (luigi's scheduler reads it for every decision)."""
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


def scheduler(state_path) -> PlanScheduler:
    return PlanScheduler(state_path=str(state_path), prune_on_get_work=True, worker_disconnect_delay=GONE_S,
                         retry_delay=RETRY_S, retry_count=RETRIES + 1, record_task_history=False)


def work(s: PlanScheduler, worker: str) -> str | None:
    return s.get_work(worker=worker, assistant=True, current_tasks=[])["task_id"]


def status(s: PlanScheduler, task_id: str) -> str:
    return s.task_status(task_id)


def plan(s: PlanScheduler, *workers: str) -> None:
    for worker in workers:
        s.add_worker(worker, [("assistant", True)])
        s.add_task(worker=worker, task_id="T", status=PENDING, runnable=True, family="T")


def lose(s: PlanScheduler, clock, worker: str, survivor: str) -> None:
    """The worker running T goes silent; the survivor keeps asking for work."""
    clock[0] += GONE_S + 0.1
    s.ping(worker=survivor)
    assert work(s, survivor) is None  # pruned now: T failed, waiting retry_delay
    clock[0] += RETRY_S + 0.1


def test_a_task_lost_with_its_worker_goes_to_a_survivor_at_most_retries_times(tmp_path, clock):
    s = scheduler(tmp_path / "state.pickle")
    plan(s, "A", "B")
    assert work(s, "A") == "T" and status(s, "T") == RUNNING
    clock[0] += GONE_S - 1
    s.ping(worker="B")
    s.ping(worker="A")
    assert work(s, "B") is None and status(s, "T") == RUNNING  # A is only quiet, not gone

    lose(s, clock, "A", "B")
    assert work(s, "B") == "T", "the survivor takes over the lost task"
    for lost in range(1, RETRIES + 1):
        survivor = f"S{lost}"
        plan(s, survivor)
        lose(s, clock, "B" if lost == 1 else f"S{lost - 1}", survivor)
        if lost < RETRIES:
            assert work(s, survivor) == "T"
    assert status(s, "T") == DISABLED, "lost once more than [scale_out] retries allows: given up"
    s.add_task(worker=survivor, task_id="T", status=PENDING, runnable=True, family="T")
    assert status(s, "T") == DISABLED, "a worker of the same run adding the plan again does not undo it"
    s.re_enable_task("T")  # what a new `planexe-pipeline run` does
    clock[0] += RETRY_S + 0.1
    assert work(s, survivor) == "T"


def test_a_task_that_failed_on_its_own_is_not_handed_out_again(tmp_path, clock):
    s = scheduler(tmp_path / "state.pickle")
    plan(s, "A", "B")
    assert work(s, "A") == "T"
    s.add_task(worker="A", task_id="T", status=FAILED, expl='"all models failed"', family="T")
    assert status(s, "T") == DISABLED
    clock[0] += 60
    assert work(s, "B") is None and work(s, "A") is None
    s.re_enable_task("T")
    clock[0] += RETRY_S + 0.1
    assert work(s, "B") == "T"
    s.add_task(worker="B", task_id="T", status=DONE, family="T")
    assert status(s, "T") == DONE


def test_a_restarted_scheduler_waits_for_the_workers_it_knew(tmp_path, clock):
    s = scheduler(tmp_path / "state.pickle")
    plan(s, "A", "B")
    assert work(s, "A") == "T"
    s.dump()
    clock[0] += 10 * GONE_S  # luigid was down for minutes

    again = scheduler(tmp_path / "state.pickle")
    again.load()
    assert status(again, "T") == RUNNING
    assert work(again, "B") is None and status(again, "T") == RUNNING, "A must get time to call back"
    lose(again, clock, "A", "B")  # A never does: dropped as any silent worker
    assert work(again, "B") == "T"


def test_a_done_task_said_not_done_at_once_is_pending_again(tmp_path, clock):
    """A run folder deleted and started again at once: the new worker finds T's output gone and says
    so the moment after T was done. Luigi's own scheduler would hold T done for 10 s more and hand
    out what needs it, whose input is no longer on disk."""
    s = scheduler(tmp_path / "state.pickle")
    plan(s, "A")
    s.add_task(worker="A", task_id="U", status=PENDING, runnable=True, family="U", deps=["T"])
    assert work(s, "A") == "T"
    s.add_task(worker="A", task_id="T", status=DONE, family="T")
    plan(s, "B")
    assert status(s, "T") == PENDING
    assert work(s, "B") == "T", "T is made again before U, which reads it, is handed out"
