"""The kinds of telemetry line: every line a run writes is one of the event classes below.

A new kind of line is one dataclass here, decorated with `@event_kind`; the log that holds the
lines, and its one reader `read_events`, are in event_log.py. Lines are read leniently, as older
and newer writers differ: a field of the wrong type reads as its default, and a line of a kind
this reader does not know, or without the fields that identify it, is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from planexe_pipeline.telemetry.event_base import EVENT_KINDS, Event, event_kind

__all__ = ["EVENT_KINDS", "Event", "event_kind"]  # the base lives in event_base.py; readers import it from here


@event_kind
@dataclass(frozen=True, kw_only=True)
class TaskEvent(Event):
    """A task's start, or its end: ok, failed, or yielded (a fan-out merge suspended for its items)."""

    kind = "task"
    required = ("task_id", "start")

    event: str = "end"
    task_family: str = ""
    task_id: str = ""
    item: int | None = None
    group: str = ""
    llm: bool = False
    # The Luigi resources the task holds while it runs ("llm", "print"): what a task that started
    # late may have waited for (telemetry/critical_path.py). Older lines name none.
    resources: tuple[str, ...] = ()
    pid: int | None = None  # the process that ran the task
    worker: int | None = None  # the `run` (or luigi) process whose worker ran it; older lines lack it
    deps: tuple[str, ...] = ()  # every task it read, dynamic dependencies included (end lines)
    error: str | None = None
    error_kind: str | None = None  # failed end lines: the failure's kind (errors.py), "defect" for any other
    # Start lines: when the worker dispatched the task, and when its process began on it
    # (planexe_pipeline/worker.py). End lines: what the line itself cost after `end`.
    dispatched_at: float | None = None
    process_started: float | None = None
    handler_s: float | None = None
    # End lines: CPU seconds the task used in its process, and that process's peak resident memory
    # while it ran the task (telemetry/resources.py).
    cpu_s: float | None = None
    peak_rss_bytes: int | None = None
    # The task execution's span in the run's trace (both lines; telemetry/correlation.py).
    span_id: str | None = None

    @property
    def is_end(self) -> bool:
        return self.event == "end" and self.end is not None

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def ran_on(self) -> int | None:
        return self.worker if self.worker is not None else self.pid


@event_kind
@dataclass(frozen=True, kw_only=True)
class LLMCallEvent(Event):
    """One attempt at one LLM call: status ok or error."""

    kind = "llm_call"

    task_family: str = ""
    task_id: str | None = None
    item: int | None = None
    model: str | None = None
    attempt: int | None = None
    duration_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    tokens_estimated: bool = False
    # As the provider reported them: input tokens served from its prompt cache (part of
    # input_tokens), and reasoning tokens (part of output_tokens); None where it does not say.
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    # What the attempt cost in USD, and where that figure comes from (llm/pricing.py): provider,
    # table, entry, or unknown (no figure); both None for an attempt that got no answer.
    cost_usd: float | None = None
    cost_source: str | None = None
    route: str | None = None  # the route of llm_config.json that chose the model; None: the run's --llm
    error: str | None = None
    finish_reason: str | None = None  # the provider's: stop, length (cut by the output limit), content_filter...
    repairs: int | None = None  # near misses mended: JSON syntax (llm/answer_json.py) and soft rules
    flags: int | None = None  # degenerate places of the answer kept (llm/degeneracy.py)
    error_type: str | None = None  # the exception's class name, for a trace's `error.type`
    provider: str | None = None  # the API the model entry's class speaks: openai, ollama, planexe.simulator
    request_model: str | None = None  # the model as the provider knows it (the entry's `model` argument)
    parent_span_id: str | None = None  # the span of the task execution that made the call
    # The prompt (system, then user), only when a trace is asked to carry it (correlation.py).
    messages: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def call_seconds(self) -> float:
        return max(0.0, self.duration_s) if self.duration_s is not None else self.seconds


@event_kind
@dataclass(frozen=True, kw_only=True)
class RunEvent(Event):
    """A `planexe-pipeline run` invocation's start or end."""

    kind = "run"
    required = ("start",)

    event: str = "start"
    workers: int | None = None
    llm_slots: int | None = None
    print_slots: int | None = None  # [resources] print: the report sections printed at once
    pid: int | None = None
    run_id: str | None = None  # the run's correlation id: its trace id (telemetry/correlation.py)
    scaled_out: bool = False  # one of the workers of a central scheduler, sharing the folder unlocked
    speed: str | None = None  # the run's --speed, which the task graph depends on
    # End lines: CPU seconds of the `run` process itself (its worker, merges, progress), and its peak
    # resident memory; the task processes' own are on their task lines.
    cpu_s: float | None = None
    peak_rss_bytes: int | None = None
    # The models the run was asked to use, in order, and the config naming them where one was
    # given: what a resume without --llm goes on with. The config's path is relative to the run
    # folder (older lines: absolute), so a copied folder names no place of its original.
    models: tuple[str, ...] = ()
    llm_config: str | None = None


