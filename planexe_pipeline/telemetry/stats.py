"""Where a run's time, calls, tokens and money went, per stage and in total, from its telemetry."""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from planexe_pipeline.telemetry.critical_path import final_executions, run_critical_path
from planexe_pipeline.telemetry.events import (
    Event, LLMCallEvent, ProviderLimitEvent, ProviderWaitEvent, RunEvent, TakeoverEvent, TaskEvent, of_kind,
    read_events,
)
from planexe_pipeline.telemetry.overhead import format_breakdown, overhead_breakdown

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
    # "<pid>@<host>" of the lost worker whose run of this task this one replaced.
    taken_over_from: str | None = None

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


def _timestamps(events: Iterable[Event]) -> list[float]:
    return sorted(t for e in events for t in (e.start, e.end) if t is not None)


def run_intervals(events: list[Event]) -> list[tuple[float, float]]:
    """(start, end) of each `planexe-pipeline run` invocation; a killed one ends at its last line."""
    runs = of_kind(events, RunEvent)
    starts = sorted({run.start for run in runs if run.start is not None})
    ends = {round(run.start, 3): run.end for run in runs
            if run.event == "end" and run.start is not None and run.end is not None}
    stamps = _timestamps(events)
    intervals = []
    for index, start in enumerate(starts):
        end = ends.get(round(start, 3))
        if end is None:
            following = starts[index + 1] if index + 1 < len(starts) else math.inf
            end = max([t for t in stamps if start <= t < following], default=start)
        intervals.append((start, end))
    return intervals


def task_executions(events: list[Event]) -> list[TaskExecution]:
    tasks = of_kind(events, TaskEvent)
    group_of = {e.task_family: e.group for e in tasks if e.group}
    finals = {id(e) for e in final_executions(tasks).values()}
    executions: list[TaskExecution] = []
    ended_starts: dict[str, list[float]] = {}

    def add(event: TaskEvent, end: float, status: str) -> None:
        executions.append(TaskExecution(
            event.task_id, event.task_family, event.group or group_of.get(event.task_family, ""),
            event.item, event.start, end, status, event.ran_on))

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
    last_stamp = max(_timestamps(events), default=0.0)
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


def _union_length(intervals: Iterable[tuple[float, float]]) -> float:
    total, reach = 0.0, -math.inf
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


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
    input_tokens: int = 0
    output_tokens: int = 0
    tokens_estimated: bool = False
    cost: float | None = None
    first_start: float = field(default=math.inf, repr=False)


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
    critical_path_seconds: float
    critical_path: list[str]
    speedup: float | None  # sum of task time / makespan: what a one-worker run would have taken
    efficiency: float | None  # critical path / makespan: 1.0 means nothing but the chain mattered
    max_llm_in_flight: int
    llm_slots: int | None
    workers: int | None
    runs: int
    tasks_per_worker: dict[str, int]
    cost: float | None
    start: float | None
    # Tasks a worker was running when it was lost, run again by another: one dict each.
    taken_over: list[TakeoverEvent] = field(default_factory=list)
    # The gaps between the critical path's tasks, by part (telemetry/overhead.py).
    overhead: dict[str, Any] | None = None
    provider_wait_seconds: float = 0.0
    provider_limits: list[int] = field(default_factory=list)  # the shared limit, in the order it changed

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for stage in data["stages"]:
            stage.pop("first_start", None)
        return data


def _stage_cost(attempts: list[LLMCallEvent], llm_config: Mapping[str, Any] | None) -> float | None:
    # All or nothing: a total that silently skipped an unpriced model would understate the bill.
    if llm_config is None:
        return None
    cost = 0.0
    for attempt in attempts:
        tokens_in, tokens_out = attempt.input_tokens or 0, attempt.output_tokens or 0
        if not tokens_in and not tokens_out:
            continue
        model = llm_config.get(attempt.model) if attempt.model is not None else None
        pricing = model.get("pricing") if isinstance(model, Mapping) else None
        if not isinstance(pricing, Mapping):
            return None
        try:
            cost += tokens_in / 1e6 * float(pricing["input_per_million"])
            cost += tokens_out / 1e6 * float(pricing["output_per_million"])
        except (KeyError, TypeError, ValueError):
            return None
    return cost


