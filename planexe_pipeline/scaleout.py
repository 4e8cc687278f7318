"""Many workers, one plan: Luigi's central scheduler (luigid) and the workers that share it.

Every `planexe-pipeline run --scheduler-host H` is an *assistant* worker: it may run any
pending task of the plan, including fan-out items that another worker's merge yielded (a
plain Luigi worker only runs tasks it discovered itself, so the items of a fan-out would all
land on the one machine that ran the merge). An assistant would never stop on its own; ours
stops once the plan is complete, once a task of the plan has failed, or when luigid has
nothing left for it to run although the plan is not complete.

Machines die. A worker that stops pinging luigid for `[scale_out] worker_disconnect_delay`
seconds is dropped and the tasks it was running go back to pending (`retry_delay` later) for
the surviving workers; the worker that picks one up records a `takeover` telemetry line. A task
that failed on its own is not handed out again: every worker stops on it, as a local run does.
A worker keeps retrying a luigid that went away for `scheduler_patience` seconds, then stops with
one line. A luigid started again may have lost the plan (killed, it saved no state): each worker
that finds a new luigid (a call that went unanswered, or a new `scheduler_instance` in an answer)
tells it the tasks it is running, then the whole plan again. A worker luigid hands nothing while
nothing of the plan runs anywhere backs off and, after `no_work_patience`, stops (no_work.py).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

import luigi
import luigi.interface
import luigi.rpc
import luigi.scheduler
import luigi.server
from luigi.setup_logging import DaemonLogging
from luigi.task_status import DISABLED, DONE, FAILED, RUNNING

from planexe_pipeline.luigi_internals import (RetryingRemoteScheduler, WorkerSchedulerFactory)
from planexe_pipeline.no_work import NoWorkWait, plan_counts, waiting_for
from planexe_pipeline.settings import scale_out
from planexe_pipeline.telemetry.event_log import EventFollower, append_event, host_label
from planexe_pipeline.telemetry.events import NoWorkEvent, TakeoverEvent, TaskEvent
from planexe_pipeline.worker import StepsBeforeCalls, TimedWorker

# Nothing of the plan pending or running in luigid's view while the plan is not complete: luigid
# forgot the plan without a worker noticing it went away. Telling it the plan again fixes that.
TELL_AGAIN_EVERY_S = 2.0
CHECK_EVERY_S = 0.5
# What a worker that runs nothing and gets nothing asks luigid, at most this often: is any task of
# the plan running anywhere (the tasks running on another worker are not all in its answers).
LOOK_FOR_RUNNING_EVERY_S = 1.0
# In ping and get_work answers of `planexe-pipeline scheduler`: which start of luigid answered.
INSTANCE_KEY = "scheduler_instance"


class SchedulerGone(luigi.rpc.RPCError):
    """luigid did not answer for longer than the workers' patience."""


class PatientRemoteScheduler(RetryingRemoteScheduler):
    """Retries a call every second until luigid answers or `scheduler_patience` has passed (Luigi's
    own default is 3 tries 30 s apart: a restarted luigid sat unused for up to half a minute)."""

    def __init__(self, url: str, patience_s: float):
        super().__init__(url)
        self.patience_s = patience_s
        self._instance: str | None = None
        self._maybe_restarted = threading.Event()  # set by the keep-alive thread's pings too

    def unanswered(self) -> None:
        self._maybe_restarted.set()  # it may come back without what it was told

    def heard(self, reply):
        # A luigid started again within a second may never leave a call unanswered.
        instance = reply.get(INSTANCE_KEY) if isinstance(reply, dict) else None
        if instance is not None and instance != self._instance:
            if self._instance is not None:
                self._maybe_restarted.set()
            self._instance = instance
        return reply

    def restarted(self) -> bool:
        """Whether luigid may have started again, without what it was told, since the last look."""
        if not self._maybe_restarted.is_set():
            return False
        self._maybe_restarted.clear()
        return True

    def patience(self, url_suffix: str) -> float:
        # The keep-alive thread pings every second anyway, under a lock that starting a task also
        # needs: one try per ping, so a dead luigid never holds that lock for long.
        return 0.0 if url_suffix.endswith("/api/ping") else self.patience_s

    def gave_up(self, url: str, patience: float) -> Exception:
        return SchedulerGone(f"the central scheduler at {url} did not answer for {patience:.0f} s "
                             "([scale_out] scheduler_patience)")


