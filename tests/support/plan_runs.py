"""`planexe-pipeline run` as a subprocess, the way a user (or a kill -9) meets it.

Shared by tests/test_reliability.py and tests/test_untrusted_output.py. Each run gets the
repository's luigi.cfg plus tests/data/reliability_luigi.cfg (retry waits of milliseconds),
its own stdout/stderr files next to (never inside) the run folder, and `--speed fast`, the CI
sample plan.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from planexe_pipeline.records import RECORDS_DIR
from planexe_pipeline.run_folder import INTERRUPTED_WRITES
from planexe_pipeline.run_settings import SETTINGS_FILE
from planexe_pipeline.telemetry.event_log import read_events

REPO = Path(__file__).resolve().parents[2]
RETRY_CFG = REPO / "tests" / "data" / "reliability_luigi.cfg"
START_DATE = "2027-01-04"
WORKERS = "4"
LOCK_FILES = {".run.lock"}
TIMING_FILES = {"timeline.html"}  # drawn from telemetry: timings differ by nature
# The exports the tests' plans write: those that cost milliseconds. The PDF and the Word file
# (seconds of CPU each) only where a module asks for them (tests/conftest.py).
LIGHT_EXPORTS = "mspdi,ics"


def write_llm_config(path: Path, models: dict[str, dict]) -> Path:
    """An llm_config.json of Simulated models: {name: simulator arguments}."""
    path.write_text(json.dumps({"models": {name: {"class": "Simulated", "arguments": args}
                                           for name, args in models.items()}}, indent=1))
    return path


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PLANEXE_LLM_CONFIG", "LUIGI_CONFIG_PATH")}
    env["LUIGI_CONFIG_PATH"] = str(RETRY_CFG)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class CliRun:
    proc: subprocess.Popen
    run_dir: Path
    stdout_path: Path
    stderr_path: Path
    launched: float

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout: float = 90) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"run in {self.run_dir} still going after {timeout}s; stderr: {self.stderr[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the run and every worker it forked (they share its process group)."""
        try:
            os.killpg(self.proc.pid, 9)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)

    def interrupt(self) -> None:
        """Ctrl-C in a terminal: SIGINT to the run and every process it forked."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        return True


def _as_in_a_terminal() -> None:
    # A background job of a non-interactive shell (CI) starts with SIGINT ignored, and an ignored
    # signal stays ignored across exec: the run must see Ctrl-C as a terminal would send it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_run(run_dir: Path, config: Path, models: list[str], *, prompt_id: str | None = "solar-farm-denmark",
              env: dict[str, str] | None = None, tag: str = "", extra: tuple[str, ...] = ()) -> CliRun:
    """Start `planexe-pipeline run` in a new session (so its whole process group can be killed)."""
    argv = [sys.executable, "-m", "planexe_pipeline", "run", "--run-dir", str(run_dir), "--speed", "fast",
            "--workers", WORKERS, "--llm-config", str(config)]
    for model in models:
        argv += ["--llm", model]
    if prompt_id is not None:
        argv += ["--prompt-id", prompt_id, "--start-date", START_DATE]
    argv += list(extra)
    logs = run_dir.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stem = f"{run_dir.name}{'-' + tag if tag else ''}"
    out, err = logs / f"{stem}.out", logs / f"{stem}.err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        launched = time.time()
        proc = subprocess.Popen(argv, cwd=REPO, env=env or cli_env(), stdout=fo, stderr=fe,
                                stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_as_in_a_terminal)
    return CliRun(proc, run_dir, out, err, launched)


def run_to_end(run_dir: Path, config: Path, models: list[str], **kwargs) -> CliRun:
    run = start_run(run_dir, config, models, **kwargs)
    run.wait()
    return run


def plan_files(run_dir: Path, skip_dirs: tuple[str, ...] = ("telemetry", RECORDS_DIR)) -> dict[str, bytes]:
    """Every file of the run but telemetry and the timeline (timings differ by nature), the lock file,
    the run's settings (the models and slots it ran with are not the plan) and the records of what
    each file was made from."""
    return {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in sorted(run_dir.rglob("*"))
            if p.is_file() and p.relative_to(run_dir).parts[0] not in skip_dirs
            and p.name not in LOCK_FILES | TIMING_FILES | {SETTINGS_FILE}}


def differing(expected: dict[str, bytes], actual: dict[str, bytes]) -> str:
    """'' when equal, else what differs, for an assertion message."""
    missing, extra = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
    changed = sorted(n for n in set(expected) & set(actual) if expected[n] != actual[n])
    if not (missing or extra or changed):
        return ""
    return f"missing {missing[:10]}, unexpected {extra[:10]}, different {changed[:10]}"


def ok_task_ids(run_dir: Path) -> list[str]:
    """Task ids of every 'ended ok' line (a task listed twice ran twice)."""
    return [e.task_id for e in read_events(run_dir, "task") if e.event == "end" and e.status == "ok"]


def poll(condition: Callable[[], object], deadline_s: float, what: str, every: float = 0.01,
         give_up: Callable[[], str | None] = lambda: None):
    """Wait until condition() is truthy, at most deadline_s; give_up() returning a reason stops early."""
    end = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        reason = give_up()
        if reason:
            raise AssertionError(f"gave up waiting for {what}: {reason}")
        if time.monotonic() > end:
            raise AssertionError(f"no {what} within {deadline_s}s")
        time.sleep(every)


def is_interrupted_write(path: Path) -> bool:
    """A temp file of a write a kill cut short, by the patterns the run folder removes on resume."""
    return any(path.match(pattern) for pattern in INTERRUPTED_WRITES)
