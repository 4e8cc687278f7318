"""The plans of one root folder: what each client asked for, and which plans wait their turn.

    ROOT/<run_id>/                  the run folder, as `planexe-pipeline run --run-dir` writes it
    ROOT/.mcp/jobs/<run_id>.json    the job: models, speed, workers, and where it stands
    ROOT/.mcp/jobs/<run_id>.txt     its prompt (the run reads it with --prompt-file)
    ROOT/.mcp/logs/<run_id>.log     what its `planexe-pipeline run` printed, every launch appended
    ROOT/.mcp/settings.json         max_running, as the last server started on the root set it
    ROOT/.mcp/lock                  held while jobs change

A job is queued, running (its job process is alive) or ended. Plans start only in dispatch():
under the lock, running jobs whose process is gone are marked ended, then the oldest queued jobs
are launched while fewer than max_running run. The server dispatches when it starts, on each
create and resume and every few seconds; each job process dispatches when its plan ends. So a
queued plan starts when a slot frees whether or not a server is running, and a server started
later finds the queue where the last one left it.

A job process (job_process.py) runs in a session of its own, apart from the server's, so a
server that stops or is killed leaves it running. It is the leader of its process group: a stop
is SIGINT to that group, which `planexe-pipeline run` takes as Ctrl-C (a clean, resumable stop).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from planexe_pipeline.errors import InputError
from planexe_pipeline.run_folder import write_whole
from planexe_pipeline.settings import mcp

STATE_DIR = ".mcp"
JOB_MODULE = "planexe_pipeline.mcp_server.job_process"
LAUNCH_GRACE_S = 10.0


@dataclass
class Job:
    run_id: str
    models: list[str]
    speed: str
    workers: int
    start_date: str | None = None
    llm_config: str | None = None
    budget_usd: float | None = None  # the plan's budget (--budget): it stops before a call would pass it
    cwd: str = "."  # where the run starts, so the luigi.cfg of the server's folder applies to it
    created: float = field(default_factory=time.time)
    state: str = "queued"  # queued, running, ended
    queued_at: float = 0.0
    pid: int | None = None  # the job process: leader of the plan's process group
    launched: float | None = None
    ended: float | None = None
    exit_code: int | None = None  # of `planexe-pipeline run`; None when its process was lost
    launches: int = 0
    cancelled: bool = False  # stopped while it waited in the queue

    @classmethod
    def from_dict(cls, data: dict) -> "Job":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class Root:
    """The server's root folder: run folders, and the jobs beside them in ROOT/.mcp/."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).resolve()
        self.state_dir = self.path / STATE_DIR
        self.jobs_dir = self.state_dir / "jobs"
        self.logs_dir = self.state_dir / "logs"

    def prepare(self) -> None:
        for folder in (self.jobs_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        fd = os.open(self.state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing drops the lock

    def run_dir(self, run_id: str) -> Path:
        return self.path / run_id

    def prompt_path(self, run_id: str) -> Path:
        return self.jobs_dir / f"{run_id}.txt"

    def log_path(self, run_id: str) -> Path:
        return self.logs_dir / f"{run_id}.log"

    def load(self, run_id: str) -> Job | None:
        try:
            return Job.from_dict(json.loads((self.jobs_dir / f"{run_id}.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, job: Job) -> None:
        write_whole(self.jobs_dir / f"{job.run_id}.json", json.dumps(dataclasses.asdict(job), indent=1))

    def jobs(self) -> list[Job]:
        found = (self.load(p.stem) for p in sorted(self.jobs_dir.glob("*.json")))
        return [job for job in found if job is not None]

    def max_running(self) -> int:
        try:
            value = json.loads((self.state_dir / "settings.json").read_text(encoding="utf-8"))["max_running"]
        except (OSError, ValueError, KeyError, TypeError):
            return mcp().max_running
        return value if isinstance(value, int) and value >= 1 else mcp().max_running

    def set_max_running(self, value: int) -> None:
        write_whole(self.state_dir / "settings.json", json.dumps({"max_running": value}))




def process_alive(job: Job) -> bool:
    """Whether a job's process still runs. It may be this process's child (reaped here when it has
    ended), or a process an earlier server or job process started. A pid reused since by another
    program does not count: its command line does not name the run. (Between fork and exec a
    job process still has its launcher's command line, hence the grace after a launch.)"""
    if not job.pid:
        return False
    try:
        ended, _ = os.waitpid(job.pid, os.WNOHANG)
        if ended:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(job.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if time.time() - (job.launched or 0) < LAUNCH_GRACE_S:
        return True
    try:
        return job.run_id.encode() in Path(f"/proc/{job.pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc here: the pid is taken to be the job's


def queued_in_order(jobs: list[Job]) -> list[Job]:
    return sorted((j for j in jobs if j.state == "queued"), key=lambda j: (j.queued_at, j.run_id))


def queue_position(jobs: list[Job], run_id: str) -> int | None:
    """1 for the next plan to start."""
    order = [j.run_id for j in queued_in_order(jobs)]
    return order.index(run_id) + 1 if run_id in order else None


def submit(root: Root, job: Job, prompt: str | None = None) -> None:
    """Queue a job (a new plan with its prompt, or a resumed one), then start what may start."""
    with root.locked():
        current = root.load(job.run_id)
        if current is not None and (current.state == "queued" or (
                current.state == "running" and process_alive(current))):
            raise InputError(f"run {job.run_id} is {current.state} already")
        if prompt is not None:
            write_whole(root.prompt_path(job.run_id), prompt)
        job.state, job.queued_at, job.cancelled = "queued", time.time(), False
        root.save(job)
    dispatch(root)


def dispatch(root: Root) -> list[str]:
    """Mark the jobs whose process is gone as ended; launch queued jobs into the free slots."""
    with root.locked():
        jobs = root.jobs()
        running = 0
        for job in jobs:
            if job.state != "running":
                continue
            if process_alive(job):
                running += 1
            else:  # killed without a word (its job process records the end of a run it saw end)
                job.state, job.ended = "ended", time.time()
                root.save(job)
        started = []
        for job in queued_in_order(jobs)[:max(0, root.max_running() - running)]:
            job.pid = _launch(root, job)
            job.state, job.launched, job.ended, job.exit_code = "running", time.time(), None, None
            job.launches += 1
            root.save(job)
            started.append(job.run_id)
    return started


def _launch(root: Root, job: Job) -> int:
    cwd = job.cwd if Path(job.cwd).is_dir() else root.path
    with open(root.log_path(job.run_id), "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", JOB_MODULE, str(root.path), job.run_id], cwd=cwd,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    return process.pid


def finish(root: Root, run_id: str, exit_code: int) -> None:
    """Called by a job process when its `planexe-pipeline run` has ended."""
    with root.locked():
        job = root.load(run_id)
        if job is not None and job.pid == os.getpid():
            job.state, job.ended, job.exit_code = "ended", time.time(), exit_code
            root.save(job)


def stop(root: Root, run_id: str) -> str:
    """'cancelled' (it was queued), 'signalled' (SIGINT sent to its plan) or 'idle' (neither)."""
    with root.locked():
        job = root.load(run_id)
        if job is None:
            return "idle"
        if job.state == "queued":
            job.state, job.ended, job.cancelled = "ended", time.time(), True
            root.save(job)
            return "cancelled"
        if job.state == "running" and process_alive(job):
            try:
                os.killpg(job.pid, signal.SIGINT)
            except ProcessLookupError:
                return "idle"
            return "signalled"
    return "idle"


def wait_for_end(root: Root, run_id: str, timeout_s: float) -> bool:
    """Whether the job's process ended within timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = root.load(run_id)
        if job is None or job.state != "running" or not process_alive(job):
            return True
        time.sleep(0.1)
    return False


def run_command(root: Root, job: Job) -> list[str]:
    """The one way to run a plan, the same at every launch: a rerun of it resumes."""
    argv = [sys.executable, "-m", "planexe_pipeline", "run", "--run-dir", str(root.run_dir(job.run_id)),
            "--prompt-file", str(root.prompt_path(job.run_id)), "--speed", job.speed, "--workers", str(job.workers)]
    for model in job.models:
        argv += ["--llm", model]
    if job.llm_config:
        argv += ["--llm-config", job.llm_config]
    if job.start_date:
        argv += ["--start-date", job.start_date]
    if job.budget_usd is not None:
        argv += ["--budget", repr(job.budget_usd)]
    return argv