class PlanScheduler(StepsBeforeCalls):
    """luigid as `planexe-pipeline scheduler` runs it."""

    def __init__(self, *args, **kwargs):
        # Luigi ignores "not done" for 10 s after a task was done, lest a worker that looked before
        # it was done run it twice. Ours look again before they run a task (PlanWorker.dispatch),
        # so that costs a round trip, not a second run; while with the cooldown, a run folder
        # deleted and started again at once had tasks handed out whose inputs luigid still held
        # done but were gone from disk ("Unfulfilled dependency").
        kwargs.setdefault("stable_done_cooldown_secs", 0)
        super().__init__(*args, **kwargs)
        self.instance = uuid.uuid4().hex

    def reply_extras(self) -> dict:
        return {INSTANCE_KEY: self.instance}

    def load_state(self):
        super().load_state()
        # The workers it knew were cut off from luigid, not dead: each gets a full disconnect delay
        # from now to call back before the tasks it runs are handed to another worker.
        self.workers_seen_now()

    def on_task_added(self, task_id, status):
        if status == FAILED and self.task_status(task_id) in (FAILED, DISABLED):
            # It failed on its own (its LLM calls used up their retries and fallbacks): running it
            # again on another worker would fail the same way. Only tasks lost with their worker
            # (failed by luigid's pruning, not reported) are retried. Disabled as luigid disables a
            # task lost with its worker more than [scale_out] retries times: the workers of this
            # run cannot put it back to pending by adding the plan again, a new `run` re-enables
            # it (PlanWorker.work).
            self.disable(task_id)