@event_kind
@dataclass(frozen=True, kw_only=True)
class ResourceSampleEvent(Event):
    """Memory of one host's processes of a run at `start`: the `run` process and its task processes."""

    kind = "resources"
    required = ("start",)

    memory_bytes: int | None = None  # proportional (PSS) where the system tells it: shared pages counted once
    processes: int | None = None
    worker: int | None = None  # the `run` process whose processes these are


@event_kind
@dataclass(frozen=True, kw_only=True)
class TakeoverEvent(Event):
    """A worker about to run a task that a lost worker had started and never ended: it died with it.
    `start` is when the task was taken over, `lost_start` when the lost worker had started it."""

    kind = "takeover"
    required = ("task_id", "start")

    task_family: str = ""
    task_id: str = ""
    item: int | None = None
    from_worker: int | None = None  # the lost `run` process, on from_host
    from_host: str | None = None
    lost_start: float | None = None
    worker: int | None = None  # the `run` process that took it over, on host
    host: str | None = None

    @property
    def lost_for_s(self) -> float | None:
        """From the lost start to the takeover: the disconnect delay plus the retry delay, roughly."""
        return self.start - self.lost_start if self.start is not None and self.lost_start is not None else None


@event_kind
@dataclass(frozen=True, kw_only=True)
class NoWorkEvent(Event):
    """A scaled-out worker that luigid handed nothing from `start` to `end` while nothing of the plan
    ran anywhere: status `waiting`, or `gave_up` (the worker stopped); `reason` says what it saw."""

    kind = "no_work"
    required = ("start", "end")

    worker: int | None = None  # the `run` process, on host
    host: str | None = None
    pending: int | None = None  # tasks of the plan pending in luigid
    reason: str | None = None


@event_kind
@dataclass(frozen=True, kw_only=True)
class DispatchEvent(Event):
    """One task execution as the worker saw it: added to the scheduler, dispatched, its process
    started (with one worker: the task ran), its result taken off the queue."""

    kind = "dispatch"
    required = ("task_id", "dispatched")

    task_id: str = ""
    worker: int | None = None
    added: float | None = None
    dispatched: float | None = None
    forked: float | None = None
    received: float | None = None
    # The last moment before the dispatch that a task process came free while all were busy.
    slot_freed: float | None = None


@event_kind
@dataclass(frozen=True, kw_only=True)
class WorkerEvent(Event):
    """A worker's totals, written when it stops: where its own time went."""

    kind = "worker"
    required = ("worker",)

    worker: int | None = None
    workers: int | None = None
    began: float | None = None
    stopped: float | None = None
    processes_forked: int | None = None
    processes_forked_ahead: int | None = None  # of those, forked while the worker waited on LLM calls
    get_work_calls: int | None = None
    get_work_s: float | None = None
    dispatch_s: float | None = None
    add_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class ProviderEvent(Event):
    """Something the shared limit of one provider endpoint did (llm/limiter.py)."""

    endpoint: str = ""
    model: str | None = None
    cap: int | None = None


@event_kind
@dataclass(frozen=True, kw_only=True)
class ProviderWaitEvent(ProviderEvent):
    """A call waited before going out: for the provider's reset, the adaptive limit, or a stated rate."""

    kind = "provider_wait"
    required = ("start",)

    task_family: str = ""
    item: int | None = None
    duration_s: float | None = None
    reason: str | None = None


@event_kind
@dataclass(frozen=True, kw_only=True)
class ProviderLimitEvent(ProviderEvent):
    """The adaptive limit was set (at its start) or changed."""

    kind = "provider_limit"
    required = ("start", "limit")

    limit: int | None = None
    previous: int | None = None
    reason: str | None = None


@event_kind
@dataclass(frozen=True, kw_only=True)
class ProviderQuotaEvent(ProviderEvent):
    """The provider's quota ran out until `reset_at` (None: no reset in sight)."""

    kind = "provider_quota"
    required = ("start",)

    reset_at: float | None = None
    source: str | None = None


@event_kind
@dataclass(frozen=True, kw_only=True)
class AlertEvent(Event):
    """How one alert went (telemetry/alerts.py): sent, or given up after its tries."""

    kind = "alert"
    required = ("start",)

    state: str | None = None  # the run's state it told: done, failed, stalled
    target: str | None = None  # url or command; never the URL itself
    attempts: int | None = None
    error: str | None = None
