"""One concise line per finished task while a plan runs, and a summary at the end.

The worker processes write telemetry; this thread in the launching process tails it. The
total grows as fan-outs are discovered (Luigi tells this process about every task it
schedules). The ETA is the longest expected chain still to run, scaled by how the measured
calls compare with the latency model so far.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

import luigi

from planexe_pipeline.telemetry.events import EventFollower, TaskEvent


@dataclass
class RunProgress:
    run_dir: str
    # task family -> expected seconds from its start to the end of the plan (pipeline.py).
    remaining: dict[str, float] = field(default_factory=dict)
    # task family -> expected seconds of its own LLM call (0 for code), from the latency model.
    expected: dict[str, float] = field(default_factory=dict)
    out: TextIO | None = None  # None: whatever sys.stdout is when a line is printed
    interval_s: float = 0.2
    started_at: float = field(default_factory=time.time)
    known: dict[str, str] = field(default_factory=dict)  # task_id -> family, every task scheduled
    already_done: set[str] = field(default_factory=set)
    _seen_ends: set[tuple] = field(default_factory=set)
    # Luigi's handlers fill `known` in the main thread while this thread reads it.
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    # The run's task lines so far, read as the files grow: each look costs what is new, not a
    # re-read of the whole run (CPU the task processes share, and the run's last moment).
    _tasks: list[TaskEvent] = field(default_factory=list)
    _follower: EventFollower | None = None
    _open_llm: set[str] = field(default_factory=set)

    # -- Luigi's scheduling events, in this process ------------------------------------------
    # Every task Luigi schedules in a plan run is a plan task: no need to know their class here.
    def attach(self) -> None:
        luigi.Task.event_handler(luigi.Event.DEPENDENCY_PRESENT)(self._present)
        luigi.Task.event_handler(luigi.Event.DEPENDENCY_DISCOVERED)(self._discovered)

    def detach(self) -> None:
        for event, fn in ((luigi.Event.DEPENDENCY_PRESENT, self._present),
                          (luigi.Event.DEPENDENCY_DISCOVERED, self._discovered)):
            luigi.Task.remove_event_handler(event, fn)

    def _present(self, task) -> None:
        with self._lock:
            self.known[task.task_id] = task.task_family
            self.already_done.add(task.task_id)

    def _discovered(self, task, dependency) -> None:
        # Luigi announces each (task, upstream) edge as it walks the graph, fan-out items included.
        with self._lock:
            self.known[task.task_id] = task.task_family
            self.known[dependency.task_id] = dependency.task_family

    def _snapshot(self) -> tuple[dict[str, str], set[str]]:
        """(every task known, every task done) as of now."""
        with self._lock:
            return dict(self.known), self.already_done | self.finished_ids()

    # -- tailing telemetry -------------------------------------------------------------------
    def start(self) -> None:
        self.attach()
        self._thread = threading.Thread(target=self._loop, name="plan-progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.poll()
        self.detach()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll()

    def poll(self) -> None:
        if self._follower is None:
            self._follower = EventFollower(self.run_dir)
        new = sorted((e for _, e in self._follower.new_events()
                      if isinstance(e, TaskEvent) and e.start is not None and e.start >= self.started_at),
                     key=lambda e: (e.start or 0, e.end or 0))
        self._tasks += new
        for e in new:  # sorted by start, so a task's start line comes before its end line
            if e.event == "start" and e.llm:
                self._open_llm.add(e.task_id)
            elif e.is_end:
                self._open_llm.discard(e.task_id)
        for e in new:
            key = (e.task_id, e.event, e.start)
            if not e.is_end or e.status == "yielded" or key in self._seen_ends:
                continue
            self._seen_ends.add(key)
            self._print_line(e, len(self._open_llm), self._tasks)

    def finished_ids(self) -> set[str]:
        return {k[0] for k in self._seen_ends}

    def _print_line(self, end: TaskEvent, in_flight: int, tasks: list[TaskEvent]) -> None:
        known, done_ids = self._snapshot()
        done = len(done_ids)
        total = max(len(known), done)
        elapsed = time.time() - self.started_at
        name = end.task_family + (f" #{end.item}" if end.item is not None else "")
        status = "ok" if end.status == "ok" else "FAILED"
        eta = self.eta_s(tasks, known, done_ids)
        eta_text = f"  ETA ~{eta:.0f}s" if eta is not None else ""
        print(f"[{done:>3}/{total:<3}] {elapsed:7.1f}s  {status:<6} {name:<36} {end.seconds:6.2f}s"
              f"  LLM in flight: {in_flight}{eta_text}", file=self.out or sys.stdout, flush=True)

    def eta_s(self, tasks: list[TaskEvent], known: dict[str, str], done_ids: set[str]) -> float | None:
        ends = [e for e in tasks if e.is_end and e.status == "ok" and e.llm]
        if not ends:
            return None
        measured = sum(e.seconds for e in ends)
        expected = sum(self.expected.get(e.task_family, 0.0) for e in ends)
        scale = measured / expected if expected else 0.0
        pending = [family for task_id, family in known.items() if task_id not in done_ids]
        return max((self.remaining.get(f, 0.0) for f in pending), default=0.0) * scale
