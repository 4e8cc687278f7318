"""Where the time between tasks goes, on the chain that set a run's makespan.

For each task on the executed chain (telemetry/critical_path.py), the gap from the end of what
released it (its last input, or the task whose resource slot it took) to its own start is split
by the stamps the worker (planexe_pipeline.worker) and the task processes leave:

  telemetry    the input's end line: computing its edges and writing it
  hand-off     the input's process exiting and the worker taking its result off the queue
  fan-out      (an item only) the merge's first run up to its yield, and the worker adding the items
  busy         every task process busy with another task: waiting for one to come free (capacity,
               not cost: with one worker, the tasks that ran first)
  scheduler    telling the scheduler, asking it for work, other tasks dispatched first
  fork         starting the task's process (with one worker: none, it runs in the worker)
  checks       Luigi's complete() checks of the task's inputs, in its process
  unsplit      what the stamps do not split (a stamp missing: an older run, a killed worker)

The lead-in (run start to the first task) and the tail (last task to run end) complete the
makespan. A merge's final run is the second dispatch of a fan-out merge: its gaps are also
summed apart. A folder resumed by a later run holds the pause between the runs: every span is
measured in the runs' own time, so a pause is no part's, as it is no part of the makespan.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from planexe_pipeline.telemetry.critical_path import (ExecutedChain, executed_chain, final_executions, merged,
                                                      run_intervals, time_in_runs)
from planexe_pipeline.telemetry.event_log import of_kind
from planexe_pipeline.telemetry.events import DispatchEvent, Event, RunEvent, TaskEvent

PARTS = ("telemetry", "hand-off", "fan-out", "busy", "scheduler", "fork", "checks", "unsplit")


@dataclass
class TaskGap:
    task_id: str
    family: str
    input_id: str | None
    gap_ms: float
    parts_ms: dict[str, float]
    merge: bool


@dataclass
class OverheadBreakdown:
    path_tasks: int
    lead_in_ms: float
    tail_ms: float
    gaps: list[TaskGap] = field(default_factory=list)

    def total_ms(self, part: str) -> float:
        return sum(g.parts_ms.get(part, 0.0) for g in self.gaps)

    def median_ms(self, part: str) -> float:
        return statistics.median([g.parts_ms.get(part, 0.0) for g in self.gaps]) if self.gaps else 0.0

    @property
    def gap_total_ms(self) -> float:
        return sum(g.gap_ms for g in self.gaps)

    @property
    def merge_redispatch_ms(self) -> float:
        return sum(g.gap_ms for g in self.gaps if g.merge)

    def per_task_ms(self) -> float:
        """Gaps, lead-in and tail over the path's length: what the bench calls overhead per task."""
        return (self.gap_total_ms + self.lead_in_ms + self.tail_ms) / max(self.path_tasks, 1)

    def summary(self) -> dict[str, Any]:
        return {"path_tasks": self.path_tasks, "lead_in_ms": round(self.lead_in_ms, 1),
                "tail_ms": round(self.tail_ms, 1), "gaps_ms": round(self.gap_total_ms, 1),
                "merge_redispatch_ms": round(self.merge_redispatch_ms, 1),
                "per_task_ms": round(self.per_task_ms(), 1),
                "parts_total_ms": {p: round(self.total_ms(p), 1) for p in PARTS},
                "parts_median_ms": {p: round(self.median_ms(p), 2) for p in PARTS}}