class PlanWorker(TimedWorker):
    def __init__(self, *args, root: luigi.Task, started: float, no_work_patience_s: float,
                 scheduler_restarted: Callable[[], bool] = lambda: False, **kwargs):
        super().__init__(*args, run_dir=root.run_dir, **kwargs)
        self._root = root
        self._started = started
        self._telemetry = EventFollower(root.run_dir)
        self._me = (host_label(), os.getpid())
        # task id -> (host, worker, start) of a run of it whose end line has not been seen
        self._open_runs: dict[str, tuple[str, int | None, float | None]] = {}
        self._failed = False
        self._checked_at = 0.0
        self._finished = False
        self._told_at = 0.0
        self._scheduler_restarted = scheduler_restarted
        self._no_work = NoWorkWait(patience_s=no_work_patience_s, first_pause_s=self.worker_config.wait_interval)
        self._looked_at = -LOOK_FOR_RUNNING_EVERY_S
        self._running_anywhere = False
        self._ends_seen = 0  # task end lines of the plan read so far, from every worker
        self._ends_at_ask = 0
        # Why this worker stopped before the plan was complete, when nothing failed: for the run's summary.
        self.stuck: str | None = None

    def work(self):
        # A new run of the plan is the user asking again: tasks luigid gave up on get another go.
        for task_id in self._plan_tasks(DISABLED):
            self.scheduler.re_enable_task(task_id)
        return super().work()

    # -- a luigid started again ----------------------------------------------------------------
    def on_handling_result(self, handling: bool) -> None:
        if handling:
            self._tell_again_if_restarted()  # before a merge's items are told as told already
        super().on_handling_result(handling)

    def ask_for_work(self):
        self._tell_again_if_restarted()
        self._follow_telemetry()
        self._ends_at_ask = self._ends_seen
        response = super().ask_for_work()
        self._no_work.answered(got_task=response.task_id is not None)
        return response

    def _tell_again_if_restarted(self) -> None:
        if self._scheduler_restarted():
            self._tell_again()

    def _tell_again(self) -> None:
        # luigid may hold nothing of what this worker told it. The tasks running here are told
        # first, as running here, lest luigid hand them to another worker; then the whole plan,
        # every task told again (a merge that yielded goes back to pending, runs again and yields
        # its items again, and they are told too).
        self.forget_told()
        for task_id, process in list(self.running_tasks.items()):
            task = process.task
            self.tell_scheduler(worker=self.worker_id, task_id=task_id, status=RUNNING, runnable=True,
                                family=task.task_family, module=task.task_module, params=task.to_str_params(),
                                resources=task.process_resources(), priority=task.priority)
        self._told_at = time.time()
        self.add(self._root)

    # -- dispatch --------------------------------------------------------------------------------
    def _follow_telemetry(self) -> None:
        for host, event in self._telemetry.new_events():
            if not isinstance(event, TaskEvent):
                continue
            if event.event == "start":
                self._open_runs[event.task_id] = (host, event.worker, event.start)
            elif event.event == "end":
                self._ends_seen += 1
                if self._open_runs.get(event.task_id, (None, None, None))[2] == event.start:
                    del self._open_runs[event.task_id]
                self._failed |= event.failed and (event.start or 0) >= self._started

    def dispatch(self, task_id):
        if task_id not in self.running_tasks:
            task = self.scheduled_tasks[task_id]
            if task.complete():
                # Finished by a worker that was lost before it could tell luigid: nothing is redone.
                self.tell_scheduler(worker=self.worker_id, task_id=task_id, status=DONE, runnable=False,
                                    family=task.task_family, module=task.task_module, params=task.to_str_params())
                return
            self._follow_telemetry()
            lost = self._open_runs.get(task_id)
            if lost and lost[:2] != self._me:
                self._record_takeover(task_id, *lost)
        super().dispatch(task_id)

    def _record_takeover(self, task_id: str, host: str, worker: int | None, lost_start: float | None) -> None:
        task = self.scheduled_tasks[task_id]
        append_event(self._root.run_dir, TakeoverEvent(
            task_id=task_id, task_family=task.task_family, item=getattr(task, "index", None), from_host=host,
            from_worker=worker, lost_start=lost_start, host=self._me[0], worker=self._me[1], start=time.time()))

    # -- nothing to do ---------------------------------------------------------------------------
    def result_wait_s(self, timeout: float | None) -> float | None:
        # A result of this worker's ends the wait at once; one of another worker's, when it is over.
        self._note_progress()
        return None if timeout is None else max(timeout, self._no_work.pause_s)

    def _note_progress(self) -> bool:
        """Whether a task of the plan ended since the last ask (work may be ready): the pause starts over."""
        self._follow_telemetry()
        if self._ends_seen == self._ends_at_ask:
            return False
        self._no_work.moved()
        return True

    def _pause(self) -> None:
        """Wait out the pause, or until a task of the plan ends anywhere."""
        until = time.monotonic() + self._no_work.pause_s
        while not self._note_progress() and (left := until - time.monotonic()) > 0:
            time.sleep(min(left, self.worker_config.wait_interval))

    def _plan_finished(self, fresh: bool = False) -> bool:
        now = time.time()
        if fresh or now - self._checked_at >= CHECK_EVERY_S:
            self._checked_at = now
            self._follow_telemetry()
            self._finished = self._failed or self._root.complete()
        return self._finished

    def keep_alive(self, get_work_response) -> bool:
        """Nothing runs here and luigid handed nothing: wait (the pause backs off), or stop."""
        if self._plan_finished():
            return False
        running = bool(get_work_response.running_tasks) or self._plan_running_anywhere()
        self._no_work.idle(running_anywhere=running)
        if not running:
            if self._plan_finished(fresh=True):
                return False
            if not get_work_response.n_pending_tasks and time.time() - self._told_at >= TELL_AGAIN_EVERY_S:
                self._tell_again()  # luigid holds nothing of the plan: it forgot it
            if self._no_work.report_due():
                self._record_no_work(gave_up=False)
            if self._no_work.out_of_patience:
                self.stuck = self._record_no_work(gave_up=True)
                return False
        self._pause()  # then Luigi's loop waits its [worker] wait_interval, and asks again
        return True

    def _plan_running_anywhere(self) -> bool:
        now = time.monotonic()
        if now - self._looked_at >= LOOK_FOR_RUNNING_EVERY_S:
            self._looked_at = now
            self._running_anywhere = bool(self._plan_tasks(RUNNING))
        return self._running_anywhere

    def _record_no_work(self, *, gave_up: bool) -> str:
        """A `no_work` line saying what luigid holds of the plan, and the line itself."""
        graph = self.scheduler.dep_graph(self._root.task_id, include_done=False)
        pending, _ = plan_counts(graph)
        stuck_s = self._no_work.stuck_for_s
        tasks = "1 task" if pending == 1 else f"{pending} tasks"
        line = (f"the central scheduler handed this worker nothing for {stuck_s:.0f} s while nothing of the plan ran "
                f"([scale_out] no_work_patience): {tasks} pending, {waiting_for(graph)}"
                + ("; run the same command again" if gave_up else ""))
        now = time.time()
        append_event(self._root.run_dir, NoWorkEvent(
            start=now - stuck_s, end=now, worker=self._me[1], host=self._me[0], pending=pending,
            status="gave_up" if gave_up else "waiting", reason=line))
        return line

    def _plan_tasks(self, status: str) -> dict[str, dict]:
        listed = self.scheduler.task_list(status, "")
        return {task_id: info for task_id, info in listed.items()
                if isinstance(info, dict) and (info.get("params") or {}).get("run_dir") == str(self._root.run_dir)}


