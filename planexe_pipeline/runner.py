"""Run one plan: check every input up front, then hand the task graph to Luigi.

Every check that can fail on bad input runs before anything is written, so a refused run
leaves the run folder exactly as it was.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import importlib
import json
import os
import socket
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import luigi
import luigi.interface

from planexe_pipeline.errors import InputError
from planexe_pipeline.llm.config import LLM_CLASSES, load_llm_config, parse_model_list, resolve_models
from planexe_pipeline.pipeline import REMAINING_SECONDS, FullPlan, Report
from planexe_pipeline.prompt_input import PLAN_FILE, check_prompt, check_run_folder, check_start_date
from planexe_pipeline.scaleout import PlanWorkerFactory
from planexe_pipeline.settings import pipeline
from planexe_pipeline.telemetry.events import Event, RunEvent, TaskEvent, append_event, failed_tasks, read_events
from planexe_pipeline.telemetry.progress import RunProgress
from planexe_pipeline.telemetry.stats import stats_from_events

REPORT_FILE = Report.files["html"]
PLAN_MARKDOWN = Report.files["md"]


@dataclass
class RunRequest:
    prompt: str | None
    run_dir: Path | None = None
    models: list[str] = field(default_factory=list)
    llm_config: str | None = None
    workers: int = 16
    speed: str = "full"
    llm_slots: int | None = None
    start_date: str | None = None
    scheduler_host: str | None = None
    scheduler_port: int = 8082
    verbose: bool = False
    progress: bool = True
    lock: bool = True


@dataclass
class RunOutcome:
    ok: bool
    run_dir: Path
    wall_s: float
    failures: list[str]
    summary: dict


def default_run_dir() -> Path:
    return Path("run") / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def prepare(request: RunRequest) -> RunRequest:
    """Validate everything; raise PipelineError with a one-line message on the first problem."""
    if request.workers < 1:
        raise InputError(f"--workers must be at least 1, got {request.workers}")
    if request.llm_slots is not None and request.llm_slots < 1:
        raise InputError(f"--llm-slots must be at least 1, got {request.llm_slots}")
    models = request.models or parse_model_list(pipeline().llm)
    resolve_models(models, load_llm_config(request.llm_config))
    run_dir = request.run_dir or default_run_dir()
    prompt = check_prompt(request.prompt, pipeline().max_prompt_chars) if request.prompt is not None else None
    if prompt is None and not (run_dir / PLAN_FILE).exists():
        raise InputError("no prompt given: pass --prompt TEXT, --prompt-file FILE or --prompt-id ID "
                         "(or --run-dir of an earlier run to resume it)")
    start_date = check_start_date(request.start_date) if request.start_date else None
    check_run_folder(run_dir, prompt, request.speed)
    _check_writable(run_dir)
    return RunRequest(**{**request.__dict__, "prompt": prompt, "run_dir": run_dir, "models": models,
                         "start_date": start_date})


def _check_writable(run_dir: Path) -> None:
    # Scaled-out workers start on the same new folder at the same moment: each probes with a
    # file of its own (with one shared name, one worker unlinked the other's probe), and a
    # folder that another worker's check removed under us is made again, not called unwritable.
    probe = run_dir / f".write-check-{socket.gethostname()}-{os.getpid()}"
    for attempt in range(3):
        existed = run_dir.exists()
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            probe.write_text("")
            probe.unlink()
            return
        except FileNotFoundError:
            if attempt == 2 or run_dir.exists():
                raise InputError(f"run folder {run_dir} is not writable: pick another --run-dir") from None
        except OSError as exc:
            raise InputError(f"run folder {run_dir} is not writable ({exc.strerror or exc}): pick another --run-dir") from None
        finally:
            if not existed:
                try:
                    run_dir.rmdir()  # leave no trace until the run really starts (fails if not empty)
                except OSError:
                    pass


class RunFolderLock:
    """One `planexe-pipeline run` per run folder at a time (scaled-out workers share it on purpose)."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / ".run.lock"
        self.fd: int | None = None

    def __enter__(self) -> "RunFolderLock":
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise InputError(f"run folder {self.path.parent} is being run by another process right now: "
                             "wait for it to finish, or use another --run-dir") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)


# Modules a provider's client imports lazily on its first request (the openai client's resources).
_FIRST_CALL_IMPORTS = {"OpenAILike": ("openai.resources",)}


def warm_providers(models: list[str], llm_config: str | None) -> None:
    """Import the run's provider clients in this process, before Luigi forks a process per task.

    Forked task processes inherit them; otherwise each one imported openai and llama-index
    again inside its first LLM attempt (about 1.5 s of CPU a task, counted as call time)."""
    for entry in resolve_models(models, load_llm_config(llm_config)):
        module, _, _ = LLM_CLASSES[entry.class_name]
        for name in (module, *_FIRST_CALL_IMPORTS.get(entry.class_name, ())):
            try:
                importlib.import_module(name)
            except ImportError:
                pass  # the task reports a missing extra with its own clear message