def overhead_breakdown(events: Iterable[Event], chain: ExecutedChain | None = None) -> OverheadBreakdown:
    """The gaps along `chain` (default: the run's executed chain), each from what released its task.

    A task that waited for a resource is released by the holder it took the slot from, so the
    queue for the slot is the holder's running time on the chain, not a gap: no part of overhead."""
    events = list(events)
    finals = final_executions(events)
    tasks = of_kind(events, TaskEvent)
    starts = {(e.task_id, round(e.start, 6)): e for e in tasks if e.event == "start" and e.start is not None}
    dispatches = {(e.task_id, round(e.dispatched, 6)): e for e in of_kind(events, DispatchEvent)}
    merges = {e.task_id for e in tasks if e.status == "yielded"}

    def stamps(task_id: str) -> tuple[TaskEvent | None, DispatchEvent | None]:
        start = starts.get((task_id, round(finals[task_id].start, 6)))
        dispatched = start.dispatched_at if start is not None else None
        return start, dispatches.get((task_id, round(dispatched, 6))) if dispatched is not None else None

    chain = executed_chain(events) if chain is None else chain
    path = chain.task_ids
    runs = of_kind(events, RunEvent)
    run_start = min((e.start for e in runs if e.start is not None), default=None)
    run_end = max((e.end for e in runs if e.end is not None), default=None)
    spans = merged(run_intervals(events)) or None
    breakdown = OverheadBreakdown(
        path_tasks=len(path),
        lead_in_ms=time_in_runs(spans, run_start, finals[path[0]].start) * 1000
        if path and run_start is not None else 0.0,
        tail_ms=time_in_runs(spans, finals[path[-1]].end, run_end) * 1000 if path and run_end is not None else 0.0)
    for step in chain.steps[1:]:
        if step.released_by is None:
            continue
        breakdown.gaps.append(_split(finals[step.task_id], finals[step.released_by], stamps(step.task_id),
                                     stamps(step.released_by)[1], merge=step.task_id in merges, spans=spans))
    return breakdown


def _split(own: TaskEvent, last: TaskEvent, own_stamps: tuple[TaskEvent | None, DispatchEvent | None],
           last_dispatch: DispatchEvent | None, merge: bool, spans: list[tuple[float, float]] | None) -> TaskGap:
    start_line, dispatch = own_stamps
    # Each stamp is a point on the way from the input's end to this start, taken in order (so no
    # part is negative); the time up to a point that follows a missing stamp is "unsplit".
    received = last_dispatch.received if last_dispatch else None
    added = dispatch.added if dispatch else None
    points = [("telemetry", last.end + last.handler_s if last.handler_s is not None else None), ("hand-off", received)]
    if added is not None and received is not None and added > received:
        points.append(("fan-out", added))
    if dispatch is not None and dispatch.slot_freed is not None:
        points.append(("busy", dispatch.slot_freed))
    points += [("scheduler", start_line.dispatched_at if start_line else None),
               ("fork", start_line.process_started if start_line else None), ("checks", own.start)]
    parts = {part: 0.0 for part in PARTS}
    cursor, missing = last.end, False
    for part, point in points:
        if point is None:
            missing = True
            continue
        point = min(max(point, cursor), own.start)
        parts["unsplit" if missing else part] += time_in_runs(spans, cursor, point) * 1000
        cursor, missing = point, False
    return TaskGap(own.task_id, own.task_family, last.task_id, time_in_runs(spans, last.end, own.start) * 1000,
                   parts, merge)


def format_breakdown(summary: Mapping[str, Any]) -> str:
    """An OverheadBreakdown.summary() as a small table: median per task and total, per part."""
    lines = [f"overhead on the executed chain ({summary['path_tasks']} tasks): {summary['per_task_ms']:.1f} ms per task",
             f"  {'part':<10} {'median ms':>9} {'total ms':>9}"]
    for part in PARTS:
        lines.append(f"  {part:<10} {summary['parts_median_ms'][part]:>9.2f} {summary['parts_total_ms'][part]:>9.1f}")
    lines.append(f"  {'lead-in':<10} {'':>9} {summary['lead_in_ms']:>9.1f}")
    lines.append(f"  {'tail':<10} {'':>9} {summary['tail_ms']:>9.1f}")
    lines.append(f"  of the gaps, second dispatches of fan-out merges: {summary['merge_redispatch_ms']:.1f} ms")
    return "\n".join(lines)
