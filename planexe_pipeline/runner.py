"""Run one plan: hand the task graph of a checked request (run_request.py) to Luigi, in a run
folder it holds (run_folder.py), and sum up what the run did from its telemetry."""

from __future__ import annotations

import contextlib
import importlib
import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import luigi

from planexe_pipeline import run_settings
from planexe_pipeline.errors import Defect, PromptUnusable, failure_kind
from planexe_pipeline.export.formats import missing_line
from planexe_pipeline.llm.spend import BudgetReached
from planexe_pipeline.pipeline import PLAN, FullPlan
from planexe_pipeline.run_folder import RunFolderLock, remove_interrupted_writes
from planexe_pipeline.run_cost import budget_line
from planexe_pipeline.run_record import RunRecord
from planexe_pipeline.run_request import RunRequest
from planexe_pipeline.run_settings import RunSettings
from planexe_pipeline.run_watch import RunWatch
from planexe_pipeline.scaleout import PlanWorkerFactory, SchedulerGone
from planexe_pipeline.prompt_input import read_fingerprint
from planexe_pipeline.tasks import revision
from planexe_pipeline.settings import export
from planexe_pipeline.tasks.exports import EXPORTS
from planexe_pipeline.tasks.integrity import unreadable_tasks
from planexe_pipeline.tasks.revision import Revision
from planexe_pipeline.telemetry.event_log import failed_tasks, read_events
from planexe_pipeline.telemetry.events import Event, TaskEvent
from planexe_pipeline.telemetry.stats import stats_from_events
from planexe_pipeline.worker import RunStopped, TimedWorkerFactory, llm_cap_of


@dataclass
class RunOutcome:
    ok: bool
    run_dir: Path
    wall_s: float
    failures: list[str]
    summary: dict
    run_id: str = ""  # the run's correlation id, its trace id when tracing is on
    failure_kinds: tuple[str, ...] = ()  # of the failed tasks' lines, as errors.py names them

    @property
    def prompt_unusable(self) -> bool:
        """Stopped by the screening's verdict: its line says what to do, and a plain rerun of the
        folder would stop the same way."""
        return PromptUnusable.kind in self.failure_kinds

    @property
    def budget_reached(self) -> bool:
        """Stopped before a call that could have taken the plan past its budget: its one line says
        what was spent, what is left and what remains."""
        return BudgetReached.kind in self.failure_kinds


def warm_providers(settings: RunSettings) -> None:
    """Import the run's provider clients in this process, before Luigi forks a process per task.

    Forked task processes inherit them; otherwise each one imported openai and llama-index
    again inside its first LLM attempt (about 1.5 s of CPU a task, counted as call time)."""
    for entry in settings.entries:
        for name in (entry.model_class.module, *entry.model_class.first_call_imports):
            try:
                importlib.import_module(name)
            except ImportError:
                pass  # the task reports a missing extra with its own clear message


def build_root(request: RunRequest) -> luigi.Task:
    # Everything else the plan's tasks need is in the settings the folder records.
    return FullPlan(run_dir=str(request.run_dir))


def revision_of(request: RunRequest) -> Revision | None:
    """What a run of the request's folder would redo (None for a new plan); InputError, before
    anything is written, when a person's edit no longer fits its stage."""
    if read_fingerprint(request.run_dir) is None:
        return None
    return revision.plan_revision(PLAN, str(request.run_dir))


def execute(request: RunRequest, out=None,
            on_start: Callable[[int | None, Revision | None], None] | None = None) -> RunOutcome:
    """Run (or resume) the plan described by an already prepared request.

    on_start(cap, revision) is called once the run holds its folder and the LLM cap in force is
    known, before the first task: `revision` is what the run redoes (None for a new plan), the
    same object the run then applies, so what is said before the run is what it does."""
    run_dir = request.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    settings = request.settings
    local = None if request.scheduler_host else _LocalSchedulerFactory(str(run_dir), settings.llm_slots)
    slots = llm_cap_of(local.scheduler.resource_list()) if local else _luigid_llm_cap(request)
    lock = RunFolderLock(run_dir) if request.lock else None
    root = build_root(request)
    with lock or contextlib.nullcontext():
        # Found once, with the folder held (scaled out: shared), before anything in it changes:
        # what is said before the run is what the run applies.
        found = revision_of(request)
        if on_start:
            on_start(slots, found)
        if lock:
            # Scaled-out runs share the folder unlocked: they leave another worker's files alone.
            remove_interrupted_writes(run_dir)
        if found is not None:
            revision.apply(found, PLAN, record_unrecorded=bool(lock))
        revision.mark_checked(str(run_dir))
        run_settings.record(run_dir, settings)
        record = RunRecord(root, workers=request.workers, llm_slots=slots, models=tuple(request.models),
                           llm_config=request.llm_config, scaled_out=bool(request.scheduler_host))
        identity = record.open()
        watch = RunWatch(request, identity, out=out)
        watch.start()
        try:
            warm_providers(settings)
            shared = PlanWorkerFactory(root) if request.scheduler_host else None
            if shared:
                scheduler = {"scheduler_host": request.scheduler_host, "scheduler_port": request.scheduler_port,
                             "worker_scheduler_factory": shared}
            else:
                scheduler = {"local_scheduler": True, "worker_scheduler_factory": local}
            stopped_early = None
            try:
                result = luigi.build([root, *unreadable_tasks(PLAN, str(run_dir))], workers=request.workers, detailed_summary=True,
                                     # Our own one-line errors say what failed; Luigi's tracebacks
                                     # are for --verbose.
                                     log_level="INFO" if request.verbose else "CRITICAL", **scheduler)
            except SchedulerGone as exc:
                stopped_early = f"{exc}: start it again on the same --state-dir"
                ok = False
            except RunStopped:
                ok = False  # the task's own failure line (its telemetry) says why
            else:
                if shared:
                    stopped_early = shared.worker.stuck if shared.worker else None
                    # Luigi judges a worker by the tasks it scheduled; with several workers many of
                    # them ran elsewhere ("left pending, being run by another worker"), so its status
                    # is never SUCCESS. A worker of a shared plan succeeded when the plan is complete.
                    ok = root.complete()
                else:
                    ok = result.status.name in ("SUCCESS", "SUCCESS_WITH_RETRY")
        finally:
            watch.stop()
        ended = record.close(ok)
    started = record.started
    events = [e for e in read_events(run_dir) if (e.start or 0) >= started]
    failed = failed_tasks(events)
    failures = [_failure_line(e) for e in failed if e.error_kind != BudgetReached.kind]
    if request.budget_usd is not None and any(e.error_kind == BudgetReached.kind for e in failed):
        failures.insert(0, budget_line(run_dir, request.budget_usd))
    failures += [stopped_early] if stopped_early else []
    summary = summarize(events, ended - started, slots)
    watch.finish(ok, summary)
    return RunOutcome(ok, run_dir, ended - started, list(dict.fromkeys(failures)), summary, identity.run_id,
                      tuple(e.error_kind or Defect.kind for e in failed))


