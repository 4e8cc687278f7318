"""The Luigi worker that runs a plan: task processes reused, and clocks on its own work.

Between one task's end and the next task's start, Luigi's worker takes the result off its
queue, tells the scheduler, asks it for work, and starts the task in a process that re-checks
the inputs first. On a 2-core machine with 16 workers those steps cost more than the tasks' own
bookkeeping, so this worker stamps each of them (the task's process carries the stamps in its
start line; the worker writes one `dispatch` line per execution and one `worker` line of totals
when it stops, not while tasks wait on it; `telemetry/overhead.py` splits each gap with them),
and cuts the two that were largest: Luigi's fork of a new process per task (worker_pool.py) and
the walk of the whole upstream graph for every item a fan-out merge yields (`_add`).
"""

from __future__ import annotations

import os
import time

import luigi.interface
import luigi.scheduler
import luigi.worker
from luigi.scheduler import DISABLED, PENDING

from planexe_pipeline.telemetry.events import DispatchEvent, Event, WorkerEvent, append_events
from planexe_pipeline.worker_pool import PooledTaskProcess, TaskProcessPool


class ProcessStamp:
    """Luigi's task_process_context: entered first thing in the task's own process."""

    def __init__(self, task_process: luigi.worker.TaskProcess):
        self.task = task_process.task

    def __enter__(self) -> "ProcessStamp":
        self.task.process_started = time.time()
        return self

    def __exit__(self, *exc) -> None:
        return None


PROCESS_STAMP = f"{ProcessStamp.__module__}.{ProcessStamp.__qualname__}"


class _StampingQueue:
    """The worker's result queue, noting when the worker took each task's result off it, and
    giving the worker's idle moments (nothing on the queue yet) to `on_idle`."""

    def __init__(self, queue, on_get, on_idle):
        self._queue = queue
        self._on_get = on_get
        self._on_idle = on_idle

    def __getattr__(self, name):  # put, close, join_thread, ...: the queue's own
        return getattr(self._queue, name)

    def get(self, *args, **kwargs):
        # One step at a time, looking again in between: a result that arrives waits one step at most.
        while self._queue.empty() and self._on_idle():
            pass
        result = self._queue.get(*args, **kwargs)
        self._on_get(result[0], time.time())
        return result


