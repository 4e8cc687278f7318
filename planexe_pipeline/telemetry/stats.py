"""Where a run's time, calls, tokens and money went, per stage and in total, from its telemetry."""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

from planexe_pipeline.telemetry.critical_path import (executed_chain, final_executions, holds, run_critical_path,
                                                      run_intervals, timestamps, union_length)
from planexe_pipeline.telemetry.event_log import of_kind, read_events
from planexe_pipeline.telemetry.events import (
    Event, LLMCallEvent, ProviderLimitEvent, ProviderWaitEvent, ResourceSampleEvent, RunEvent, TakeoverEvent,
    TaskEvent,
)
from planexe_pipeline.telemetry.expected_work import ExpectedWork, read_expected_work
from planexe_pipeline.telemetry.overhead import overhead_breakdown
from planexe_pipeline.telemetry.stage_order import stage_order

# Two lines of one execution carry the same start; allow float noise from serialisation.
_SAME_START = 1e-3


def load_events(run_dir: str | os.PathLike) -> list[Event]:
    events = read_events(run_dir)
    if not of_kind(events, TaskEvent):
        raise ValueError(f"no telemetry in {Path(run_dir) / 'telemetry'}: run the plan first")
    return events


@dataclass(frozen=True)
class TaskExecution:
    """One run of a task's run(): a task can have several (a yielded aggregator, a retry)."""

    task_id: str
    family: str
    group: str
    item: int | None
    start: float
    end: float  # for an execution without an end line, when it was last known to be alive
    # As written (ok, failed, yielded: a merge that suspended to run its items), or
    # superseded (succeeded, then ran again) or incomplete (no end line: killed).
    status: str
    # The `planexe-pipeline run` (or luigi) process whose worker ran it; older lines only
    # name the forked task process.
    worker: int | None
    pid: int | None = None  # the process that ran it: the worker's own, or one of its task processes
    llm: bool = False  # it held an LLM slot
    # "<pid>@<host>" of the lost worker whose run of this task this one replaced.
    taken_over_from: str | None = None
    cpu_s: float | None = None  # CPU seconds, and the peak memory of its process while it ran
    peak_rss_bytes: int | None = None

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


def task_executions(events: list[Event]) -> list[TaskExecution]:
    tasks = of_kind(events, TaskEvent)
    group_of = {e.task_family: e.group for e in tasks if e.group}
    finals = {id(e) for e in final_executions(tasks).values()}
    executions: list[TaskExecution] = []
    ended_starts: dict[str, list[float]] = {}

    def add(event: TaskEvent, end: float, status: str) -> None:
        executions.append(TaskExecution(
            event.task_id, event.task_family, event.group or group_of.get(event.task_family, ""),
            event.item, event.start, end, status, event.ran_on, pid=event.pid, llm=event.llm, cpu_s=event.cpu_s,
            peak_rss_bytes=event.peak_rss_bytes))

    for event in tasks:
        if event.is_end:
            ended_starts.setdefault(event.task_id, []).append(event.start)
            status = event.status or "ok"
            add(event, event.end, "superseded" if status == "ok" and id(event) not in finals else status)

    # A start with no end line: a killed worker or a run that was interrupted.
    all_starts: dict[str, list[float]] = {}
    for event in tasks:
        all_starts.setdefault(event.task_id, []).append(event.start)
    intervals = run_intervals(events)
    last_stamp = max(timestamps(events), default=0.0)
    for event in tasks:
        if event.event != "start":
            continue
        start = event.start
        ended = ended_starts.get(event.task_id, [])
        if any(abs(start - other) <= _SAME_START for other in ended):
            continue
        later = [t for t in all_starts[event.task_id] if t > start + _SAME_START]
        enclosing = [end for run_start, end in intervals if run_start <= start <= end]
        add(event, min(later + enclosing + [last_stamp]), "incomplete")
    for takeover in of_kind(events, TakeoverEvent):
        executions = [replace(x, taken_over_from=f"{takeover.from_worker}@{takeover.from_host}")
                      if x.task_id == takeover.task_id and x.worker == takeover.worker and x.start >= takeover.start - 1
                      else x for x in executions]
    executions.sort(key=lambda x: (x.start, x.end, x.task_id))
    return executions


