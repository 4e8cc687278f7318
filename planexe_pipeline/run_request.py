"""Checking a run request: every check that can fail on bad input runs before anything is
written, so a refused run leaves the run folder exactly as it was."""

from __future__ import annotations

import datetime
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from planexe_pipeline import defaults
from planexe_pipeline.errors import InputError
from planexe_pipeline.llm.config import load_llm_config, parse_model_list, resolve_models
from planexe_pipeline.prompt_input import PLAN_FILE, check_prompt, check_run_folder, check_start_date
from planexe_pipeline.settings import pipeline


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
    scheduler_port: int = defaults.SCHEDULER_PORT
    verbose: bool = False
    progress: bool = True
    notify_url: str | None = None  # alerts: else PLANEXE_NOTIFY_URL, else [notify] url
    notify_command: str | None = None
    lock: bool = True


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
