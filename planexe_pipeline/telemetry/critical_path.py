"""The critical path of an executed run: the chain of tasks that bounded its makespan.

No number of workers or LLM slots can finish a run faster than this chain, so comparing it
with the makespan tells how much of the run went into unavoidable sequential LLM work and how
much into waiting (for a slot, a worker, the scheduler, a retry back-off).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from planexe_pipeline.dag import longest_path
from planexe_pipeline.telemetry.event_log import of_kind
from planexe_pipeline.telemetry.events import Event, RunEvent, TaskEvent


@dataclass(frozen=True)
class CriticalPath:
    seconds: float
    task_ids: tuple[str, ...]
    # Parallel to task_ids, so a report can name stages without the events at hand.
    families: tuple[str, ...]


def final_executions(events: Iterable[Event]) -> dict[str, TaskEvent]:
    """The end line of each task's last successful execution, by task id.

    An aggregator that yields its fan-out items runs once, is suspended, and runs again once
    the items are done; only that last run is work on the path, the first one is bookkeeping.
    """
    finals: dict[str, TaskEvent] = {}
    for event in of_kind(events, TaskEvent):
        if not event.is_end or event.status != "ok":
            continue
        current = finals.get(event.task_id)
        if current is None or (event.end, event.start) > (current.end, current.start):
            finals[event.task_id] = event
    return finals


def executed_task_graph(events: Iterable[Event]) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """Durations of the tasks that succeeded and the (dependency, task) edges between them."""
    events = list(events)
    finals = final_executions(events)
    # Clock steps between hosts can make end < start; a negative weight would break the path.
    durations = {task_id: e.seconds for task_id, e in finals.items()}
    edges: set[tuple[str, str]] = set()
    for event in of_kind(events, TaskEvent):
        if event.is_end and event.task_id in durations:
            # Union over executions: a suspended run names the dynamic items it yielded.
            edges.update((dep, event.task_id) for dep in event.deps)
    return durations, sorted(edges)


def run_critical_path(events: Iterable[Event]) -> CriticalPath:
    events = list(events)
    durations, edges = executed_task_graph(events)
    # An edge from a task that was complete before the recorded run (no duration) is ignored by
    # the path: it cannot lengthen it.
    seconds, task_ids = longest_path(durations, edges)
    family_of = {e.task_id: e.task_family for e in of_kind(events, TaskEvent)}
    return CriticalPath(seconds, tuple(task_ids), tuple(family_of.get(t, "") for t in task_ids))


def slot_lower_bound(events: Iterable[Event], slots: int) -> float:
    """A lower bound on the makespan of the executed graph with `slots` LLM calls at a time.

    max(critical path, LLM time / slots) ignores that LLM work cannot run before its inputs
    exist: for this plan most of it waits behind the opening chain. For every moment tau, the
    LLM work whose earliest possible start is tau or later still needs (its sum / slots) after
    tau, so tau + that is a bound too; the largest over all tau, and the critical path, is ours.
    """
    events = list(events)
    durations, edges = executed_task_graph(events)
    finals = final_executions(events)
    predecessors: dict[str, set[str]] = {}
    for upstream, downstream in edges:
        if upstream in durations and downstream in durations:
            predecessors.setdefault(downstream, set()).add(upstream)
    earliest: dict[str, float] = {}

    def earliest_start(task_id: str) -> float:
        if task_id not in earliest:
            earliest[task_id] = max((earliest_start(p) + durations[p] for p in predecessors.get(task_id, ())),
                                    default=0.0)
        return earliest[task_id]

    for task_id in sorted(durations):
        earliest_start(task_id)
    critical = max((earliest[t] + durations[t] for t in durations), default=0.0)
    llm_work = sorted((earliest[t], durations[t]) for t in durations if finals[t].llm)
    bound, later_work = critical, sum(d for _, d in llm_work)
    for tau, duration in llm_work:  # ascending tau: the work from here on is what remains
        bound = max(bound, tau + later_work / slots)
        later_work -= duration
    return bound


# -- the runs' own time ------------------------------------------------------------------------
def timestamps(events: Iterable[Event]) -> list[float]:
    return sorted(t for e in events for t in (e.start, e.end) if t is not None)


def run_intervals(events: list[Event]) -> list[tuple[float, float]]:
    """(start, end) of each `planexe-pipeline run` invocation; a killed one ends at its last line."""
    runs = of_kind(events, RunEvent)
    starts = sorted({run.start for run in runs if run.start is not None})
    ends = {round(run.start, 3): run.end for run in runs
            if run.event == "end" and run.start is not None and run.end is not None}
    stamps = timestamps(events)
    intervals = []
    for index, start in enumerate(starts):
        end = ends.get(round(start, 3))
        if end is None:
            following = starts[index + 1] if index + 1 < len(starts) else math.inf
            end = max([t for t in stamps if start <= t < following], default=start)
        intervals.append((start, end))
    return intervals


def merged(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of the intervals, as disjoint intervals in order."""
    spans: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def union_length(intervals: Iterable[tuple[float, float]]) -> float:
    return sum(end - start for start, end in merged(intervals))


def time_in_runs(spans: list[tuple[float, float]] | None, start: float, end: float) -> float:
    """Seconds from start to end that some run was running (`spans`: merged run intervals). A
    resumed run's folder holds the pauses between its runs: they are no run's time, neither
    work nor overhead. None: the telemetry names no run, all of it counts."""
    if spans is None:
        return max(0.0, end - start)
    return sum(max(0.0, min(e, end) - max(s, start)) for s, e in spans)