def llm_in_flight(events: Iterable[Event]) -> list[tuple[float, int]]:
    """Step points (time, calls in flight from then on) over every LLM attempt."""
    changes: list[tuple[float, int]] = []
    for call in of_kind(events, LLMCallEvent):
        if call.start is not None and call.end is not None:
            changes += [(call.start, 1), (max(call.start, call.end), -1)]
    # Ends sort before starts at the same instant: a slot handed over is not two calls at once.
    changes.sort()
    steps: list[tuple[float, int]] = []
    level = 0
    for time, delta in changes:
        level += delta
        if steps and steps[-1][0] == time:
            steps[-1] = (time, level)
        else:
            steps.append((time, level))
    return steps


# A host's last sample older than this no longer counts: its worker ended (or died) in between.
SAMPLE_STALE_S = 10.0


def memory_over_time(events: Iterable[Event]) -> list[tuple[float, int]]:
    """(time, memory of the run's processes on every host) at each sample: each worker's latest
    sample, added up, as long as it is recent."""
    latest: dict[int | None, tuple[float, int]] = {}
    points: list[tuple[float, int]] = []
    for sample in sorted(of_kind(events, ResourceSampleEvent), key=lambda e: e.start or 0):
        if sample.start is None or sample.memory_bytes is None:
            continue
        latest[sample.worker] = (sample.start, sample.memory_bytes)
        points.append((sample.start, sum(size for at, size in latest.values()
                                         if at >= sample.start - SAMPLE_STALE_S)))
    return points


@dataclass
class StageStats:
    family: str
    group: str
    tasks: int = 0
    executions: int = 0
    failed: int = 0
    calls: int = 0
    attempts: int = 0
    retries: int = 0
    errors: int = 0
    repairs: int = 0  # near misses mended in the answers kept (llm/answer_json.py, soft rules)
    flags: int = 0  # degenerate places of the answers kept, flagged in the plan (llm/degeneracy.py)
    task_seconds: float = 0.0  # summed over executions: the worker time this stage held
    span_seconds: float = 0.0  # first start to last end: how long the stage was "on"
    llm_seconds: float = 0.0
    provider_wait_seconds: float = 0.0  # waiting for a provider's limit before calls went out
    cpu_seconds: float = 0.0  # summed over executions, in the processes that ran them
    peak_rss_bytes: int | None = None  # the largest of its executions' process peaks
    input_tokens: int = 0
    cached_input_tokens: int = 0  # of input_tokens, served from the provider's prompt cache
    output_tokens: int = 0
    tokens_estimated: bool = False
    cost: float | None = None  # of the attempts priced; None when none was
    unpriced: int = 0  # attempts that were answered but have no price (their cost is unknown)
    first_start: float = field(default=math.inf, repr=False)
    merged_into: str | None = None  # a fan-out's items: the stage that merges them

    @property
    def cached_share(self) -> float | None:
        return self.cached_input_tokens / self.input_tokens if self.input_tokens else None


