"""The plan's Luigi worker: task processes forked once and reused, a dead one reported, not awaited."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time

import luigi
from luigi.scheduler import Scheduler

from planexe_pipeline.cli import main
from planexe_pipeline.scaleout import PlanScheduler
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import TaskEvent
from planexe_pipeline.worker import LocalPlanScheduler, TimedWorkerFactory
from planexe_pipeline.worker_pool import TaskProcessPool


class Note(luigi.Task):
    """Writes the pid of the process that ran it, after the note before it in its chain."""

    folder = luigi.Parameter()
    chain = luigi.IntParameter()
    position = luigi.IntParameter()
    die = luigi.BoolParameter(default=False)
    wait_s = luigi.FloatParameter(default=0.0)
    llm = luigi.BoolParameter(default=False)

    @property
    def resources(self):
        return {"llm": 1} if self.llm else {}

    @property
    def priority(self):
        return 10 if self.die else 0  # dies first, while there is work left for both workers

    def requires(self):
        if self.chain < 0:  # the fan: waits on the head of the plan
            return [Note(folder=self.folder, chain=0, position=0, wait_s=0.5, llm=self.llm)]
        return ([Note(folder=self.folder, chain=self.chain, position=self.position - 1, wait_s=self.wait_s)]
                if self.position else [])

    def output(self):
        return luigi.LocalTarget(os.path.join(self.folder, f"note-{self.chain}-{self.position}.txt"))

    def run(self):
        if self.die:
            os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
        time.sleep(self.wait_s)
        with self.output().open("w") as fh:
            fh.write(str(os.getpid()))


def build(tasks, folder, workers):
    return luigi.build(tasks, workers=workers, local_scheduler=True, detailed_summary=True, log_level="CRITICAL",
                       worker_scheduler_factory=TimedWorkerFactory(str(folder)))


def test_processes_are_forked_once_and_run_task_after_task(tmp_path):
    # Two chains of five: never more than two tasks at once, so two processes do all ten.
    result = build([Note(folder=str(tmp_path), chain=c, position=4) for c in (0, 1)], tmp_path, workers=4)
    assert result.status.name == "SUCCESS"
    pids = {path.read_text() for path in tmp_path.glob("note-*.txt")}
    (worker,) = read_events(tmp_path, "worker")
    assert len(pids) == worker.processes_forked == 2
    assert str(os.getpid()) not in pids  # still a process of their own, not the worker's
    assert len(read_events(tmp_path, "dispatch")) == 10


def test_a_task_whose_process_dies_fails_and_the_rest_still_run(tmp_path):
    # The chains' steps take long enough that both run at once: two live processes are needed.
    tasks = [Note(folder=str(tmp_path), chain=0, position=0, die=True),
             *(Note(folder=str(tmp_path), chain=c, position=3, wait_s=0.1) for c in (1, 2))]
    result = build(tasks, tmp_path, workers=2)
    assert result.status.name == "FAILED"
    assert not (tmp_path / "note-0-0.txt").exists()
    assert len(list(tmp_path.glob("note-[12]-*.txt"))) == 8
    (worker,) = read_events(tmp_path, "worker")
    assert worker.processes_forked == 3  # the dead one was replaced, not handed more work


def _fan(folder, *, llm: bool) -> list[Note]:
    """One task first, then three at once (chains -1..-3 all wait on note 0-0)."""
    return [Note(folder=str(folder), chain=-c, position=0, llm=llm) for c in (1, 2, 3)]


def test_processes_for_the_next_tasks_are_forked_while_an_llm_call_runs(tmp_path):
    result = build(_fan(tmp_path, llm=True), tmp_path, workers=4)
    assert result.status.name == "SUCCESS"
    (worker,) = read_events(tmp_path, "worker")
    # The three that follow the call find their processes ready, forked while it waited.
    assert worker.processes_forked == 4 and worker.processes_forked_ahead == 3


def test_no_process_is_forked_ahead_while_a_local_step_runs(tmp_path):
    # A local step ends in milliseconds: a fork then would hold up its result.
    result = build(_fan(tmp_path, llm=False), tmp_path, workers=4)
    assert result.status.name == "SUCCESS"
    (worker,) = read_events(tmp_path, "worker")
    assert worker.processes_forked == 3 and worker.processes_forked_ahead == 0  # the first one is reused


def test_the_local_scheduler_counts_pending_work_as_luigi_does():
    """Its shortcut (no upstream walk while nothing is disabled) gives Luigi's own counts, and
    a disabled task upstream still hides the tasks below it."""
    counts = []
    for cls in (Scheduler, LocalPlanScheduler):
        sch = cls(prune_on_get_work=True, record_task_history=False, retry_count=1)
        sch.add_task(worker="w", task_id="A", status="PENDING")
        sch.add_task(worker="w", task_id="B", status="PENDING", deps=["A"])
        sch.add_task(worker="w", task_id="C", status="PENDING")
        before = sch.count_pending("w")["n_pending_tasks"]
        sch.add_task(worker="w", task_id="A", status="FAILED")  # one failure disables it (retry_count 1)
        after = sch.count_pending("w")["n_pending_tasks"]
        counts.append((before, after))
    assert counts[0] == counts[1] == (3, 1)


def test_a_task_that_waits_for_a_free_process_is_stamped_with_the_moment_one_came_free(tmp_path):
    # Three tasks ready at once for two processes: the third waits for one of the first two.
    fan = [Note(folder=str(tmp_path), chain=-c, position=0, wait_s=0.2) for c in (1, 2, 3)]
    assert build(fan, tmp_path, workers=2).status.name == "SUCCESS"
    head, *fan_dispatches = sorted(read_events(tmp_path, "dispatch"), key=lambda d: d.dispatched)
    waited = [d for d in fan_dispatches if d.slot_freed and d.slot_freed > head.received]
    assert len(fan_dispatches) == 3 and len(waited) == 1
    assert waited[0].slot_freed - head.received > 0.15  # one of the first two, 0.2 s later


INTERRUPTED_WITH_A_LARGE_RESULT = """
import sys, time
from planexe_pipeline.worker import TimedWorkerFactory
factory = TimedWorkerFactory(sys.argv[1])
worker = factory.create_worker(factory.create_local_scheduler(), 2)
with worker:
    # A merge's result naming many items, more than the pipe holds: put, and never read.
    items = [("planexe_pipeline.tasks.wbs", "WBSLevel3Item", {"index": str(n), "prompt": str(n) * 1000})
             for n in range(200)]
    worker._task_result_queue.put(("WBSLevel3Tasks", "PENDING", "", [], items))
    time.sleep(0.3)
    raise KeyboardInterrupt