def stats_from_events(events: list[Event], run_dir: str | os.PathLike = "",
                      llm_config: Mapping[str, Any] | None = None) -> RunStats:
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
        row.first_start = min(row.first_start, run.start)
    for family, runs in task_ids.items():
        stages[family].tasks = len(runs)
        spans = [(x.start, x.end) for x in executions if x.family == family]
        stages[family].span_seconds = max(e for _, e in spans) - min(s for s, _ in spans)

    attempts_of: dict[str, list[LLMCallEvent]] = {}
    for attempt in attempts:
        row = stage(attempt.task_family)
        attempts_of.setdefault(row.family, []).append(attempt)
        row.attempts += 1
        row.calls += attempt.ok
        row.errors += not attempt.ok
        if attempt.ok:
            row.repairs += attempt.repairs or 0
            row.flags += attempt.flags or 0
        row.llm_seconds += attempt.call_seconds
        row.input_tokens += attempt.input_tokens or 0
        row.output_tokens += attempt.output_tokens or 0
        row.tokens_estimated |= attempt.tokens_estimated
        if attempt.start is not None:
            row.first_start = min(row.first_start, attempt.start)
    for wait in of_kind(events, ProviderWaitEvent):
        stage(wait.task_family).provider_wait_seconds += max(0.0, wait.duration_s or 0.0)
    for row in stages.values():
        row.retries = row.attempts - row.calls
        row.cost = _stage_cost(attempts_of.get(row.family, []), llm_config)
    ordered = sorted(stages.values(), key=lambda row: (row.first_start, row.family))

    intervals = run_intervals(events)
    if intervals:
        done = [(x.start, x.end) for x in executions]
        makespan = _union_length(intervals + done)
    elif executions:
        makespan = max(x.end for x in executions) - min(x.start for x in executions)
    else:
        makespan = 0.0
    task_seconds = sum(row.task_seconds for row in ordered)
    path = run_critical_path(events)
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
        efficiency=path.seconds / makespan if makespan > 0 else None,
        max_llm_in_flight=max((level for _, level in llm_in_flight(events)), default=0),
        llm_slots=max((e.llm_slots for e in runs if e.llm_slots is not None), default=None),
        workers=max((e.workers for e in runs if e.workers is not None), default=None),
        runs=len(runs),
        tasks_per_worker={str(w): n for w, n in sorted(Counter(x.worker for x in executions).items(),
                                                         key=lambda item: (str(type(item[0])), item[0]))},
        cost=None if not costs or None in costs else sum(costs),
        start=min(starts, default=None),
        taken_over=of_kind(events, TakeoverEvent),
        overhead=overhead_breakdown(events, path.task_ids).summary() if path.task_ids else None,
        provider_wait_seconds=sum(row.provider_wait_seconds for row in ordered),
        provider_limits=[e.limit for e in of_kind(events, ProviderLimitEvent)],
    )


def compute_stats(run_dir: str | os.PathLike, llm_config: Mapping[str, Any] | None = None) -> RunStats:
    return stats_from_events(load_events(run_dir), run_dir, llm_config)


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def ratio_text(value: float | None, suffix: str, missing: str = "-") -> str:
    return missing if value is None else f"{value:.2f}{suffix}"


def format_stats(stats: RunStats) -> str:
    """A fixed-width table per stage, then the run's totals, for a terminal or a log."""
    header = ["stage", "group", "tasks", "calls", "attempts", "retries", "errors", "repairs", "flags",
              "task s", "span s", "LLM s", "wait s", "tokens in", "tokens out", "cost"]
    rows = [header]
    for row in stats.stages:
        mark = "~" if row.tokens_estimated else ""
        rows.append([row.family, row.group, str(row.tasks), str(row.calls), str(row.attempts),
                     str(row.retries), str(row.errors), str(row.repairs), str(row.flags), f"{row.task_seconds:.1f}",
                     f"{row.span_seconds:.1f}", f"{row.llm_seconds:.1f}", f"{row.provider_wait_seconds:.1f}",
                     f"{mark}{row.input_tokens}", f"{mark}{row.output_tokens}", _money(row.cost)])
    mark = "~" if stats.tokens_estimated else ""
    rows.append(["total", "", str(stats.tasks), str(stats.llm_calls), str(stats.attempts),
                 str(stats.retries), str(stats.errors), str(stats.repairs), str(stats.flags), f"{stats.task_seconds:.1f}",
                 f"{stats.makespan_seconds:.1f}", f"{stats.llm_seconds:.1f}", f"{stats.provider_wait_seconds:.1f}",
                 f"{mark}{stats.input_tokens}", f"{mark}{stats.output_tokens}", _money(stats.cost)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        # Names left, numbers right, so digits of the same magnitude line up.
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "-" * len(line(header))
    table = [line(rows[0]), rule, *map(line, rows[1:-1]), rule, line(rows[-1])]
    workers = ", ".join(f"{worker}: {n}" for worker, n in stats.tasks_per_worker.items())
    summary = [
        ("makespan", f"{stats.makespan_seconds:.1f} s over {stats.runs} run(s)"),
        ("critical path", f"{stats.critical_path_seconds:.1f} s ({len(stats.critical_path)} tasks)"),
        ("efficiency", ratio_text(stats.efficiency, " (critical path / makespan)")),
        ("speedup", ratio_text(stats.speedup, "x over one worker")),
        ("sum of LLM time", f"{stats.llm_seconds:.1f} s"),
        ("LLM calls in flight", f"max {stats.max_llm_in_flight}"
         + (f" of {stats.llm_slots} slots" if stats.llm_slots else "")),
        ("tasks", f"{stats.tasks} ({stats.executions} executions, {stats.tasks_failed} failed)"),
        ("tasks per worker", workers or "-"),
    ]
    for takeover in stats.taken_over:
        name = takeover.task_family + ("" if takeover.item is None else f" [{takeover.item}]")
        summary.append(("taken over", f"{name} from worker {takeover.from_worker}@{takeover.from_host} by "
                        f"{takeover.worker}@{takeover.host}, {ratio_text(takeover.lost_for_s, ' s')} after it began there"))
    if stats.provider_limits:
        limits = stats.provider_limits
        summary.append(("provider limit", f"{limits[-1]} at the end (from {limits[0]}, lowest {min(limits)}, "
                                          f"{len(limits) - 1} changes); wait s: time calls waited for it"))
    if stats.repairs or stats.flags:
        summary.append(("answers", f"{stats.repairs} near misses mended, {stats.flags} degenerate places flagged "
                                   "(each named in llm_repairs/)"))
    if stats.tokens_estimated:
        summary.append(("tokens", "~ marks counts estimated from text length"))
    label_width = max(len(label) for label, _ in summary)
    lines = table + [""] + [f"{label.ljust(label_width)}  {value}" for label, value in summary]
    if stats.overhead:
        lines += ["", format_breakdown(stats.overhead)]
    return "\n".join(lines)
