"""The one door to Luigi's internals: every step of Luigi we change, and every member of it we
reach that Luigi does not promise to keep.

The worker (worker.py), the scaled-out worker and scheduler (scaleout.py), the pool of task
processes (worker_pool.py) and the packaged defaults (defaults.py) change how Luigi dispatches
tasks, talks to luigid and reads its config. Every Luigi method they change is overridden here
only, and routed to a hook with a name of ours (`prune` -> `prune_state`, `_rank` -> `rank`);
their state is read and changed through accessors of ours. What each override and call relies on
(its parameters, and where Luigi's own code calls it) is listed in luigi_relied_on.py, the other
module of the door; tests/test_luigi_internals.py names any member a new Luigi lacks or has
changed, any override here that is not listed there, and any module but these two that overrides
a member of Luigi or reaches past its public API.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import luigi
import luigi.cmdline_parser
import luigi.configuration
import luigi.interface
import luigi.rpc
import luigi.scheduler
import luigi.worker
from luigi.task_status import DISABLED, PENDING


def declared_default(parameter: luigi.Parameter) -> Any:
    """The default a luigi.Config parameter is declared with (not what a config file sets)."""
    return parameter._default


def make_workers_for_command_line(factory: type) -> None:
    """Luigi's own command line (`luigi --module ... Task`) makes its scheduler and worker with
    `factory` instead of Luigi's own: it takes no factory of ours, and has no other hook."""
    luigi.interface._WorkerSchedulerFactory = factory


def command_line_root() -> luigi.Task | None:
    """The task Luigi's command line was asked to run; None outside a command line (luigi.build)."""
    parser = luigi.cmdline_parser.CmdlineParser.get_instance()
    return parser.get_task_obj() if parser is not None else None


def config_paths() -> list[str]:
    """The config files Luigi reads, in order (a later one overrides an earlier one key by key)."""
    return luigi.configuration.LuigiConfigParser._config_paths


class WorkerHooks(luigi.worker.Worker):
    """Luigi's worker, every step of it we change turned into a hook or an accessor of ours."""

    # -- what the worker holds --------------------------------------------------------------
    @property
    def running_tasks(self) -> dict:
        return self._running_tasks

    @property
    def scheduled_tasks(self) -> dict:
        return self._scheduled_tasks

    @property
    def result_queue(self):
        return self._task_result_queue

    @result_queue.setter
    def result_queue(self, queue) -> None:
        self._task_result_queue = queue

    @property
    def scheduler(self):
        return self._scheduler

    @property
    def worker_id(self) -> str:
        return self._id

    @property
    def worker_config(self):
        return self._config

    def status_reporter(self, task_id: str):
        return luigi.worker.TaskStatusReporter(self._scheduler, task_id, self._id, None)

    def tell_scheduler(self, **kwargs) -> None:
        """Tell the scheduler a task's status, as the worker's own steps do."""
        self._add_task(**kwargs)

    # -- hooks, for subclasses --------------------------------------------------------------
    def add_task_tree(self, task: luigi.Task, **kwargs) -> bool:
        """Add a task and everything it needs (Luigi's `add`: build() calls it, and the worker
        itself for what a task yields)."""
        return super().add(task, **kwargs)

    def work(self) -> bool:
        """Run the added tasks until none is left for this worker (Luigi's `run`)."""
        return super().run()

    def on_exit(self, interrupted: bool) -> None:
        """The worker stops (Luigi's `__exit__` follows): interrupted by an exception, or not."""

    def after_exit(self) -> None:
        """Luigi's `__exit__` is over (it terminated the tasks still running)."""

    def on_status_told(self, task_id: str, status: str) -> None:
        """A task's status is about to be told to the scheduler."""

    def keep_dependency(self, dependency: luigi.Task) -> bool:
        """Whether the walk of an added task goes on to this dependency."""
        return True

    def on_handling_result(self, handling: bool) -> None:
        """The worker starts (True) or stops (False) taking a task's result off its queue."""

    def dispatch(self, task_id: str) -> None:
        """Start the task (in a process, or here)."""
        super()._run_task(task_id)

    def make_task_process(self, task: luigi.Task):
        """What runs the task: by default Luigi's own task process."""
        return super()._create_task_process(task)

    def keep_alive(self, get_work_response) -> bool:
        """Whether the worker waits for more work when the scheduler has none for it now."""
        return super()._keep_alive(get_work_response)

    def ask_for_work(self):
        return super()._get_work()

    # -- Luigi's steps, routed to the hooks ---------------------------------------------------
    def add(self, task, multiprocess=False, processes=0):
        return self.add_task_tree(task, multiprocess=multiprocess, processes=processes)

    def run(self):
        return self.work()

    def __exit__(self, type, value, traceback):  # noqa: A002 - Luigi's own parameter names
        self.on_exit(interrupted=type is not None)
        try:
            return super().__exit__(type, value, traceback)
        finally:
            self.after_exit()

    def _add_task(self, *args, **kwargs):
        self.on_status_told(kwargs.get("task_id"), kwargs.get("status"))
        return super()._add_task(*args, **kwargs)

    def _add(self, task, is_complete) -> Iterator[luigi.Task]:
        for dependency in super()._add(task, is_complete):
            if self.keep_dependency(dependency):
                yield dependency

    def _handle_next_task(self):
        self.on_handling_result(True)
        try:
            return super()._handle_next_task()
        finally:
            self.on_handling_result(False)

    def _get_work(self):
        return self.ask_for_work()

    def _run_task(self, task_id):
        return self.dispatch(task_id)

    def _create_task_process(self, task):
        return self.make_task_process(task)

    def _keep_alive(self, get_work_response):
        return self.keep_alive(get_work_response)


