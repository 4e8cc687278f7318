"""Clocks on the worker's own work: when each task was added, dispatched, started and done.

Between one task's end and the next task's start, Luigi's worker takes the result off its
queue, tells the scheduler, asks it for work, and starts the task in a process that re-checks
the inputs first. The worker stamps each of those steps (the task's process carries the stamps
in its start line; the worker writes one `dispatch` line per execution and one `worker` line of
totals when it stops, not while tasks wait on it); telemetry/overhead.py splits each gap with them.
"""

from __future__ import annotations

import os
import time
from typing import Callable

import luigi.worker

from planexe_pipeline.telemetry.event_log import append_events
from planexe_pipeline.telemetry.events import DispatchEvent, Event, WorkerEvent


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


class StampingQueue:
    """The worker's result queue, noting when the worker took each task's result off it, giving
    the worker's idle moments (nothing on the queue yet) to `on_idle`, and waiting for a result as
    long as `wait_s(Luigi's timeout)` says."""

    def __init__(self, queue, on_get: Callable[[str, float], None], on_idle: Callable[[], bool],
                 wait_s: Callable[[float | None], float | None] = lambda timeout: timeout):
        self._queue = queue
        self._on_get = on_get
        self._on_idle = on_idle
        self._wait_s = wait_s

    def __getattr__(self, name):  # put, close, join_thread, ...: the queue's own
        return getattr(self._queue, name)

    def get(self, block: bool = True, timeout: float | None = None):
        # One step at a time, looking again in between: a result that arrives waits one step at most.
        while self._queue.empty() and self._on_idle():
            pass
        result = self._queue.get(block, self._wait_s(timeout))
        self._on_get(result[0], time.time())
        return result


class DispatchClock:
    """Every execution's stamps and the worker's totals, written as telemetry when it stops."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self.executions: list[dict] = []
        self._open: dict[str, dict] = {}  # task id -> its execution whose result is awaited
        self._added: dict[str, float] = {}
        self.slot_freed: float | None = None  # when a busy worker last got a process back
        self.totals = {"get_work_calls": 0, "get_work_s": 0.0, "dispatch_s": 0.0, "add_s": 0.0}

    def added(self, task_id: str, started: float) -> None:
        now = time.time()
        self.totals["add_s"] += now - started
        self._added.setdefault(task_id, now)

    def asked_for_work(self, started: float) -> None:
        self.totals["get_work_calls"] += 1
        self.totals["get_work_s"] += time.time() - started

    def dispatching(self, task: luigi.Task) -> dict:
        dispatched = time.time()
        # Set before the fork, so the task's process has it for its start line.
        task.dispatched_at = dispatched
        execution = {"task_id": task.task_id, "dispatched": dispatched, "added": self._added.get(task.task_id),
                     "slot_freed": self.slot_freed}
        self._open[task.task_id] = execution
        return execution

    def dispatched(self, execution: dict) -> None:
        # With one worker the task ran right here; with more, its process has been started.
        execution["forked"] = time.time()
        self.totals["dispatch_s"] += execution["forked"] - execution["dispatched"]
        self.executions.append(execution)

    def received(self, task_id: str, now: float, all_busy: bool) -> None:
        if all_busy:
            self.slot_freed = now  # a task waiting for a process since before now gets this one
        execution = self._open.pop(task_id, None)
        if execution is not None:
            execution["received"] = now

    def write(self, *, workers: int, began: float, processes_forked: int, processes_forked_ahead: int) -> None:
        worker = os.getpid()
        lines: list[Event] = [DispatchEvent(worker=worker, **execution) for execution in self.executions]
        lines.append(WorkerEvent(worker=worker, workers=workers, began=began, stopped=time.time(),
                                 processes_forked=processes_forked, processes_forked_ahead=processes_forked_ahead,
                                 **{k: round(v, 6) if isinstance(v, float) else v for k, v in self.totals.items()}))
        try:
            append_events(self.run_dir, lines)
        except OSError:
            pass  # the plan's files matter more than these diagnostics
