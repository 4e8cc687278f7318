"""The Luigi worker that runs a plan: task processes reused, its own steps timed, walks pruned.

Three concerns, each in its own place: the clocks on the worker's own steps (dispatch_clock.py),
the pool of task processes reused from task to task instead of Luigi's fork per task
(worker_pool.py), and, here, what the worker need not tell the scheduler again: a task it
already told is pending with its dependencies (`_pending`), as long as the scheduler that heard it
still holds it (`forget_told`). Luigi's steps are changed through luigi_internals.py's hooks only.
"""

from __future__ import annotations

import time

import luigi.configuration
import luigi.worker
from luigi.scheduler import DISABLED, FAILED, PENDING

from planexe_pipeline.dispatch_clock import PROCESS_STAMP, DispatchClock, StampingQueue
from planexe_pipeline.luigi_internals import SchedulerHooks, WorkerHooks, WorkerSchedulerFactory, run_in_this_process
from planexe_pipeline.worker_pool import PooledTaskProcess, TaskProcessPool


class RunStopped(Exception):
    """A task whose failure ends the run (its `failure_ends_run()`: an unusable prompt) failed.

    Raised out of the worker's loop, as Ctrl-C is: Luigi's worker then terminates the tasks in
    flight, whose outputs are written whole or not at all, and the run ends on the task's own
    failure line."""


class TimedWorker(WorkerHooks):
    def __init__(self, *args, run_dir: str, **kwargs):
        kwargs.setdefault("task_process_context", PROCESS_STAMP)
        super().__init__(*args, **kwargs)
        self.clock = DispatchClock(run_dir)
        self.result_queue = StampingQueue(self.result_queue, self._received, self._prepare_member, self.result_wait_s)
        # The pool's members build each task's process with Luigi's own method, on their copy of
        # this worker (they are forked from it).
        self._pool = TaskProcessPool(lambda task: WorkerHooks.make_task_process(self, task), self.result_queue)
        self._pending: set[str] = set()  # told to the scheduler as PENDING, with their dependencies
        self._handling_result = False
        self._stopped_by: str | None = None  # the task family whose failure ends the run

    # -- processes ----------------------------------------------------------------------------
    @property
    def _runs_in_processes(self) -> bool:
        """Whether tasks run in processes of their own (Luigi's rule); with one worker, in this one."""
        return self.worker_config.force_multiprocessing or self.worker_processes > 1

    def _received(self, task_id: str, now: float) -> None:
        self.clock.received(task_id, now, all_busy=len(self.running_tasks) >= self.worker_processes)
        self._pool.release(task_id)

    def _prepare_member(self) -> bool:
        """Fork one task process ahead of need while the worker waits for a result, if the tasks
        still to run here could use it. Forked during a fan-out instead, with many tasks ready at
        once, each fork (10-30 ms on 2 cores) held up every result behind it, the critical path's
        included. Only while every running task is an LLM call (seconds), not a local step
        (milliseconds) whose result the fork would hold up. False when there is nothing to do."""
        if not self._runs_in_processes:
            return False
        if not self.running_tasks or not all("llm" in process.task.process_resources()
                                             for process in self.running_tasks.values()):
            return False
        wanted = min(self.worker_processes, len(self.running_tasks) + len(self._pending))
        if self._pool.size >= wanted:
            return False
        self._pool.add_idle_member()
        return True

    def make_task_process(self, task):
        if not self._runs_in_processes:
            return super().make_task_process(task)  # one worker: in this process, as Luigi does
        if getattr(task, "runs_in_worker", False):
            # A step of a few ms that reads and writes local files (a fan-out's list, its merge):
            # handing it to a process cost more than the step, and the merges' first runs, ready
            # at the start, held up the first task's result while they were handed out.
            process = super().make_task_process(task)
            run_in_this_process(process)
            return process
        return PooledTaskProcess(self._pool, task, self.status_reporter(task.task_id), self.worker_config.timeout)

    def result_wait_s(self, timeout: float | None) -> float | None:
        """How long to wait for a task's result before asking the scheduler for work again (a
        result ends the wait at once): Luigi's [worker] wait_interval."""
        return timeout

    # -- what the scheduler already knows -------------------------------------------------------
    def forget_told(self) -> None:
        """The scheduler may have lost what it was told (luigid started again without its state):
        from now on every task is told again, with its dependencies."""
        self._pending.clear()

    def on_status_told(self, task_id, status):
        if status == PENDING:
            self._pending.add(task_id)
        else:
            self._pending.discard(task_id)
        if status == FAILED and self._handling_result:
            task = self.scheduled_tasks.get(task_id)
            ends_run = getattr(task, "failure_ends_run", None)
            if ends_run is not None and ends_run():
                self._stopped_by = task.task_family

    def on_handling_result(self, handling: bool) -> None:
        self._handling_result = handling
        if not handling and self._stopped_by:
            # The failure is told to the scheduler; nothing more is dispatched or waited for.
            raise RunStopped(f"{self._stopped_by} failed, which ends the run")

    def keep_dependency(self, dependency) -> bool:
        # Luigi adds the items a merge yields by walking each item's whole upstream graph again,
        # complete() checks included: for the review questions, yielded while the plan is still
        # being made, that is most of the graph per item, hundreds of ms on 2 cores while results
        # wait. The walk also re-adds a merge that yielded with its static dependencies only, which
        # sends it back to run and yield again. A task already pending with its dependencies is
        # known to the scheduler as it is, so the walk neither checks it again (each item's six
        # inputs, Setup's check of the folder's prompt among them) nor goes past it.
        # Only for what a result brings (a merge's items): a worker that tells the scheduler the
        # whole plan again (scaleout.PlanWorker, after luigid restarted) needs the whole walk.
        return not (self._handling_result and dependency.task_id in self._pending)

    def add_task_tree(self, task, **kwargs):
        if self._handling_result and task.task_id in self._pending:
            # A merge's merge-only input that is itself a merge waiting for its items (the level-3
            # merge yields the durations' merge): adding it again would tell the scheduler its
            # static dependencies only, and it would be handed out to yield its items once more.
            return True
        started = time.time()
        try:
            return super().add_task_tree(task, **kwargs)
        finally:
            self.clock.added(task.task_id, started)

    # -- dispatch, timed ---------------------------------------------------------------------
    def ask_for_work(self):
        started = time.time()
        try:
            return super().ask_for_work()
        finally:
            self.clock.asked_for_work(started)

    def dispatch(self, task_id):
        task = self.scheduled_tasks.get(task_id)
        if task is None or task_id in self.running_tasks:
            return super().dispatch(task_id)
        execution = self.clock.dispatching(task)
        super().dispatch(task_id)
        self.clock.dispatched(execution)

    def on_exit(self, interrupted: bool) -> None:
        if interrupted:
            # Interrupted (Ctrl-C) or failed: nobody will read the result queue again. A result
            # this process put on it that the pipe could not take (a merge yielding many items)
            # would make the exit wait forever for its feeder thread to flush.
            self.result_queue.cancel_join_thread()

    def after_exit(self) -> None:
        self._pool.close()

    def work(self):
        started = time.time()
        try:
            return super().work()
        finally:
            self.clock.write(workers=self.worker_processes, began=started, processes_forked=self._pool.forks,
                             processes_forked_ahead=self._pool.forks_ahead)