def run_in_this_process(task_process) -> None:
    """A task process that runs its task here, in the worker, instead of in a process of its own."""
    task_process.use_multiprocessing = False


class SchedulerHooks(luigi.scheduler.Scheduler):
    """Luigi's scheduler, every step of it we change turned into a hook, its state read and
    changed through accessors of ours."""

    # -- what the scheduler holds ---------------------------------------------------------------
    def task_status(self, task_id: str) -> str | None:
        task = self._state.get_task(task_id)
        return None if task is None else task.status

    def tasks_with_status(self, status: str) -> int:
        return self._state.get_active_task_count_for_status(status)

    def disable(self, task_id: str) -> None:
        """Disable a task as the scheduler disables one that failed too often: a worker that adds
        it again cannot put it back to pending, `re_enable_task` does."""
        task = self._state.get_task(task_id)
        self._state.set_status(task, DISABLED, self._config)
        task.scheduler_disable_time = time.time()

    def workers_seen_now(self) -> None:
        """Every worker the scheduler knows counts as heard from now (its disconnect delay starts over)."""
        now = time.time()
        for worker in self._state.get_active_workers():
            worker.last_active = now

    # -- hooks, for subclasses ------------------------------------------------------------------
    def load_state(self) -> None:
        """Read the saved state (Luigi's `load`: luigid calls it once, as it starts)."""
        super().load()

    def prune_state(self) -> None:
        """Drop workers gone silent, hand their tasks back, re-enable and retry what is due
        (Luigi's `prune`: called on every get_work with prune_on_get_work, and by the listings)."""
        super().prune()

    def pending_count(self, worker: str) -> dict:
        """The worker's pending and running tasks (Luigi's `count_pending`: every get_work ends on it)."""
        return super().count_pending(worker)

    def on_task_added(self, task_id: str, status: str) -> None:
        """A worker told the scheduler a task's status (after the scheduler took it in)."""

    def reply_extras(self) -> dict:
        """What a ping and a get_work answer carry besides Luigi's own keys."""
        return {}

    def rank(self, task) -> tuple:
        """Which runnable task is handed out first (the largest): by default its priority, then
        the earliest added."""
        return super()._rank(task)

    def upstream_status(self, task_id, upstream_status_table) -> str:
        return super()._upstream_status(task_id, upstream_status_table)

    def plan_upstream_status(self, task_id, upstream_status_table) -> str:
        """Hook: the status that counts against a pending task from upstream."""
        return self.upstream_status(task_id, upstream_status_table)

    # -- Luigi's steps, routed to the hooks -------------------------------------------------------
    def load(self):
        self.load_state()

    def prune(self):
        self.prune_state()

    def count_pending(self, worker):
        return self.pending_count(worker)

    def add_task(self, task_id=None, status=PENDING, **kwargs):
        added = super().add_task(task_id=task_id, status=status, **kwargs)
        self.on_task_added(task_id, status)
        return added

    def ping(self, **kwargs):
        return {**super().ping(**kwargs), **self.reply_extras()}

    def get_work(self, host=None, assistant=False, current_tasks=None, worker=None, **kwargs):
        reply = super().get_work(host=host, assistant=assistant, current_tasks=current_tasks, worker=worker, **kwargs)
        return {**reply, **self.reply_extras()}

    def _rank(self, task):
        return self.rank(task)

    def _upstream_status(self, task_id, upstream_status_table):
        return self.plan_upstream_status(task_id, upstream_status_table)


class RetryingRemoteScheduler(luigi.rpc.RemoteScheduler):
    """luigid's client, each request tried again every `every_s` until `patience(url_suffix)` has passed."""

    every_s = 1.0

    def patience(self, url_suffix: str) -> float:
        return 0.0

    def gave_up(self, url: str, patience: float) -> Exception:
        return luigi.rpc.RPCError(f"{url} did not answer for {patience:.0f} s")

    def unanswered(self) -> None:
        """Hook: a try got no answer (luigid down, starting again, or out of reach)."""

    def heard(self, reply):
        """Hook: luigid answered a ping or a get_work with this; what the worker gets."""
        return reply

    # The worker calls both with keywords only (luigi_relied_on.RELIED_ON says where).
    def ping(self, **kwargs):
        return self.heard(super().ping(**kwargs))

    def get_work(self, **kwargs):
        return self.heard(super().get_work(**kwargs))

    def _fetch(self, url_suffix, body):
        patience = self.patience(url_suffix)
        give_up = time.monotonic() + patience
        while True:
            try:
                return self._fetcher.fetch(luigi.rpc._urljoin(self._url, url_suffix), body, self._connect_timeout)
            except self._fetcher.raises:
                self.unanswered()
                if time.monotonic() >= give_up:
                    raise self.gave_up(self._url, patience) from None
                time.sleep(self.every_s)


class WorkerSchedulerFactory(luigi.interface._WorkerSchedulerFactory):
    """What luigi.build() makes its scheduler and worker with."""

    def make_local_scheduler(self):
        return super().create_local_scheduler()

    def make_remote_scheduler(self, url: str):
        return super().create_remote_scheduler(url)

    def make_worker(self, scheduler, worker_processes: int, assistant: bool):
        return super().create_worker(scheduler, worker_processes, assistant)

    def create_local_scheduler(self):
        return self.make_local_scheduler()

    def create_remote_scheduler(self, url):
        return self.make_remote_scheduler(url)

    def create_worker(self, scheduler, worker_processes, assistant=False):
        return self.make_worker(scheduler, worker_processes, assistant)