@dataclass
class RunStats:
    run_dir: str
    stages: list[StageStats]
    tasks: int
    executions: int
    tasks_succeeded: int  # whose last execution ended ok
    tasks_failed: int
    llm_calls: int
    attempts: int
    retries: int
    errors: int
    repairs: int
    flags: int
    input_tokens: int
    output_tokens: int
    tokens_estimated: bool
    makespan_seconds: float
    task_seconds: float
    llm_seconds: float
    # The longest chain of dependencies by measured durations: the bound no schedule beats. It
    # knows no resources: a task's wait for a print or LLM slot is not on it.
    critical_path_seconds: float
    critical_path: list[str]
    speedup: float | None  # sum of task time / makespan: what a one-worker run would have taken
    # executed chain / makespan: 1.0 means nothing but the chain's own work mattered, the rest is
    # the hand-offs between its tasks (a resource queue is a holder's work on the chain).
    efficiency: float | None
    max_llm_in_flight: int
    llm_slots: int | None
    workers: int | None
    runs: int
    tasks_per_worker: dict[str, int]  # executions, by the `run` (or luigi) process whose worker ran them
    # Processes that ran tasks, by that `run` process: itself (merges, and every task at --workers 1)
    # and the task processes its worker handed tasks to.
    processes_per_worker: dict[str, int]
    cost: float | None  # USD of the priced attempts (telemetry/stats: their `cost_usd`); None if none was
    start: float | None
    # Tasks a worker was running when it was lost, run again by another: one dict each.
    taken_over: list[TakeoverEvent] = field(default_factory=list)
    # The chain that set the makespan (telemetry/critical_path.py): its tasks, their summed
    # seconds, and its steps that were resource waits: {task_id, family, resource, holder, holder_family}.
    executed_chain: list[str] = field(default_factory=list)
    executed_chain_seconds: float = 0.0
    resource_waits: list[dict[str, Any]] = field(default_factory=list)
    # The gaps between the executed chain's tasks, by part (telemetry/overhead.py).
    overhead: dict[str, Any] | None = None
    print_seconds: float = 0.0  # the tasks that held a print slot, summed
    print_slots: int | None = None  # [resources] print, as the run's start line gives it
    provider_wait_seconds: float = 0.0
    provider_limits: list[int] = field(default_factory=list)  # the shared limit, in the order it changed
    task_cpu_seconds: float = 0.0  # CPU of the tasks, in whichever process ran them
    run_cpu_seconds: float = 0.0  # CPU of the `run` processes themselves: worker, merges, display
    peak_task_rss_bytes: int | None = None  # the largest peak of a process while it ran one task
    # The most memory the run's processes held at once (PSS, summed over each host's processes, the
    # hosts' latest samples added up), from the `resources` samples.
    peak_memory_bytes: int | None = None
    cached_input_tokens: int = 0
    unpriced: int = 0  # answered attempts without a price: the cost leaves them out and says so
    cost_sources: dict[str, int] = field(default_factory=dict)  # attempts by where their cost came from

    @property
    def cached_share(self) -> float | None:
        return self.cached_input_tokens / self.input_tokens if self.input_tokens else None

    @property
    def cpu_seconds(self) -> float:
        return self.task_cpu_seconds + self.run_cpu_seconds

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for stage in data["stages"]:
            stage.pop("first_start", None)
            stage["cached_share"] = (stage["cached_input_tokens"] / stage["input_tokens"]
                                     if stage["input_tokens"] else None)
        data["cpu_seconds"] = self.cpu_seconds
        data["cached_share"] = self.cached_share
        return data


