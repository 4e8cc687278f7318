"""CPU time and memory of a run: per task, per `run` process, and over time.

Per task, on its end line: the CPU seconds it used and the peak resident memory of the process
that ran it, while it ran it. Task processes are reused from task to task (worker_pool.py), so
the peak is reset when a task starts (Linux: writing 5 to /proc/self/clear_refs resets VmHWM);
where that is not possible the process's lifetime peak is reported. A task run inside the `run`
process itself (a fan-out merge, or every task with --workers 1) is charged the CPU of its own
thread only, not the worker's bookkeeping beside it.

Over time: a thread of the `run` process samples the memory of itself and its task processes
every `interval_s` and writes one `resources` line per sample. Memory is the proportional set
size (PSS: a page shared by the forked task processes counts once across them), which adds up
across processes, unlike their resident sizes.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from pathlib import Path

from planexe_pipeline.telemetry.event_log import append_event
from planexe_pipeline.telemetry.events import ResourceSampleEvent

_PROC = Path("/proc")
_KB = 1024


def cpu_seconds(thread_only: bool = False) -> float:
    """CPU seconds (user + system) of this process, or of the calling thread only."""
    who = resource.RUSAGE_THREAD if thread_only and hasattr(resource, "RUSAGE_THREAD") else resource.RUSAGE_SELF
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def reset_peak_memory() -> bool:
    """Start this process's peak resident memory over from now; False where the system cannot."""
    try:
        with open(_PROC / "self" / "clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_memory_bytes() -> int | None:
    """This process's peak resident memory since it started or since the last reset."""
    try:
        with open(_PROC / "self" / "status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * _KB
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
    return peak * _KB if peak else None


class TaskMeter:
    """CPU and peak memory of the tasks a process runs, from their start to their end."""

    def __init__(self) -> None:
        self._cpu_at_start: dict[str, tuple[float, bool]] = {}

    def start(self, task_id: str, thread_only: bool) -> None:
        reset_peak_memory()
        self._cpu_at_start[task_id] = (cpu_seconds(thread_only), thread_only)

    def end(self, task_id: str) -> tuple[float | None, int | None]:
        started = self._cpu_at_start.pop(task_id, None)
        cpu = round(max(0.0, cpu_seconds(started[1]) - started[0]), 4) if started else None
        return cpu, peak_memory_bytes()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in (_PROC / str(pid) / "task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, ValueError):
        pass
    return found


def process_tree(pid: int) -> list[int]:
    """pid and every process below it."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += _children(current)
    return tree


def process_memory_bytes(pid: int) -> int | None:
    """A process's proportional set size (PSS), or its resident size where PSS is not told."""
    try:
        with open(_PROC / str(pid) / "smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * _KB
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(_PROC / str(pid) / "statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def run_memory_bytes(pid: int) -> tuple[int, int]:
    """(memory, processes) of a process and everything below it."""
    sizes = [size for size in map(process_memory_bytes, process_tree(pid)) if size is not None]
    return sum(sizes), len(sizes)


class MemorySampler:
    """Samples the memory of this process and its task processes while a run goes on."""

    def __init__(self, run_dir: str | os.PathLike, interval_s: float = 1.0):
        self.run_dir = run_dir
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval_s > 0:
            self._thread = threading.Thread(target=self._loop, name="plan-memory", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
            self.sample()  # the last moment, so the curve reaches the run's end

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def sample(self) -> None:
        memory, processes = run_memory_bytes(os.getpid())
        self.peak_bytes = max(self.peak_bytes, memory)
        try:
            append_event(self.run_dir, ResourceSampleEvent(start=time.time(), memory_bytes=memory,
                                                           processes=processes, worker=os.getpid()))
        except OSError:
            pass  # a sample lost is a point missing from a curve, not a reason to stop the run
