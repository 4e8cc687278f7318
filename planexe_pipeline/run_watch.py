"""What watches a run from its `run` process: the display, memory samples, traces and alerts.

Each of them reads the run's telemetry or samples processes from a thread of its own; none of
them can fail or hold up the run. The display is one redrawn block in a terminal (the status of
status.py) and one line per finished task anywhere else (CI, pipes, files).
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from planexe_pipeline.run_request import RunRequest
from planexe_pipeline.settings import observability
from planexe_pipeline.status import StatusTracker
from planexe_pipeline.telemetry.alerts import AlertTargets, alert_targets, claim_alert, notify, send_alert
from planexe_pipeline.telemetry.correlation import RunIdentity
from planexe_pipeline.telemetry.live_view import LiveView, is_terminal
from planexe_pipeline.telemetry.otel_export import TraceExporter, otlp_exporter, tracing_asked, tracing_available
from planexe_pipeline.telemetry.progress import RunProgress
from planexe_pipeline.telemetry.resources import MemorySampler


def alert_payload(snapshot: dict, *, summary: dict | None = None) -> dict:
    """What an alert says: the run, its state and progress, why it failed, and its totals."""
    failure = snapshot.get("failure") or {}
    return {
        "event": "planexe-pipeline.run", "state": snapshot["state"], "run_dir": str(Path(snapshot["run_dir"]).resolve()),
        "run_id": snapshot.get("run_id"), "host": socket.gethostname(), "progress": snapshot["progress"],
        "tasks": snapshot["tasks"], "llm_calls": snapshot["llm_calls"], "eta_s": snapshot.get("eta_s"),
        "last_progress_at": snapshot.get("last_progress_at"),
        "failed_step": failure.get("step"), "reason": failure.get("reason"),
        "recoverable": failure.get("recoverable"), "resume": failure.get("resume"),
        "cost_usd": snapshot.get("cost_usd"), "cost_projected_usd": snapshot.get("cost_projected_usd"),
        "cached_share": snapshot.get("cached_share"),
        "stats": summary or {}, "at": time.time(),
    }


class StallAlarm:
    """Alerts once when the run makes no progress for stall_after_s, and again after each recovery."""

    def __init__(self, run_dir: Path, tracker: StatusTracker, targets: AlertTargets, stall_after_s: float):
        self.run_dir, self.tracker, self.targets = run_dir, tracker, targets
        self.stall_after_s = stall_after_s
        self.check_s = max(0.2, min(30.0, stall_after_s / 4))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="plan-stall-alarm", daemon=True)
        self._told_for: float | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.check_s):
            try:
                self.check()
            except (OSError, ValueError):
                pass  # telemetry not readable this time: look again next time

    def check(self) -> None:
        snapshot = self.tracker.snapshot()
        last = snapshot.get("last_progress_at")
        if snapshot["state"] != "stalled" or last is None or self._told_for == last:
            return
        self._told_for = last
        if claim_alert(self.run_dir, f"{snapshot.get('run_id')}-stalled-{int(last)}"):
            send_alert(self.run_dir, alert_payload(snapshot), self.targets)


class RunWatch:
    def __init__(self, request: RunRequest, identity: RunIdentity, out: TextIO | None = None):
        self.run_dir = request.run_dir
        self.identity = identity
        self.targets = alert_targets(request.notify_url, request.notify_command)
        stall_after_s = notify().stall_after_s
        self.tracker = StatusTracker(self.run_dir, stall_after_s=stall_after_s)
        self.memory = MemorySampler(self.run_dir, observability().memory_sample_s)
        self.display = None
        if request.progress:
            self.display = (LiveView(self.tracker.snapshot, out=out) if is_terminal(out)
                            else RunProgress(str(self.run_dir), self.tracker.snapshot, self.tracker.expected, out=out))
        self.traces = None
        if tracing_asked():
            if tracing_available():
                self.traces = TraceExporter(self.run_dir, identity, otlp_exporter(), opened_run=identity.opened_here)
            else:
                print("planexe-pipeline: OTEL_EXPORTER_OTLP_ENDPOINT is set but the otel extra is not installed: "
                      "pip install 'planexe-pipeline[otel]' to send traces", file=sys.stderr, flush=True)
        self.stall = (StallAlarm(self.run_dir, StatusTracker(self.run_dir, stall_after_s), self.targets, stall_after_s)
                      if self.targets.any else None)

    def start(self) -> None:
        for part in (self.memory, self.display, self.traces, self.stall):
            if part is not None:
                part.start()

    def stop(self) -> None:
        """Before the run's end line: the display's last lines, the last memory sample."""
        for part in (self.stall, self.display, self.memory):
            if part is not None:
                part.stop()

    @property
    def peak_memory_bytes(self) -> int:
        return self.memory.peak_bytes

    def finish(self, ok: bool, summary: dict) -> None:
        """After the run's end line: the last spans, and the alert of how it ended."""
        if self.traces is not None:
            self.traces.stop(ok=ok, attributes={"planexe.run_dir": str(self.run_dir), "planexe.ok": ok,
                                                **{f"planexe.{k}": v for k, v in summary.items() if v is not None}})
        if not self.targets.any:
            return
        try:
            snapshot = self.tracker.snapshot()
        except ValueError:
            return
        if snapshot["state"] not in ("done", "failed", "stopped"):
            snapshot["state"] = "done" if ok else "failed"
        if claim_alert(self.run_dir, f"{self.identity.run_id}-{snapshot['state']}"):
            send_alert(self.run_dir, alert_payload(snapshot, summary=summary), self.targets)

