"""Two chains through an executed run: its critical path, and the chain that set its makespan.

The critical path is the longest chain of dependencies, weighted by the tasks' measured
durations: no number of workers can finish the run faster, so it is the bound (the ceiling).
It knows nothing of Luigi resources: a task that waited for a print slot or an LLM slot after
its inputs were in is not on it for that wait.

The executed chain is what did bound the run: from the last task to end, each step goes back to
what released the task, its latest-ending input or, when it started clearly after its inputs
and just after a task holding the same resource ended, that task (a resource wait). Its tasks
cover the makespan but for the gaps between them, so those gaps are the hand-off overhead,
without the resource queues.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable

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


def holds(event: TaskEvent, resource: str) -> bool:
    """Whether the task held the Luigi resource (lines older than their `resources` say llm only)."""
    return resource in event.resources or (resource == "llm" and event.llm)


def slot_lower_bound(events: Iterable[Event], slots: int, resource: str = "llm") -> float:
    """A lower bound on the makespan of the executed graph with `slots` of `resource` (LLM calls,
    printed sections) at a time.

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
    held_work = sorted((earliest[t], durations[t]) for t in durations if holds(finals[t], resource))
    bound, later_work = critical, sum(d for _, d in held_work)
    for tau, duration in held_work:  # ascending tau: the work from here on is what remains
        bound = max(bound, tau + later_work / slots)
        later_work -= duration
    return bound


# A task that started this long after its inputs ended may have waited for a resource: more than a
# hand-off between two tasks takes (tens of ms, docs/benchmarks.md).
RESOURCE_WAIT_S = 0.05


@dataclass(frozen=True)
class ChainStep:
    task_id: str
    family: str
    # The task that released this one (its latest-ending input, or the holder of the resource it
    # waited for); None for the chain's first task.
    released_by: str | None = None
    resource: str | None = None  # the Luigi resource it waited for, held by released_by


@dataclass(frozen=True)
class ExecutedChain:
    steps: tuple[ChainStep, ...]
    seconds: float  # the durations of its tasks, summed

    @property
    def task_ids(self) -> tuple[str, ...]:
        return tuple(step.task_id for step in self.steps)

    def waits(self) -> list[ChainStep]:
        return [step for step in self.steps if step.resource]


def executed_chain(events: Iterable[Event]) -> ExecutedChain:
    """The chain that set the makespan, walked back from the last task to end (see the module)."""
    events = list(events)
    finals = final_executions(events)
    durations, edges = executed_task_graph(events)
    inputs: dict[str, list[str]] = {}
    for upstream, downstream in edges:
        if upstream in finals:
            inputs.setdefault(downstream, []).append(upstream)
    holders: dict[str, list[TaskEvent]] = {}
    for final in finals.values():
        for resource in final.resources:
            holders.setdefault(resource, []).append(final)
    runs = of_kind(events, RunEvent)
    # A slot count the run names: a holder ending while fewer were held freed no slot anyone waited for.
    limits = {"llm": max((r.llm_slots for r in runs if r.llm_slots), default=None),
              "print": max((r.print_slots for r in runs if r.print_slots), default=None)}

    def freed_a_full_resource(holder: TaskEvent, resource: str) -> bool:
        limit, moment = limits.get(resource), holder.end - 1e-6
        return limit is None or sum(h.start <= moment < h.end for h in holders[resource]) >= limit

    steps: list[ChainStep] = []
    current = max(finals.values(), key=lambda e: (e.end, e.task_id), default=None)
    seen: set[str] = set()
    while current is not None and current.task_id not in seen:
        seen.add(current.task_id)
        step, current = _released_by(current, [finals[d] for d in inputs.get(current.task_id, ())], holders,
                                     freed_a_full_resource)
        steps.append(step)
    steps.reverse()
    return ExecutedChain(tuple(steps), sum(durations[step.task_id] for step in steps))


def _released_by(task: TaskEvent, inputs: list[TaskEvent], holders: dict[str, list[TaskEvent]],
                 freed_a_full_resource: Callable[[TaskEvent, str], bool]) -> tuple[ChainStep, TaskEvent | None]:
    last = max(inputs, key=lambda e: (e.end, e.task_id), default=None)
    ready = last.end if last is not None else -math.inf
    if task.start - ready > RESOURCE_WAIT_S:
        # The holder that ended last before it started, in the second half of its wait, every slot
        # held: its slot was the one this task took (an earlier one went to another in the queue).
        waited = [(holder, resource) for resource in task.resources for holder in holders.get(resource, ())
                  if holder.task_id != task.task_id and holder.end <= task.start + 1e-3
                  and holder.end - ready > (task.start - ready) / 2 and freed_a_full_resource(holder, resource)]
        if waited:
            holder, resource = max(waited, key=lambda pair: (pair[0].end, pair[0].task_id))
            return ChainStep(task.task_id, task.task_family, holder.task_id, resource), holder
    return ChainStep(task.task_id, task.task_family, last.task_id if last else None), last


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