def build_root(request: RunRequest) -> luigi.Task:
    return FullPlan(run_dir=str(request.run_dir), speed=request.speed, llm=",".join(request.models),
                    llm_config=request.llm_config or "", prompt=request.prompt or "",
                    start_date=request.start_date or "")


def execute(request: RunRequest, out=None, on_start: Callable[[int | None], None] | None = None) -> RunOutcome:
    """Run (or resume) the plan described by an already prepared request.

    on_start(cap) is called once the LLM cap in force is known, before the first task."""
    run_dir = request.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    if request.llm_slots is not None:
        luigi.configuration.get_config().set("resources", "llm", str(request.llm_slots))
    local = None if request.scheduler_host else _LocalSchedulerFactory()
    slots = llm_cap_of(local.scheduler.resource_list()) if local else _luigid_llm_cap(request)
    if on_start:
        on_start(slots)
    progress = RunProgress(str(run_dir), REMAINING_SECONDS, out=out) if request.progress else None
    lock = RunFolderLock(run_dir) if request.lock else None
    started = time.time()
    with lock or contextlib.nullcontext():
        if lock:
            # A SIGKILLed run can leave Luigi's atomic-write temp files (<file>-luigi-tmp-<digits>).
            # They are never valid outputs, and holding the lock means no one is writing them now
            # (scaled-out runs share the folder unlocked, so they skip this).
            for leftover in run_dir.rglob("*-luigi-tmp-*"):
                if leftover.is_file():
                    leftover.unlink(missing_ok=True)
        append_event(run_dir, RunEvent(event="start", start=started, workers=request.workers, llm_slots=slots,
                                       pid=os.getpid(), status="running"))
        if progress:
            progress.start()
        try:
            root = build_root(request)
            warm_providers(request.models, request.llm_config)
            if request.scheduler_host:
                scheduler = {"scheduler_host": request.scheduler_host, "scheduler_port": request.scheduler_port,
                             "worker_scheduler_factory": PlanWorkerFactory(root)}
            else:
                scheduler = {"local_scheduler": True, "worker_scheduler_factory": local}
            result = luigi.build([root], workers=request.workers, detailed_summary=True,
                                 # Our own one-line errors say what failed; Luigi's tracebacks
                                 # are for --verbose.
                                 log_level="INFO" if request.verbose else "CRITICAL", **scheduler)
            if request.scheduler_host:
                # Luigi judges a worker by the tasks it scheduled; with several workers many of
                # them ran elsewhere ("left pending, being run by another worker"), so its status
                # is never SUCCESS. A worker of a shared plan succeeded when the plan is complete.
                ok = root.complete()
            else:
                ok = result.status.name in ("SUCCESS", "SUCCESS_WITH_RETRY")
        finally:
            if progress:
                progress.stop()
        ended = time.time()
        append_event(run_dir, RunEvent(event="end", start=started, end=ended, workers=request.workers,
                                       llm_slots=slots, pid=os.getpid(), status="ok" if ok else "failed"))
    events = [e for e in read_events(run_dir) if (e.start or 0) >= started]
    failures = [_failure_line(e) for e in failed_tasks(events)]
    return RunOutcome(ok, run_dir, ended - started, list(dict.fromkeys(failures)),
                      summarize(events, ended - started, slots))


class _LocalSchedulerFactory(luigi.interface._WorkerSchedulerFactory):
    """Luigi's own local scheduler, made before the run so the cap it holds can be read and recorded."""

    def __init__(self):
        self.scheduler = super().create_local_scheduler()

    def create_local_scheduler(self):
        return self.scheduler


def llm_cap_of(resource_list: list[dict]) -> int:
    """The `llm` cap in a scheduler's resource_list() (the local one's, or luigid's API: same shape).

    A resource the scheduler does not list gets 1 unit (luigi.scheduler.Scheduler._has_resources)."""
    return next((int(r["num_total"]) for r in resource_list if r.get("name") == "llm"), 1)


def _luigid_llm_cap(request: RunRequest) -> int | None:
    url = f"http://{request.scheduler_host}:{request.scheduler_port}/api/resource_list"
    try:  # one quick look; Luigi's own RPC client would retry for a minute on a dead scheduler
        with urllib.request.urlopen(url, timeout=2) as reply:
            return llm_cap_of(json.loads(reply.read())["response"])
    except (OSError, ValueError, KeyError, TypeError):  # the cap is then reported as unknown
        return None


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


def _failure_line(end: TaskEvent) -> str:
    error = end.error or "failed"
    # LLM failures already start with the stage's name; others get it in front.
    return error if error.startswith(end.task_family) else f"{end.task_family}: {error}"


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
        "llm_seconds": round(stats.llm_seconds, 2),
        "wall_s": round(wall_s, 2),
        "llm_cap": llm_cap,
        "max_llm_in_flight": stats.max_llm_in_flight,
    }
