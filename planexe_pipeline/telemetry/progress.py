"""One line per finished task while a plan runs, where no terminal redraws a block (CI, pipes, files).

The worker processes write telemetry; this thread in the launching process tails it. Each line
counts one more task done than the line before: the tasks of the plan done so far, those finished
by earlier runs of the folder included. The total is the work the run expected when it started
(telemetry/expected_work.py), marked `~` while a fan-out's width is still a guess; the ETA and the
LLM calls in flight are the run's status (status.py), the same the live view and `status` show.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

from planexe_pipeline.telemetry.event_log import EventFollower
from planexe_pipeline.telemetry.events import TaskEvent
from planexe_pipeline.telemetry.expected_work import ExpectedWork
from planexe_pipeline.telemetry.live_view import duration_text

# An ETA below this is the run's own last steps (milliseconds each): it is not worth a number.
SHOWN_ETA_S = 0.05


@dataclass
class RunProgress:
    run_dir: str
    snapshot: Callable[[], dict]  # the run's status (status.StatusTracker.snapshot)
    expected: Callable[[], ExpectedWork]  # the work the run expects (status.StatusTracker.expected)
    out: TextIO | None = None  # None: whatever sys.stdout is when a line is printed
    interval_s: float = 0.2
    started_at: float = field(default_factory=time.time)
    _done: set[tuple[str, int | None]] = field(default_factory=set)  # (stage, item) of every task done
    _seen_ends: set[tuple[str, float]] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    # Each look reads what the files gained since the last one, not the whole run again.
    _follower: EventFollower | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="plan-progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.poll()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.poll()
            except (OSError, ValueError):
                pass  # telemetry not readable this time: look again next time

    def poll(self) -> None:
        if self._follower is None:
            self._follower = EventFollower(self.run_dir)
        ends = sorted((e for _, e in self._follower.new_events()
                       if isinstance(e, TaskEvent) and e.is_end and e.status in ("ok", "failed")),
                      key=lambda e: (e.end, e.start))
        stages = {stage.family for stage in self.expected().stages}
        new = []
        for end in ends:
            key = (end.task_id, end.start)
            if end.task_family not in stages or key in self._seen_ends:
                continue
            self._seen_ends.add(key)
            if end.start < self.started_at:  # an earlier run's: counted, not shown
                if end.status == "ok":
                    self._done.add((end.task_family, end.item))
                continue
            new.append(end)
        if new:
            status = self.snapshot()  # once for the lines of this look
            for end in new:
                self._print_line(end, status)

    def _print_line(self, end: TaskEvent, status: dict) -> None:
        ok = end.status == "ok"
        if ok:
            self._done.add((end.task_family, end.item))
        done = len(self._done)
        expected = status["tasks"]["expected"]
        # While a fan-out's width is a guess, so is the total: it is marked, and never below the count.
        total = f"{'~' if status.get('widths_estimated') else ''}{max(expected, done)}"
        counter = f"{done:>3}/{total:<4}" if ok else f"{'FAILED':^8}"
        elapsed = time.time() - self.started_at
        name = end.task_family + (f" #{end.item}" if end.item is not None else "")
        eta = status.get("eta_s")
        eta_text = f"  ETA {duration_text(eta)}" if eta is not None and eta >= SHOWN_ETA_S else ""
        print(f"[{counter}] {elapsed:7.1f}s  {'ok' if ok else 'FAILED':<6} {name:<36} {end.seconds:6.2f}s"
              f"  LLM in flight: {status['llm_calls']['in_flight']}{eta_text}", file=self.out or sys.stdout, flush=True)