"""


def test_an_interrupted_worker_exits_though_a_result_it_put_was_never_read(tmp_path):
    # Before, the exit waited forever for the queue's feeder thread to push the result into a
    # pipe nobody read any more: Ctrl-C printed "interrupted" and the run hung.
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_WITH_A_LARGE_RESULT, str(tmp_path)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "KeyboardInterrupt" in done.stderr


class Context(luigi.Task):
    """What every item reads; slow, so it is still pending when the items are added."""

    folder = luigi.Parameter()

    def complete(self):
        with open(os.path.join(self.folder, "context-checks.txt"), "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return os.path.exists(os.path.join(self.folder, "context.txt"))

    def run(self):
        time.sleep(0.5)
        with open(os.path.join(self.folder, "context.txt"), "w") as fh:
            fh.write("context")


class Item(luigi.Task):
    folder = luigi.Parameter()
    index = luigi.IntParameter()

    def requires(self):
        return Context(folder=self.folder)

    def output(self):
        return luigi.LocalTarget(os.path.join(self.folder, f"item-{self.index}.txt"))

    def run(self):
        with self.output().open("w") as fh:
            fh.write(str(self.index))


class Merge(luigi.Task):
    folder = luigi.Parameter()
    runs_in_worker = True

    def output(self):
        return luigi.LocalTarget(os.path.join(self.folder, "merge.txt"))

    def run(self):
        yield [Item(folder=self.folder, index=i) for i in range(5)]
        with self.output().open("w") as fh:
            fh.write("merged")


def test_items_a_merge_yields_are_added_without_checking_inputs_the_scheduler_knows_are_pending(tmp_path):
    # Luigi checked every input of every item again: for a plan's items, six inputs each, the
    # check of the run folder's prompt among them, on the worker's loop while results wait.
    assert build([Merge(folder=str(tmp_path)), Context(folder=str(tmp_path))], tmp_path, workers=4).status.name == "SUCCESS"
    in_worker = (tmp_path / "context-checks.txt").read_text().split().count(str(os.getpid()))
    assert in_worker == 1, f"{in_worker} checks in the worker: the first walk's, then none per item"


def test_a_step_of_our_own_is_handed_out_before_any_llm_call_and_calls_go_by_priority():
    for scheduler in (LocalPlanScheduler(), PlanScheduler()):
        scheduler.add_task(worker="w", task_id="urgent-call", priority=300, resources={"llm": 1})
        scheduler.add_task(worker="w", task_id="later-call", priority=20, resources={"llm": 1})
        scheduler.add_task(worker="w", task_id="merge", priority=0)
        handed = [scheduler.get_work(worker="w")["task_id"] for _ in range(3)]
        assert handed == ["merge", "urgent-call", "later-call"], type(scheduler).__name__


def test_the_screening_is_the_second_call_of_a_run_with_one_worker(tmp_path):
    run_dir = tmp_path / "run"
    assert main(["run", "--prompt-id", "bakery-lyon", "--run-dir", str(run_dir), "--speed", "fast",
                 "--workers", "1", "--llm", "simulated-instant"]) == 0
    calls = [e.task_family for e in read_events(run_dir) if isinstance(e, TaskEvent) and e.event == "start" and e.llm]
    assert calls.index("ScreenPrompt") == 1, calls[:4]


def no_task_process(task):
    raise AssertionError("no task is handed out here")


def test_a_member_forked_but_never_handed_a_task_exits_when_the_pool_closes():
    # Ctrl-C can land between a member's fork and its entry among the idle or busy members. Such a
    # member waited for orders forever, and the run, exiting, waited for it (multiprocessing joins
    # every live child at exit): the run hung after printing that it was interrupted.
    pool = TaskProcessPool(no_task_process, multiprocessing.Queue())
    stray = pool._fork()
    idle = pool._fork()
    pool._idle.append(idle)
    pool.close()
    for member in (stray, idle):
        member.join(timeout=10)
        assert not member.is_alive(), "a member of a closed pool is still waiting for orders"
        assert member.exitcode == 0
