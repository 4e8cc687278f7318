"""What a run writes about itself, the same whichever command started it: its correlation id, the
work it expects (telemetry/expected_work.py), its start and end lines, and, once the plan is
complete, the timeline and the lines that say where the report is.

`planexe-pipeline run` (runner.py) and Luigi's own command line (command_line.py) both go through
here, so `status`, `stats`, the timeline and the MCP server read either run alike.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import luigi

from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.expected_work import expected_work
from planexe_pipeline.tasks.report import Report
from planexe_pipeline.telemetry.correlation import RunIdentity, claim_run_id, close_run_id
from planexe_pipeline.telemetry.event_log import append_event, path_in_run_folder
from planexe_pipeline.telemetry.events import RunEvent
from planexe_pipeline.telemetry.expected_work import write_expected_work
from planexe_pipeline.telemetry.resources import cpu_seconds, peak_memory_bytes
from planexe_pipeline.telemetry.timeline import write_timeline

REPORT_FILE = Report.files["html"]
PLAN_MARKDOWN = Report.files["md"]


@dataclass
class RunRecord:
    root: PlanTask
    workers: int
    llm_slots: int | None
    models: tuple[str, ...]
    llm_config: str | None = None
    scaled_out: bool = False
    started: float = field(default_factory=time.time)
    identity: RunIdentity | None = None

    @property
    def run_dir(self) -> Path:
        return Path(self.root.run_dir)

    def _line(self) -> dict:
        return {"workers": self.workers, "llm_slots": self.llm_slots, "pid": os.getpid(),
                "print_slots": luigi.configuration.get_config().getint("resources", "print", None),
                "run_id": self.identity.run_id if self.identity else None, "scaled_out": self.scaled_out,
                "speed": self.root.settings.speed}

    def open(self) -> RunIdentity:
        """The run's id, its expected work and its start line, before its first task."""
        self.identity = claim_run_id(self.run_dir, scaled_out=self.scaled_out)
        write_expected_work(self.run_dir, expected_work(self.root))
        # The models (and their config) a resume without --llm goes on with.
        append_event(self.run_dir, RunEvent(
            event="start", start=self.started, status="running", models=self.models,
            llm_config=path_in_run_folder(self.run_dir, self.llm_config) if self.llm_config else None, **self._line()))
        return self.identity

    def close(self, ok: bool) -> float:
        """The run's end line; its id is closed. Returns when it ended."""
        ended = time.time()
        append_event(self.run_dir, RunEvent(event="end", start=self.started, end=ended, status="ok" if ok else "failed",
                                            cpu_s=round(cpu_seconds(), 3), peak_rss_bytes=peak_memory_bytes(),
                                            **self._line()))
        if self.identity is not None:
            close_run_id(self.run_dir, self.identity)
        return ended


def where_the_plan_is(run_dir: str | os.PathLike) -> list[str]:
    """The timeline, written now (the report links to it), and where report, plan and timeline are."""
    run_dir = Path(run_dir)
    timeline = write_timeline(run_dir)
    return [f"Report:   {run_dir / REPORT_FILE}", f"Plan:     {run_dir / PLAN_MARKDOWN}", f"Timeline: {timeline}"]