# With the local scheduler every change of state reaches the worker on its result queue, and
# waiting on the queue ends the moment a result arrives, so [worker] wait_interval only sets how
# often an idle worker asks the scheduler again: at the shipped 0.02 s (for luigid, where other
# workers' results arrive by polling) that was ~700 get_work calls a run, each sorting every
# task, all of it CPU taken from the task processes.
LOCAL_WAIT_INTERVAL_S = 0.5


class StepsBeforeCalls(SchedulerHooks):
    """A step of our own code (a merge, a chapter, the report: a task that holds no LLM slot)
    takes milliseconds and only unlocks work, so of the tasks ready to run it is handed out before
    any LLM call; behind a fan-out's calls, a merge that waited its turn held up every task after
    it. Among the calls, priority (the remaining path) decides, as in Luigi. Not a priority of its
    own: Luigi passes priorities on to everything upstream, which would rank every task alike.
    A report section printed for the PDF or the Word file is such a step too (its own `print`
    slots say how many at once): waiting behind the calls, it left its printing to the plan's end."""

    def rank(self, task) -> tuple:
        return ("llm" not in task.resources, *super().rank(task))


class LocalPlanScheduler(StepsBeforeCalls):
    """Luigi's local scheduler, less two walks of every task on every get_work call.

    The worker asks for work after each result, and each time the scheduler pruned (a walk that
    finds dead workers and failed tasks due for a retry) and counted the pending tasks whose
    upstream is not disabled (a walk up from each): ~70% of get_work, ~1 ms a call on 2 cores,
    on the critical path and repeated for every task of a fan-out dispatched ahead of the one
    that matters. Here the prune runs at most once a second (a local worker cannot disconnect;
    a retry waits [scheduler] retry_delay, seconds, anyway), and the upstream walk only when a
    task is disabled, the one status it looks for."""

    PRUNE_EVERY_S = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pruned_at = 0.0
        self._nothing_disabled = False

    def prune_state(self):
        now = time.time()
        if now - self._pruned_at >= self.PRUNE_EVERY_S:
            self._pruned_at = now
            super().prune_state()

    def pending_count(self, worker):
        self._nothing_disabled = not self.tasks_with_status(DISABLED)
        try:
            return super().pending_count(worker)
        finally:
            self._nothing_disabled = False

    def plan_upstream_status(self, task_id, upstream_status_table):
        if self._nothing_disabled:
            return ""  # count_pending only asks whether it is UPSTREAM_DISABLED: it cannot be
        return super().plan_upstream_status(task_id, upstream_status_table)


class TimedWorkerFactory(WorkerSchedulerFactory):
    """Workers for a run on Luigi's local scheduler."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir

    def make_local_scheduler(self, llm_slots: int | None = None):
        # The run's LLM slots are the scheduler's own `llm` resource, beside the config's others.
        resources = luigi.configuration.get_config().getintdict("resources")
        if llm_slots is not None:
            resources["llm"] = llm_slots
        return LocalPlanScheduler(prune_on_get_work=True, record_task_history=False, resources=resources)

    def make_worker(self, scheduler, worker_processes, assistant):
        return TimedWorker(**self.worker_arguments(scheduler, worker_processes, assistant))

    def worker_arguments(self, scheduler, worker_processes: int, assistant: bool = False) -> dict:
        wait = max(LOCAL_WAIT_INTERVAL_S, luigi.worker.worker().wait_interval)
        return {"scheduler": scheduler, "worker_processes": worker_processes, "assistant": assistant,
                "run_dir": self.run_dir, "wait_interval": wait}


def llm_cap_of(resource_list: list[dict]) -> int:
    """The `llm` cap in a scheduler's resource_list() (the local one's, or luigid's API: same shape).

    A resource the scheduler does not list gets 1 unit (luigi.scheduler.Scheduler._has_resources)."""
    return next((int(r["num_total"]) for r in resource_list if r.get("name") == "llm"), 1)
