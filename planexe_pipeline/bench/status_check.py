"""How right `planexe-pipeline status` was about a run, measured by the benchmark (`--status-check`).

While the run goes on, `status --watch --json` looks at it from a process of its own, as a user
would; once it has ended, the look nearest a given share of its makespan is compared with what
really happened: the ETA against the time that was actually left, the progress against the
share of the final plan's tasks and calls done by then.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from planexe_pipeline.telemetry.event_log import of_kind, telemetry_dir
from planexe_pipeline.telemetry.events import Event, LLMCallEvent, RunEvent
from planexe_pipeline.telemetry.critical_path import final_executions


class StatusWatcher:
    def __init__(self, run_dir: str | Path, interval_s: float = 0.25):
        self.run_dir = Path(run_dir)
        self.interval_s = interval_s
        self.looks: list[dict] = []
        self._proc: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.is_set() and not any(telemetry_dir(self.run_dir).glob("events-*.jsonl")):
            time.sleep(0.05)
        if self._stop.is_set():
            return
        self._proc = subprocess.Popen([sys.executable, "-m", "planexe_pipeline", "status", str(self.run_dir),
                                       "--watch", "--json", "--interval", str(self.interval_s)],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in self._proc.stdout:
            try:
                self.looks.append(json.loads(line))
            except ValueError:
                continue

    def stop(self) -> None:
        self._stop.set()
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.terminate()
        self._thread.join(timeout=10)


def accuracy_at(looks: list[dict], events: list[Event], share: float = 0.4) -> dict | None:
    """The look nearest `share` of the run's makespan, against the run as it turned out."""
    runs = [e for e in of_kind(events, RunEvent) if e.event == "end" and e.end is not None]
    running = [look for look in looks if look.get("state") == "running"]
    if not runs or not running:
        return None
    start, end = runs[-1].start, runs[-1].end
    moment = start + share * (end - start)
    look = min(running, key=lambda lk: abs(lk["now"] - moment))
    left = end - look["now"]
    finals = final_executions(events).values()
    calls = [c for c in of_kind(events, LLMCallEvent) if c.ok]
    eta = look.get("eta_s")
    return {
        "share_of_makespan": round((look["now"] - start) / (end - start), 3),
        "eta_s": eta, "actual_left_s": round(left, 3),
        "eta_error": round((eta - left) / left, 3) if eta is not None and left > 0 else None,
        "progress": look["progress"],
        "tasks_done": look["tasks"]["done"], "tasks_done_by_then": sum(1 for e in finals if e.end <= look["now"]),
        "tasks_expected": look["tasks"]["expected"], "tasks_in_plan": len(finals),
        "llm_calls_done": look["llm_calls"]["done"],
        "llm_calls_done_by_then": sum(1 for c in calls if c.end <= look["now"]),
        "llm_calls_expected": look["llm_calls"]["expected"], "llm_calls_in_plan": len(calls),
    }
