"""Where a run stands, from its telemetry alone: from any process or host that sees the folder.

running, done, failed, stopped (the `run` process ended without finishing: killed, interrupted,
its machine lost) or stalled (running, but nothing finished for `stall_after_s`); what is done,
what is in flight and since when, and why it failed. What is still to come needs the task graph:
planexe_pipeline/status.py adds it. This part imports no graph, so a finished plan's status is
read in a fraction of a second.

Whether a `run` process is alive is checked on this host (its pid); a run on another host of a
scaled-out plan is taken as alive until it writes its end line, or until it is stalled.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import Iterable

from planexe_pipeline.errors import failure_kind
from planexe_pipeline.telemetry.critical_path import final_executions
from planexe_pipeline.telemetry.event_log import EventFollower, host_label
from planexe_pipeline.telemetry.events import (
    Event, LLMCallEvent, NoWorkEvent, ProviderLimitEvent, ProviderWaitEvent, RunEvent, TaskEvent,
)

STATES = ("running", "done", "failed", "stopped", "stalled")

@dataclass(frozen=True)
class InFlight:
    stage: str
    item: int | None
    since: float
    llm: bool
    host: str


@dataclass
class Money:
    """What a plan's LLM calls cost so far, over every run of its folder (their telemetry lines)."""

    cost_usd: float | None = None  # of the priced attempts; None while none was priced
    unpriced: int = 0  # answered attempts of models without a price
    input_tokens: int = 0
    cached_input_tokens: int = 0
    # stage -> (USD of its priced attempts, its answered calls): what one more call of it costs
    by_stage: dict[str, tuple[float, int]] = field(default_factory=dict)

    def add(self, call: LLMCallEvent) -> None:
        self.input_tokens += call.input_tokens or 0
        self.cached_input_tokens += call.cached_input_tokens or 0
        cost, calls = self.by_stage.get(call.task_family, (0.0, 0))
        if call.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + call.cost_usd
            cost += call.cost_usd
        elif call.cost_source == "unknown":
            self.unpriced += 1
        self.by_stage[call.task_family] = (cost, calls + call.ok)

    @property
    def cached_share(self) -> float | None:
        return round(self.cached_input_tokens / self.input_tokens, 4) if self.input_tokens else None

    def per_call(self, stage: str) -> float | None:
        """What one more call of this stage is expected to cost: its own calls' mean so far, else
        the mean of every call so far; None while nothing priced has been answered."""
        cost, calls = self.by_stage.get(stage, (0.0, 0))
        if calls and cost:
            return cost / calls
        total = sum(n for _, n in self.by_stage.values())
        return self.cost_usd / total if self.cost_usd and total else None


@dataclass(frozen=True)
class NoWork:
    """A scaled-out worker luigid hands nothing while nothing of the plan runs (its `no_work` line)."""

    worker: int | None
    host: str | None
    since: float
    until: float  # when the line was written: when the worker stopped, if it gave up
    pending: int | None
    gave_up: bool


@dataclass(frozen=True)
class Failure:
    step: str  # the stage, and its item for a fan-out
    reason: str
    recoverable: bool
    resume: str  # the command that resumes the run


@dataclass
class RunState:
    run_dir: str
    state: str
    run_id: str | None
    started: float | None  # the current (last) run's start
    ended: float | None
    speed: str | None
    llm_slots: int | None
    scaled_out: bool
    tasks_done: set[str] = field(default_factory=set)  # task ids whose last execution ended ok
    done_keys: set[tuple[str, int | None]] = field(default_factory=set)  # the same as (stage, item)
    # (stage, seconds) of each LLM task finished by the current run: how long calls take now.
    finished_llm: list[tuple[str, float]] = field(default_factory=list)
    llm_calls_done: int = 0  # answered calls, over every run of the folder
    in_flight: list[InFlight] = field(default_factory=list)
    no_work: list[NoWork] = field(default_factory=list)  # workers stuck since the last progress
    last_progress_at: float | None = None
    failure: Failure | None = None
    provider_limit: int | None = None  # the shared adaptive limit in force, when the run has one
    provider_wait_s: float = 0.0  # time calls of the current run waited for the provider
    finished_families: list[tuple[float, str, int | None, float]] = field(default_factory=list)  # (end, stage, item, s)
    money: "Money" = field(default_factory=lambda: Money())  # what the plan's calls cost, over every run

    @property
    def plan_complete(self) -> bool:
        return self.state == "done"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["tasks_done"] = len(self.done_keys)
        for name in ("finished_families", "done_keys", "finished_llm", "money"):
            data.pop(name)
        return data


