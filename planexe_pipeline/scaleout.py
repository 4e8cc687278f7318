"""Many workers, one plan: Luigi's central scheduler (luigid) and the workers that share it.

Every `planexe-pipeline run --scheduler-host H` is an *assistant* worker: it may run any
pending task of the plan, including fan-out items that another worker's merge yielded (a
plain Luigi worker only runs tasks it discovered itself, so the items of a fan-out would all
land on the one machine that ran the merge). An assistant would never stop on its own; ours
stops once the plan is complete, once a task of the plan has failed, or when luigid has
nothing left for it to run although the plan is not complete (stale scheduler state).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import luigi
import luigi.interface
import luigi.worker
from luigi.cmdline import luigid

from planexe_pipeline.telemetry.events import failed_tasks, read_events

# Nothing pending or running in this worker's view while the plan's last task is still to do
# means luigid believes a task DONE whose files are not there. That happens when a run folder is
# deleted and the same plan started again right away: for 10 s after a DONE luigid ignores a
# worker's "not done" (stable_done_cooldown_secs), so it never hands those tasks out. Waiting
# longer cannot help; stop and say so. Past the cooldown a new run's own check of the files
# sets luigid straight.
STALE_AFTER_S = 15.0
CHECK_EVERY_S = 0.5


class PlanWorker(luigi.worker.Worker):
    def __init__(self, *args, root: luigi.Task, started: float, **kwargs):
        super().__init__(*args, **kwargs)
        self._root = root
        self._started = started
        self._checked_at = 0.0
        self._finished = False
        self._idle_from: float | None = None

    def _plan_finished(self) -> bool:
        now = time.time()
        if now - self._checked_at >= CHECK_EVERY_S:
            self._checked_at = now
            failed = bool(failed_tasks(read_events(self._root.run_dir), since=self._started))
            self._finished = failed or self._root.complete()
        return self._finished

    def _keep_alive(self, get_work_response) -> bool:
        if self._plan_finished():
            return False
        if get_work_response.n_pending_tasks or get_work_response.running_tasks:
            self._idle_from = None
            return True
        now = time.time()
        self._idle_from = self._idle_from or now
        if now - self._idle_from < STALE_AFTER_S:
            return True
        print(f"planexe-pipeline: error: the central scheduler has nothing left to run but {self._root.run_dir} "
              "is not complete: it still holds an earlier run of this folder as done (a folder deleted and "
              "started again within seconds); run the same command again", file=sys.stderr, flush=True)
        return False


class PlanWorkerFactory(luigi.interface._WorkerSchedulerFactory):
    def __init__(self, root: luigi.Task):
        self.root = root
        self.started = time.time()

    def create_worker(self, scheduler, worker_processes, assistant=False):
        return PlanWorker(scheduler=scheduler, worker_processes=worker_processes, assistant=True,
                          root=self.root, started=self.started)


def serve_scheduler(host: str, port: int, state_dir: Path, llm_slots: int | None) -> None:
    """Run luigid in the foreground, its state and logs kept in state_dir."""
    # luigid logs to <logdir>/luigi-server.log and does not create the folder itself.
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    if llm_slots is not None:
        luigi.configuration.get_config().set("resources", "llm", str(llm_slots))
    # What luigid's Scheduler will hold: the config's resources, an unlisted one counting as 1.
    slots = luigi.configuration.get_config().getintdict("resources").get("llm", 1)
    print(f"Luigi central scheduler on http://{host}:{port}/ (visualiser), LLM slots: {slots}, "
          f"state in {state_dir}; stop with Ctrl-C", flush=True)
    luigid(["--address", host, "--port", str(port), "--state-path", str(state_dir / "state.pickle"),
            "--logdir", str(state_dir / "logs"), "--pidfile", str(state_dir / f"luigid-{os.getpid()}.pid")])
