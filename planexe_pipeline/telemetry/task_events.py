"""Task start/end lines, written by Luigi event handlers in the process that runs the task.

The handlers are attached where the tasks are defined (tasks/base.py); a task describes itself
through `telemetry_fields()` and `dependency_ids()`.

A fan-out merge that yields its items stops without a Luigi success event; it records a
"yielded" end itself (FanOutMerge.run), so every execution of every task has a closed span.
"""

from __future__ import annotations

import os
import time

import luigi

from planexe_pipeline.errors import Defect
from planexe_pipeline.redaction import redact
from planexe_pipeline.telemetry.correlation import begin_task_span, end_task_span
from planexe_pipeline.telemetry.event_log import append_event
from planexe_pipeline.telemetry.events import TaskEvent
from planexe_pipeline.telemetry.resources import TaskMeter

_started: dict[str, float] = {}
# The Luigi worker that runs the tasks: the process that imports the graph (the `run`
# telemetry line's pid). With --workers > 1 each task runs in a process forked from it,
# which inherits this value, so scaled-out runs can tell which worker ran which task.
_WORKER_PID = os.getpid()
_meter = TaskMeter()


def _event(task: luigi.Task, **fields) -> TaskEvent:
    # The task says what it is (PlanTask.telemetry_fields): this layer sits below the tasks.
    return TaskEvent(**task.telemetry_fields(), pid=os.getpid(), worker=_WORKER_PID, **fields)


def record_start(task: luigi.Task) -> None:
    now = time.time()
    _started[task.task_id] = now
    # In the worker's own process (a merge, or --workers 1) the worker's bookkeeping runs beside
    # the task in other threads: the task is charged its own thread's CPU.
    _meter.start(task.task_id, thread_only=os.getpid() == _WORKER_PID)
    # Set by the worker (planexe_pipeline/worker.py) before the fork and first thing after it.
    append_event(task.run_dir, _event(task, event="start", start=now, status="running",
                                      dispatched_at=getattr(task, "dispatched_at", None),
                                      process_started=getattr(task, "process_started", None),
                                      span_id=begin_task_span(task.task_id)))


def record_end(task: luigi.Task, status: str, error: str | None = None, error_kind: str | None = None) -> None:
    now = time.time()
    start = _started.pop(task.task_id, now)
    cpu_s, peak_rss_bytes = _meter.end(task.task_id)
    try:
        deps = task.dependency_ids()
    except Exception:  # an end line without edges beats no end line
        deps = []
    append_event(task.run_dir, _event(task, event="end", start=start, end=now, status=status, deps=tuple(deps),
                                      error=error or None, error_kind=error_kind, cpu_s=cpu_s,
                                      peak_rss_bytes=peak_rss_bytes,
                                      span_id=end_task_span(task.task_id),
                                      handler_s=round(time.time() - now, 6)))  # this line's cost after `end`


def describe_failure(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return redact(text)[:2000]  # long enough to keep the saved raw answer's path at the end


def record_success(task: luigi.Task) -> None:
    record_end(task, "ok")


def record_failure(task: luigi.Task, exc: BaseException) -> None:
    # The kind a pipeline error declares (errors.py); anything else is a defect.
    record_end(task, "failed", describe_failure(exc), getattr(exc, "kind", Defect.kind))