def _alive(pid: int | None, host: str) -> bool:
    if host != host_label() or pid is None:
        return True  # another machine's process: taken as alive until its end line (or a stall)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _failure(end: TaskEvent, run_dir: str) -> Failure:
    step = end.task_family + (f" item {end.item}" if end.item is not None else "")
    reason = end.error or "failed"
    return Failure(step=step, reason=reason, recoverable=failure_kind(end.error_kind).recoverable,
                   resume=f"planexe-pipeline run --run-dir {run_dir}")


def run_state(run_dir: str, lines: Iterable[tuple[str, Event]], *, now: float | None = None,
              stall_after_s: float | None = None) -> RunState:
    """The state of a run from its telemetry lines, each with the host whose file it is in."""
    now = time.time() if now is None else now
    lines = sorted(lines, key=lambda pair: (pair[1].start or 0, pair[1].end or 0))
    events = [event for _, event in lines]
    runs = [(host, e) for host, e in lines if isinstance(e, RunEvent)]
    starts = [(host, e) for host, e in runs if e.event == "start" and e.start is not None]
    if not starts:
        raise ValueError(f"no run has started in {run_dir}: run the plan first")
    last_host, last = starts[-1]
    # The current run: the last start, with every worker of a scaled-out plan that shares its id.
    current = [(h, e) for h, e in starts if e is last or (last.run_id and e.run_id == last.run_id)]
    since = min(e.start for _, e in current)
    ends = {(h, e.pid, round(e.start, 3)): e for h, e in runs if e.event == "end" and e.start is not None}
    endings = [ends.get((h, e.pid, round(e.start, 3))) for h, e in current]
    open_runs = [(h, e) for (h, e), end in zip(current, endings) if end is None]
    alive = [(h, e) for h, e in open_runs if _alive(e.pid, h)]

    tasks = [(h, e) for h, e in lines if isinstance(e, TaskEvent)]
    finals = final_executions(e for _, e in tasks)
    state = RunState(run_dir=run_dir, state="running", run_id=last.run_id, started=since, ended=None,
                     speed=last.speed, llm_slots=last.llm_slots, scaled_out=last.scaled_out,
                     tasks_done=set(finals), done_keys={(e.task_family, e.item) for e in finals.values()})
    state.finished_llm = [(e.task_family, e.seconds) for e in finals.values() if e.llm and (e.start or 0) >= since]
    state.llm_calls_done = sum(1 for e in events if isinstance(e, LLMCallEvent) and e.ok)
    for event in events:
        if isinstance(event, LLMCallEvent):
            state.money.add(event)
    progress_marks = [e.end for e in finals.values() if e.end is not None and e.end >= since]
    progress_marks += [e.end for e in events if isinstance(e, LLMCallEvent) and e.ok and e.end and e.end >= since]
    state.last_progress_at = max(progress_marks, default=since)
    state.finished_families = sorted((e.end, e.task_family, e.item, e.seconds) for e in finals.values()
                                     if e.end is not None and e.end >= since)[-8:]

    open_tasks: dict[str, tuple[str, TaskEvent]] = {}
    for host, e in tasks:
        if e.start is None or e.start < since:
            continue
        if e.event == "start":
            open_tasks[e.task_id] = (host, e)
        elif e.is_end and e.task_id in open_tasks and abs(open_tasks[e.task_id][1].start - e.start) < 1e-3:
            del open_tasks[e.task_id]
    live_hosts = {(h, e.pid) for h, e in alive}
    state.in_flight = sorted((InFlight(e.task_family, e.item, e.start, e.llm, h)
                              for h, e in open_tasks.values() if (h, e.ran_on) in live_hosts),
                             key=lambda f: f.since)

    stuck = {(e.host, e.worker): e for e in events
             if isinstance(e, NoWorkEvent) and e.start >= since and e.end >= state.last_progress_at}
    state.no_work = [NoWork(e.worker, e.host, e.start, e.end, e.pending, e.status == "gave_up") for e in stuck.values()]

    limits = [e for e in events if isinstance(e, ProviderLimitEvent) and e.limit is not None]
    state.provider_limit = limits[-1].limit if limits else None
    state.provider_wait_s = round(sum(max(0.0, e.duration_s or 0.0) for e in events
                                      if isinstance(e, ProviderWaitEvent) and (e.start or 0) >= since), 3)

    failed = [e for _, e in tasks if e.failed and (e.start or 0) >= since and e.task_id not in finals]
    finished = [end for end in endings if end is not None]
    if alive:
        stalled = stall_after_s is not None and now - state.last_progress_at > stall_after_s
        state.state = "stalled" if stalled else "running"
    elif any(end.status == "ok" for end in finished):
        state.state = "done"
    elif failed or any(end.status == "failed" for end in finished):
        state.state = "failed"
    else:
        state.state = "stopped"
    if state.state != "running" and state.state != "stalled":
        state.ended = max((end.end for end in finished if end.end is not None), default=None)
    if failed:
        state.failure = _failure(failed[-1], run_dir)
    elif state.state == "stopped":
        state.failure = Failure(step="-", reason="the run process ended before the plan was complete "
                                "(killed, interrupted or its machine lost)", recoverable=True,
                                resume=f"planexe-pipeline run --run-dir {run_dir}")
    elif state.state == "failed":
        state.failure = Failure(step="-", reason="the run stopped before the plan was complete; "
                                "rerun with --verbose to see Luigi's log", recoverable=True,
                                resume=f"planexe-pipeline run --run-dir {run_dir}")
    return state