def stats_from_events(events: list[Event], run_dir: str | os.PathLike = "",
                      expected: ExpectedWork | None = None) -> RunStats:
    executions = task_executions(events)
    attempts = of_kind(events, LLMCallEvent)
    stages: dict[str, StageStats] = {}

    def stage(family: str, group: str = "") -> StageStats:
        return stages.setdefault(family, StageStats(family, group))

    task_ids: dict[str, set[str]] = {}
    for run in executions:
        row = stage(run.family, run.group)
        task_ids.setdefault(run.family, set()).add(run.task_id)
        row.executions += 1
        row.failed += run.status == "failed"
        if run.status != "incomplete":
            row.task_seconds += run.seconds
        row.cpu_seconds += run.cpu_s or 0.0
        if run.peak_rss_bytes is not None:
            row.peak_rss_bytes = max(row.peak_rss_bytes or 0, run.peak_rss_bytes)
        row.first_start = min(row.first_start, run.start)
    for family, runs in task_ids.items():
        stages[family].tasks = len(runs)
        spans = [(x.start, x.end) for x in executions if x.family == family]
        stages[family].span_seconds = max(e for _, e in spans) - min(s for s, _ in spans)

    for attempt in attempts:
        row = stage(attempt.task_family)
        row.attempts += 1
        row.calls += attempt.ok
        row.errors += not attempt.ok
        if attempt.ok:
            row.repairs += attempt.repairs or 0
            row.flags += attempt.flags or 0
        row.llm_seconds += attempt.call_seconds
        row.input_tokens += attempt.input_tokens or 0
        row.cached_input_tokens += attempt.cached_input_tokens or 0
        row.output_tokens += attempt.output_tokens or 0
        if attempt.cost_usd is not None:
            row.cost = (row.cost or 0.0) + attempt.cost_usd
        elif attempt.cost_source == "unknown" or (attempt.cost_source is None and (attempt.input_tokens or 0)):
            row.unpriced += 1  # (lines of older runs name no source: tokens without a cost are unpriced)
        row.tokens_estimated |= attempt.tokens_estimated
        if attempt.start is not None:
            row.first_start = min(row.first_start, attempt.start)
    for wait in of_kind(events, ProviderWaitEvent):
        stage(wait.task_family).provider_wait_seconds += max(0.0, wait.duration_s or 0.0)
    for row in stages.values():
        row.retries = row.attempts - row.calls
    order, merged_into = stage_order(of_kind(events, TaskEvent), expected)
    rank = {family: index for index, family in enumerate(order)}
    ordered = sorted(stages.values(), key=lambda row: (rank.get(row.family, len(rank)), row.first_start, row.family))
    for row in ordered:
        row.merged_into = merged_into.get(row.family)

    intervals = run_intervals(events)
    if intervals:
        done = [(x.start, x.end) for x in executions]
        makespan = union_length(intervals + done)
    elif executions:
        makespan = max(x.end for x in executions) - min(x.start for x in executions)
    else:
        makespan = 0.0
    task_seconds = sum(row.task_seconds for row in ordered)
    path = run_critical_path(events)
    chain = executed_chain(events)
    family_of = {step.task_id: step.family for step in chain.steps}
    finals = final_executions(events)
    runs = [e for e in of_kind(events, RunEvent) if e.event == "start"]
    starts = [s for s, _ in intervals] + [x.start for x in executions]
    costs = [row.cost for row in ordered]
    return RunStats(
        run_dir=str(run_dir),
        stages=ordered,
        tasks=len({x.task_id for x in executions}),
        executions=len(executions),
        tasks_succeeded=len(final_executions(events)),
        tasks_failed=len({x.task_id for x in executions if x.status == "failed"}
                         - set(final_executions(events))),
        llm_calls=sum(row.calls for row in ordered),
        attempts=sum(row.attempts for row in ordered),
        retries=sum(row.retries for row in ordered),
        errors=sum(row.errors for row in ordered),
        repairs=sum(row.repairs for row in ordered),
        flags=sum(row.flags for row in ordered),
        input_tokens=sum(row.input_tokens for row in ordered),
        output_tokens=sum(row.output_tokens for row in ordered),
        tokens_estimated=any(row.tokens_estimated for row in ordered),
        makespan_seconds=makespan,
        task_seconds=task_seconds,
        llm_seconds=sum(row.llm_seconds for row in ordered),
        critical_path_seconds=path.seconds,
        critical_path=list(path.task_ids),
        speedup=task_seconds / makespan if makespan > 0 else None,
        efficiency=chain.seconds / makespan if makespan > 0 else None,
        executed_chain=list(chain.task_ids),
        executed_chain_seconds=chain.seconds,
        resource_waits=[{"task_id": step.task_id, "family": step.family, "resource": step.resource,
                         "holder": step.released_by, "holder_family": family_of.get(step.released_by or "", "")}
                        for step in chain.waits()],
        print_seconds=sum(e.seconds for e in finals.values() if holds(e, "print")),
        print_slots=max((e.print_slots for e in runs if e.print_slots is not None), default=None),
        max_llm_in_flight=max((level for _, level in llm_in_flight(events)), default=0),
        llm_slots=max((e.llm_slots for e in runs if e.llm_slots is not None), default=None),
        workers=max((e.workers for e in runs if e.workers is not None), default=None),
        runs=len(runs),
        tasks_per_worker={str(w): n for w, n in sorted(Counter(x.worker for x in executions).items(),
                                                         key=lambda item: (str(type(item[0])), item[0]))},
        processes_per_worker={str(w): n for w, n in sorted(Counter(w for w, _ in {(x.worker, x.pid or x.worker)
                                                                                   for x in executions}).items(),
                                                             key=lambda item: (str(type(item[0])), item[0]))},
        cost=None if all(c is None for c in costs) else sum(c for c in costs if c is not None),
        cached_input_tokens=sum(row.cached_input_tokens for row in ordered),
        unpriced=sum(row.unpriced for row in ordered),
        cost_sources=dict(sorted(Counter(a.cost_source for a in attempts if a.cost_source).items())),
        start=min(starts, default=None),
        taken_over=of_kind(events, TakeoverEvent),
        overhead=overhead_breakdown(events, chain).summary() if chain.steps else None,
        provider_wait_seconds=sum(row.provider_wait_seconds for row in ordered),
        provider_limits=[e.limit for e in of_kind(events, ProviderLimitEvent)],
        task_cpu_seconds=sum(row.cpu_seconds for row in ordered),
        run_cpu_seconds=sum(e.cpu_s or 0.0 for e in of_kind(events, RunEvent) if e.event == "end"),
        peak_task_rss_bytes=max((row.peak_rss_bytes for row in ordered if row.peak_rss_bytes is not None),
                                default=None),
        peak_memory_bytes=max((level for _, level in memory_over_time(events)), default=None),
    )


def compute_stats(run_dir: str | os.PathLike) -> RunStats:
    return stats_from_events(load_events(run_dir), run_dir, read_expected_work(run_dir))
