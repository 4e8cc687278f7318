"""luigid and `planexe-pipeline run --scheduler-host` workers as subprocesses, for the scale-out tests.

Each process gets a session of its own, so a test can SIGKILL a worker with every task process
it forked (its process group), as a dying machine would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from support.plan_runs import LIGHT_EXPORTS, REPO, START_DATE, cli_env, poll

from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import TaskEvent

CLI = [sys.executable, "-m", "planexe_pipeline"]
PROMPT_ID = "bakery-lyon"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def stop(proc: subprocess.Popen, grace_s: float = 10) -> None:
    """Terminate, then kill on timeout (its whole session: a worker's forked task processes too)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace_s)
    except ProcessLookupError:
        pass


def scale_out_env(folder: Path, **settings: float) -> dict[str, str]:
    """The CLI's environment with a luigi.cfg of its own: [scale_out] settings for luigid and workers,
    and the exports the tests' plans write (tests/conftest.py)."""
    cfg = folder / "scale_out_luigi.cfg"
    cfg.write_text("[scale_out]\n" + "".join(f"{key} = {value}\n" for key, value in settings.items())
                   + f"[export]\nformats = {LIGHT_EXPORTS}\n")
    return cli_env(LUIGI_CONFIG_PATH=str(cfg))


def start_luigid(port: int, state_dir: Path, log: Path, llm_slots: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`planexe-pipeline scheduler` on 127.0.0.1:port, returned once it answers."""
    with open(log, "ab") as out:
        proc = subprocess.Popen([*CLI, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                 "--state-dir", str(state_dir), "--llm-slots", str(llm_slots)],
                                cwd=REPO, env=env or cli_env(), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        poll(lambda: port_answers(port), 30, "luigid answering on its port", every=0.05,
             give_up=lambda: proc.poll() is not None and f"luigid exited {proc.returncode}: {log.read_text()[-2000:]}")
    except BaseException:
        stop(proc)
        raise
    return proc


@dataclass
class Worker:
    proc: subprocess.Popen
    out: Path
    err: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def finish(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=max(1.0, timeout))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker {self.pid} still running after {timeout:.0f} s: "
                                 f"{self.err.read_text()[-2000:]}") from None


def start_worker(run_dir: Path, config: Path, port: int, logs: Path, name: str, processes: int = 3,
                 env: dict[str, str] | None = None) -> Worker:
    argv = [*CLI, "run", "--prompt-id", PROMPT_ID, "--run-dir", str(run_dir), "--speed", "fast",
            "--start-date", START_DATE, "--workers", str(processes), "--scheduler-host", "127.0.0.1",
            "--scheduler-port", str(port), "--llm-config", str(config), "--llm", "paced"]
    out, err = logs / f"{name}.out", logs / f"{name}.err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen(argv, cwd=REPO, env=env or cli_env(), stdout=fo, stderr=fe,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return Worker(proc, out, err)


def ended_ok(run_dir: Path) -> Counter:
    """How many times each task ended ok (more than once: it ran twice)."""
    return Counter(e.task_id for e in read_events(run_dir, TaskEvent) if e.is_end and e.status == "ok")


def running_on(run_dir: Path, worker_pid: int) -> list[str]:
    """Tasks the given worker has started and not ended."""
    events = read_events(run_dir, TaskEvent)
    ended = {(e.task_id, e.start) for e in events if e.is_end}
    return [e.task_id for e in events if e.event == "start" and e.worker == worker_pid
            and (e.task_id, e.start) not in ended]