class PlanWorkerFactory(WorkerSchedulerFactory):
    def __init__(self, root: luigi.Task):
        self.root = root
        self.started = time.time()
        self.worker: PlanWorker | None = None

    def make_remote_scheduler(self, url):
        return PatientRemoteScheduler(url, scale_out().scheduler_patience)

    def make_worker(self, scheduler, worker_processes, assistant):
        self.worker = PlanWorker(scheduler=scheduler, worker_processes=worker_processes, assistant=True,
                                 root=self.root, started=self.started,
                                 no_work_patience_s=scale_out().no_work_patience,
                                 scheduler_restarted=scheduler.restarted)
        return self.worker


def serve_scheduler(host: str, port: int, state_dir: Path, llm_slots: int | None) -> None:
    """Run luigid in the foreground, its state and logs kept in state_dir."""
    # luigid logs to <logdir>/luigi-server.log and does not create the folder itself.
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    config = luigi.configuration.get_config()
    # What luigid's Scheduler will hold: the config's resources, an unlisted one counting as 1.
    resources = config.getintdict("resources")
    if llm_slots is not None:
        resources["llm"] = llm_slots
    slots = resources.get("llm", 1)
    settings = scale_out()
    if not config.has_option("scheduler", "metrics_collector"):
        # Luigi's Prometheus collector: /metrics serves the luigi_task_* series of every worker's tasks.
        config.set("scheduler", "metrics_collector", "prometheus")
    # Pruning drops silent workers; luigid does it once a minute unless asked on every request.
    scheduler = PlanScheduler(state_path=str(state_dir / "state.pickle"), prune_on_get_work=True, resources=resources,
                              worker_disconnect_delay=settings.worker_disconnect_delay,
                              retry_delay=settings.retry_delay, retry_count=settings.retries + 1)
    DaemonLogging.setup(argparse.Namespace(background=False, logdir=str(state_dir / "logs")))
    print(f"Luigi central scheduler on http://{host}:{port}/ (visualiser), LLM slots: {slots}, "
          f"state in {state_dir}; a worker silent for {settings.worker_disconnect_delay:g} s is gone and "
          f"its tasks run elsewhere (at most {settings.retries} times); metrics at http://{host}:{port}/metrics; "
          "stop with Ctrl-C", flush=True)
    luigi.server.run(api_port=port, address=host, scheduler=scheduler)
