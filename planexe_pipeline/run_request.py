"""Checking a run request: every check that can fail on bad input runs before anything is
written, so a refused run leaves the run folder exactly as it was. A request on a folder that
holds a run resumes it with what the folder recorded, for whatever the command line leaves out:
the prompt, speed and start date of its fingerprint, the models of its last run (telemetry).
A prompt, speed or start date that contradicts the folder is refused; other models are not:
another --llm is how a run goes on after a model ran out of quota. What comes out is the run's
settings (run_settings.py), resolved once; the runner records them in the folder."""

from __future__ import annotations

import datetime
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from planexe_pipeline import defaults, run_settings
from planexe_pipeline.errors import ConfigError, InputError
from planexe_pipeline.prompt_input import PLAN_FILE, check_prompt, check_run_folder, check_start_date, read_fingerprint
from planexe_pipeline.routes import check_routes
from planexe_pipeline.run_settings import RunSettings
from planexe_pipeline.settings import pipeline
from planexe_pipeline.telemetry.event_log import last_models


@dataclass
class RunRequest:
    prompt: str | None
    run_dir: Path | None = None
    models: list[str] = field(default_factory=list)
    llm_config: str | None = None
    workers: int = 16
    speed: str | None = None  # None: the folder's, or full for a new one
    llm_slots: int | None = None
    start_date: str | None = None
    scheduler_host: str | None = None
    scheduler_port: int = defaults.SCHEDULER_PORT
    verbose: bool = False
    progress: bool = True
    notify_url: str | None = None  # alerts: else PLANEXE_NOTIFY_URL, else [notify] url
    notify_command: str | None = None
    lock: bool = True
    resumed: str | None = None  # set by prepare() for a folder that holds a run: what it took from it
    screen: bool = True  # screen the prompt first (ScreenPrompt); --no-screen plans it as given
    budget_usd: float | None = None  # the plan's budget: no call starts that could take its cost past it
    settings: RunSettings | None = None  # set by prepare(): the run's settings, resolved once


def default_run_dir() -> Path:
    return Path("run") / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def prepare(request: RunRequest) -> RunRequest:
    """Validate everything; raise PipelineError with a one-line message on the first problem."""
    if request.workers < 1:
        raise InputError(f"--workers must be at least 1, got {request.workers}")
    if request.llm_slots is not None and request.llm_slots < 1:
        raise InputError(f"--llm-slots must be at least 1, got {request.llm_slots}")
    run_dir = request.run_dir or default_run_dir()
    _check_folder_path(run_dir)
    recorded = read_fingerprint(run_dir) or {}
    # The model config the folder's last run was given (recorded relative to the folder): where
    # another --llm given to a resume is looked up, unless another --llm-config is given too.
    recorded_models, recorded_config = last_models(run_dir) if recorded else ((), None)
    settings_record = run_settings.recorded(run_dir, request.llm_config or recorded_config) if recorded else None
    if settings_record is not None:
        recorded.update(models=list(settings_record.models), llm_config=recorded_config)
    elif recorded:  # a folder from before its settings were recorded: the models of its last run
        recorded.update(models=list(recorded_models), llm_config=recorded_config)
    llm_config = request.llm_config or recorded.get("llm_config")
    prompt = check_prompt(request.prompt, pipeline().max_prompt_chars) if request.prompt is not None else None
    if prompt is None and not (run_dir / PLAN_FILE).exists():
        raise InputError("no prompt given: pass --prompt TEXT, --prompt-file FILE or --prompt-id ID "
                         "(or --run-dir of an earlier run to resume it)")
    start_date = check_start_date(request.start_date) if request.start_date else None
    speed = request.speed or recorded.get("speed") or "full"
    check_run_folder(run_dir, prompt, speed, start_date)
    settings = run_settings.resolve(
        models=request.models or ([] if settings_record else recorded.get("models") or []),
        # Without other models or another config, a resume goes on with the entries the folder recorded.
        llm_config=llm_config if request.models or request.llm_config or not settings_record else None,
        speed=speed, start_date=start_date or recorded.get("start_date") or run_settings.today(),
        screen=request.screen, llm_slots=request.llm_slots, budget_usd=request.budget_usd, prompt=prompt,
        recorded=settings_record)
    entries = {entry.name: entry for entry in settings.entries}
    check_routes(settings.routes, entries)
    if settings.budget_usd is not None:
        _check_budget(settings.budget_usd, [e.name for e in settings.entries], entries)
    _check_writable(run_dir)
    prepared = RunRequest(**{**request.__dict__, "prompt": prompt, "run_dir": run_dir, "models": list(settings.models),
                             "llm_config": llm_config, "speed": speed, "budget_usd": settings.budget_usd,
                             "settings": settings, "start_date": settings.start_date})
    if recorded:
        prepared.resumed = _resume_line(request, prepared, recorded)
    return prepared


def _check_budget(budget: float, names: list[str], config) -> None:
    """A budget needs a positive amount, and a price for every model the run may call."""
    if not budget > 0:
        raise InputError(f"--budget must be more than 0 USD, got {budget:g}")
    for name in dict.fromkeys(names):
        pricing = config[name].price()
        if not pricing.known:
            raise ConfigError(f"--budget needs a price for every model the run may call: model '{name}' has "
                              f"{pricing.label()}")


def _resume_line(given: RunRequest, prepared: RunRequest, recorded: dict) -> str:
    """What a resumed run works with, in one line, saying where each part came from."""
    def source(was_given: bool) -> str:
        return "given" if was_given else "recorded"

    models = ", ".join(prepared.models)
    if given.models and recorded.get("models") and given.models != recorded["models"]:
        models += f" (given; recorded: {', '.join(recorded['models'])})"
    elif not given.models and not recorded.get("models"):
        models += " (the defaults: the folder recorded none)"
    else:
        models += f" ({source(bool(given.models))})"
    parts = [f"prompt from {PLAN_FILE}" if given.prompt is None else "prompt (given, the same)",
             f"speed {prepared.speed} ({source(given.speed is not None)})"]
    if prepared.start_date:
        parts.append(f"start date {prepared.start_date} ({source(given.start_date is not None)})")
    parts.append(f"models {models}")
    config = prepared.llm_config or (prepared.settings.config_name if prepared.settings else None)
    if config:
        parts.append(f"model config {config} ({source(given.llm_config is not None)})")
    return f"Resuming {prepared.run_dir} with what it recorded: {'; '.join(parts)}"


def _check_folder_path(run_dir: Path) -> None:
    """A file where the run folder (or a folder above it) would be is said as such: mkdir's own
    words ("File exists", "Not a directory") read as a permission problem."""
    for path in (run_dir, *run_dir.parents):
        if path.is_dir():
            return
        if path.exists():
            where = "is a file" if path == run_dir else f"cannot be made: {path} is a file"
            raise InputError(f"run folder {run_dir} {where}, not a folder: pass a new folder to --run-dir, "
                             "or the folder of a run to resume it")


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