def read_run_state(run_dir: str | os.PathLike, *, now: float | None = None,
                   stall_after_s: float | None = None) -> RunState:
    return run_state(str(run_dir), EventFollower(run_dir).new_events(), now=now, stall_after_s=stall_after_s)


@dataclass
class Outlook:
    """What is left of a run, against what the task graph expects (planexe_pipeline/status.py)."""

    progress: float
    tasks_expected: int
    tasks_done: int
    llm_calls_expected: int
    eta_s: float | None
    widths_estimated: list[str]
    cost_projected_usd: float | None = None  # spent, and what the calls left are expected to cost


def status_of_finished(state: RunState) -> dict:
    """A complete plan: everything expected is done, no graph needed. Counted by step and item: a
    copied or forked folder holds lines of its original under other task ids (they name its path)."""
    done = len(state.done_keys)
    return status_dict(state, Outlook(1.0, done, done, state.llm_calls_done, 0.0, [], state.money.cost_usd),
                       time.time())


def status_dict(state: RunState, look: Outlook, now: float) -> dict:
    llm_in_flight = [f for f in state.in_flight if f.llm]
    return {
        "run_dir": state.run_dir, "run_id": state.run_id, "state": state.state, "progress": look.progress,
        "tasks": {"done": look.tasks_done, "expected": look.tasks_expected},
        "llm_calls": {"done": state.llm_calls_done, "expected": look.llm_calls_expected,
                      "in_flight": len(llm_in_flight)},
        "in_flight": [{"stage": f.stage, "item": f.item, "since": round(f.since, 3), "llm": f.llm, "host": f.host}
                      for f in state.in_flight],
        "no_work": [asdict(w) for w in state.no_work],
        "llm_slots": state.llm_slots, "provider_limit": state.provider_limit,
        "provider_wait_s": state.provider_wait_s, "eta_s": look.eta_s,
        "cost_usd": None if state.money.cost_usd is None else round(state.money.cost_usd, 6),
        "cost_projected_usd": None if look.cost_projected_usd is None else round(look.cost_projected_usd, 6),
        "cost_unpriced_calls": state.money.unpriced, "cached_share": state.money.cached_share,
        "started": state.started, "ended": state.ended, "last_progress_at": state.last_progress_at,
        "failure": None if state.failure is None else asdict(state.failure),
        "widths_estimated": look.widths_estimated,
        "last_finished": [{"stage": stage, "item": item, "seconds": round(seconds, 3), "ended": end}
                          for end, stage, item, seconds in state.finished_families],
        "now": now,
    }