class TimedWorker(luigi.worker.Worker):
    def __init__(self, *args, run_dir: str, **kwargs):
        kwargs.setdefault("task_process_context", PROCESS_STAMP)
        super().__init__(*args, **kwargs)
        self._run_dir = run_dir
        self._task_result_queue = _StampingQueue(self._task_result_queue, self._received, self._prepare_member)
        # The pool's members build each task's process with Luigi's own method, on their copy of
        # this worker (they are forked from it).
        self._pool = TaskProcessPool(lambda task: luigi.worker.Worker._create_task_process(self, task),
                                     self._task_result_queue)
        self._executions: list[dict] = []
        self._open: dict[str, dict] = {}  # task id -> its execution whose result is awaited
        self._added: dict[str, float] = {}
        self._pending: set[str] = set()  # told to the scheduler as PENDING, with their dependencies
        self._adding: str | None = None
        self._slot_freed: float | None = None
        self._handling_result = False
        self._totals = {"get_work_calls": 0, "get_work_s": 0.0, "dispatch_s": 0.0, "add_s": 0.0}

    def _received(self, task_id: str, now: float) -> None:
        if len(self._running_tasks) >= self.worker_processes:
            self._slot_freed = now  # a task waiting for a process since before now gets this one
        self._pool.release(task_id)
        execution = self._open.pop(task_id, None)
        if execution is not None:
            execution["received"] = now

    def _prepare_member(self) -> bool:
        """Fork one task process ahead of need while the worker waits for a result, if the tasks
        still to run here could use it. Forked during a fan-out instead, with many tasks ready at
        once, each fork (10-30 ms on 2 cores) held up every result behind it, the critical path's
        included. Only while every running task is an LLM call (seconds), not a local step
        (milliseconds) whose result the fork would hold up. False when there is nothing to do."""
        if not self._runs_in_processes:
            return False
        if not self._running_tasks or not all("llm" in process.task.process_resources()
                                              for process in self._running_tasks.values()):
            return False
        wanted = min(self.worker_processes, len(self._running_tasks) + len(self._pending))
        if self._pool.size >= wanted:
            return False
        self._pool.add_idle_member()
        return True

    def _add_task(self, *args, **kwargs):
        if kwargs.get("status") == PENDING:
            self._pending.add(kwargs["task_id"])
        else:
            self._pending.discard(kwargs["task_id"])
        return super()._add_task(*args, **kwargs)

    def _add(self, task, is_complete):
        # Luigi adds the items a merge yields by walking each item's whole upstream graph again,
        # complete() checks included: for the review questions, yielded while the plan is still
        # being made, that is most of the graph per item, hundreds of ms on 2 cores while results
        # wait. The walk also re-adds a merge that yielded with its static dependencies only, which
        # sends it back to run and yield again. A task already pending with its dependencies is
        # known to the scheduler as it is, so the walk neither checks it again (each item's six
        # inputs, Setup's check of the folder's prompt among them) nor goes past it.
        # Only for what a result brings (a merge's items): a worker that tells the scheduler the
        # whole plan again (scaleout.PlanWorker, after luigid restarted) needs the whole walk.
        for dependency in super()._add(task, is_complete):
            if self._handling_result and dependency.task_id in self._pending:
                continue
            yield dependency

    def _handle_next_task(self):
        self._handling_result = True
        try:
            return super()._handle_next_task()
        finally:
            self._handling_result = False

    def add(self, task, *args, **kwargs):
        if self._handling_result and task.task_id in self._pending:
            # A merge's merge-only input that is itself a merge waiting for its items (the level-3
            # merge yields the durations' merge): adding it again would tell the scheduler its
            # static dependencies only, and it would be handed out to yield its items once more.
            return True
        started = time.time()
        self._adding = task.task_id
        try:
            return super().add(task, *args, **kwargs)
        finally:
            self._adding = None
            now = time.time()
            self._totals["add_s"] += now - started
            self._added.setdefault(task.task_id, now)

    def _get_work(self):
        started = time.time()
        try:
            return super()._get_work()
        finally:
            self._totals["get_work_calls"] += 1
            self._totals["get_work_s"] += time.time() - started

    def _run_task(self, task_id):
        task = self._scheduled_tasks.get(task_id)
        if task is None or task_id in self._running_tasks:
            return super()._run_task(task_id)
        dispatched = time.time()
        # Set before the fork, so the task's process has it for its start line.
        task.dispatched_at = dispatched
        execution = {"task_id": task_id, "dispatched": dispatched, "added": self._added.get(task_id),
                     "slot_freed": self._slot_freed}
        self._open[task_id] = execution
        super()._run_task(task_id)
        # With one worker the task ran right here; with more, its process has been started.
        execution["forked"] = time.time()
        self._totals["dispatch_s"] += execution["forked"] - dispatched
        self._executions.append(execution)

    @property
    def _runs_in_processes(self) -> bool:
        """Whether tasks run in processes of their own (Luigi's rule); with one worker, in this one."""
        return self._config.force_multiprocessing or self.worker_processes > 1

    def _create_task_process(self, task):
        if not self._runs_in_processes:
            return super()._create_task_process(task)  # one worker: in this process, as Luigi does
        if getattr(task, "runs_in_worker", False):
            # A step of a few ms that reads and writes local files (a fan-out's list, its merge):
            # handing it to a process cost more than the step, and the merges' first runs, ready
            # at the start, held up the first task's result while they were handed out.
            process = super()._create_task_process(task)
            process.use_multiprocessing = False
            return process
        reporter = luigi.worker.TaskStatusReporter(self._scheduler, task.task_id, self._id, None)
        return PooledTaskProcess(self._pool, task, reporter, self._config.timeout)

    def __exit__(self, *exc):
        if exc[0] is not None:
            # Interrupted (Ctrl-C) or failed: nobody will read the result queue again. A result
            # this process put on it that the pipe could not take (a merge yielding many items)
            # would make the exit wait forever for its feeder thread to flush.
            self._task_result_queue.cancel_join_thread()
        try:
            return super().__exit__(*exc)
        finally:
            self._pool.close()

    def run(self):
        started = time.time()
        try:
            return super().run()
        finally:
            self._write_telemetry(started)

    def _write_telemetry(self, started: float) -> None:
        worker = os.getpid()
        lines: list[Event] = [DispatchEvent(worker=worker, **execution) for execution in self._executions]
        lines.append(WorkerEvent(worker=worker, workers=self.worker_processes, began=started, stopped=time.time(),
                                 processes_forked=self._pool.forks, processes_forked_ahead=self._pool.forks_ahead,
                                 **{k: round(v, 6) if isinstance(v, float) else v for k, v in self._totals.items()}))
        try:
            append_events(self._run_dir, lines)
        except OSError:
            pass  # the plan's files matter more than these diagnostics


# With the local scheduler every change of state reaches the worker on its result queue, and
# waiting on the queue ends the moment a result arrives, so [worker] wait_interval only sets how
# often an idle worker asks the scheduler again: at the shipped 0.02 s (for luigid, where other
# workers' results arrive by polling) that was ~700 get_work calls a run, each sorting every
# task, all of it CPU taken from the task processes.
LOCAL_WAIT_INTERVAL_S = 0.5


class LocalPlanScheduler(luigi.scheduler.Scheduler):
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

    def prune(self):
        now = time.time()
        if now - self._pruned_at >= self.PRUNE_EVERY_S:
            self._pruned_at = now
            super().prune()

    def count_pending(self, worker):
        self._nothing_disabled = not self._state.get_active_task_count_for_status(DISABLED)
        try:
            return super().count_pending(worker)
        finally:
            self._nothing_disabled = False

    def _upstream_status(self, task_id, upstream_status_table):
        if self._nothing_disabled:
            return ""  # count_pending only asks whether it is UPSTREAM_DISABLED: it cannot be
        return super()._upstream_status(task_id, upstream_status_table)


class TimedWorkerFactory(luigi.interface._WorkerSchedulerFactory):
    """Workers for a run on Luigi's local scheduler."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir

    def create_local_scheduler(self):
        return LocalPlanScheduler(prune_on_get_work=True, record_task_history=False)

    def create_worker(self, scheduler, worker_processes, assistant=False):
        wait = max(LOCAL_WAIT_INTERVAL_S, luigi.worker.worker().wait_interval)
        return TimedWorker(scheduler=scheduler, worker_processes=worker_processes, assistant=assistant,
                           run_dir=self.run_dir, wait_interval=wait)