class _LocalSchedulerFactory(TimedWorkerFactory):
    """Luigi's own local scheduler, made before the run so the cap it holds can be read and recorded."""

    def __init__(self, run_dir: str, llm_slots: int):
        super().__init__(run_dir)
        self.scheduler = super().make_local_scheduler(llm_slots)

    def make_local_scheduler(self):
        return self.scheduler


def _luigid_llm_cap(request: RunRequest) -> int | None:
    url = f"http://{request.scheduler_host}:{request.scheduler_port}/api/resource_list"
    try:  # one quick look; Luigi's own RPC client would retry for a minute on a dead scheduler
        with urllib.request.urlopen(url, timeout=2) as reply:
            return llm_cap_of(json.loads(reply.read())["response"])
    except (OSError, ValueError, KeyError, TypeError):  # the cap is then reported as unknown
        return None


def limits_line(request: RunRequest, cap: int | None) -> str:
    """The provider limits the run works under, said once at its start."""
    parts = []
    for entry in request.settings.entries_for():
        limits = entry.limits
        start = min((n for n in (cap, limits.max_concurrency) if n), default="the LLM cap")
        how = f"starts at {start} in flight and halves on rate-limit answers" if limits.adaptive \
            else "rate-limit answers waited out call by call (adaptive_limit false)"
        stated = f"{limits.describe()}, " if limits.stated else ""
        parts.append(f"{entry.name}: {stated}{how}")
    return "Provider limits: " + "; ".join(parts)


def cap_warning(cap: int | None, request: RunRequest) -> str | None:
    """One line when the cap in force makes --workers pointless for LLM calls, else None."""
    if cap != 1 or request.workers == 1:
        return None
    if request.scheduler_host:
        held, remedy = (f"the central scheduler at {request.scheduler_host}:{request.scheduler_port} holds "
                        "[resources] llm = 1 (or none, which Luigi counts as 1)",
                        "restart it with 'planexe-pipeline scheduler --llm-slots K'")
    elif request.llm_slots == 1:
        held, remedy = "--llm-slots 1 was given", "pass a larger --llm-slots"
    else:
        held, remedy = ("[resources] llm is 1 (or unset, which Luigi counts as 1)",
                        "set [resources] llm in luigi.cfg or pass --llm-slots K")
    return (f"warning: at most 1 LLM call in flight: {held}, so --workers {request.workers} "
            f"will not overlap LLM calls; {remedy}")


def export_lines(run_dir: Path) -> tuple[list[str], str | None]:
    """(the export files the plan has, one line naming the extra that the chosen formats it
    could not write need, or None)."""
    chosen = export().chosen()
    files = [name for f in chosen for name in EXPORTS[f.name].files.values() if (run_dir / name).is_file()]
    missing = missing_line(chosen)
    return files, (f"{missing}; then `planexe-pipeline export {run_dir}` writes them" if missing else None)


def _failure_line(end: TaskEvent) -> str:
    error = end.error or "failed"
    # LLM failures already name their stage; others get it in front. A quota or an unusable
    # prompt is the run's, not a stage's: its one line stands for the whole run.
    kind = failure_kind(end.error_kind)
    if kind.names_its_stage or kind.stands_for_the_run:
        return error
    return f"{end.task_family}: {error}"


def summarize(events: list[Event], wall_s: float, llm_cap: int | None = None) -> dict:
    """This run's totals, for its closing line."""
    stats = stats_from_events(events)
    return {
        "tasks_run": stats.tasks_succeeded,
        "llm_calls": stats.llm_calls,
        "retries": stats.retries,
        "input_tokens": stats.input_tokens,
        "output_tokens": stats.output_tokens,
        "tokens_estimated": stats.tokens_estimated,
        "cached_input_tokens": stats.cached_input_tokens,
        "cost_usd": None if stats.cost is None else round(stats.cost, 6),
        "llm_seconds": round(stats.llm_seconds, 2),
        "wall_s": round(wall_s, 2),
        "llm_cap": llm_cap,
        "max_llm_in_flight": stats.max_llm_in_flight,
        "cpu_s": round(stats.cpu_seconds, 2),
        "peak_memory_bytes": stats.peak_memory_bytes,
    }
