"""The one door to Luigi's internals: every member of Luigi we use that is not its public API.

The worker (worker.py), the scaled-out worker and scheduler (scaleout.py) and the packaged
defaults (defaults.py) change how Luigi dispatches tasks, talks to luigid and reads its config.
Luigi does not promise those members across releases, so they are reached through here only:
the classes below turn each one into a hook or an accessor with a name of ours, and
`PRIVATE_MEMBERS` lists them all. pyproject pins Luigi to the releases these were tested with;
tests/test_luigi_internals.py names any member a new Luigi no longer has.
"""

from __future__ import annotations

import inspect
import logging
import time
from typing import Any, Iterator

import luigi
import luigi.cmdline_parser
import luigi.configuration
import luigi.interface
import luigi.rpc
import luigi.scheduler
import luigi.worker

from planexe_pipeline.errors import PipelineError

# (where, member) for everything below that reaches past Luigi's public API.
PRIVATE_MEMBERS: tuple[tuple[object, str], ...] = (
    (luigi.worker.Worker, "_add"), (luigi.worker.Worker, "_add_task"), (luigi.worker.Worker, "_handle_next_task"),
    (luigi.worker.Worker, "_get_work"), (luigi.worker.Worker, "_run_task"),
    (luigi.worker.Worker, "_create_task_process"), (luigi.worker.Worker, "_keep_alive"),
    (luigi.worker.TaskProcess, "use_multiprocessing"), (luigi.worker, "TaskStatusReporter"),
    (luigi.scheduler.Scheduler, "_upstream_status"), (luigi.scheduler.Scheduler, "_rank"),
    (luigi.rpc.RemoteScheduler, "_fetch"),
    (luigi.rpc, "_urljoin"), (luigi.interface, "_WorkerSchedulerFactory"),
    (luigi.configuration.LuigiConfigParser, "_config_paths"),
)
# Attributes set on instances in __init__, checked on a worker and a scheduler made for the test.
WORKER_ATTRIBUTES = ("_running_tasks", "_scheduled_tasks", "_task_result_queue", "_config", "_scheduler", "_id")
SCHEDULER_ATTRIBUTES = ("_state", "_config")
REMOTE_SCHEDULER_ATTRIBUTES = ("_fetcher", "_url", "_connect_timeout")
PARAMETER_ATTRIBUTES = ("_default",)  # checked on a Parameter made for the check

WorkerSchedulerFactory = luigi.interface._WorkerSchedulerFactory


def missing_members(worker: Any = None, scheduler: Any = None, remote: Any = None) -> list[str]:
    """Each member this project uses that the installed Luigi lacks, by its dotted name."""
    def name(owner: object) -> str:
        return getattr(owner, "__qualname__", None) or getattr(owner, "__name__", str(owner))

    def has(owner: object, member: str) -> bool:
        # An attribute a class sets from its constructor's argument of the same name counts too.
        return hasattr(owner, member) or (isinstance(owner, type) and member in inspect.signature(owner).parameters)

    found = [f"{name(owner)}.{member}" for owner, member in PRIVATE_MEMBERS if not has(owner, member)]
    for instance, members in ((worker, WORKER_ATTRIBUTES), (scheduler, SCHEDULER_ATTRIBUTES),
                              (remote, REMOTE_SCHEDULER_ATTRIBUTES)):
        if instance is not None:
            found += [f"{type(instance).__mro__[-2].__name__}.{m}" for m in members if not hasattr(instance, m)]
    found += [f"Parameter.{m}" for m in PARAMETER_ATTRIBUTES if not hasattr(luigi.Parameter(default=""), m)]
    return found


def declared_default(parameter: luigi.Parameter) -> Any:
    """The default a luigi.Config parameter is declared with (not what a config file sets)."""
    return parameter._default


# Luigi's logger, and the headline it puts above a complete() that raised (worker.py), with the
# traceback in the message itself.
LUIGI_LOGGER = "luigi-interface"
COMPLETE_FAILED = " or any dependencies due to error in complete() method:\n"


class OneLineFailures(logging.Filter):
    """Luigi logs a task that failed with its traceback, and a complete() that raised with the
    traceback in its message. Our own errors (PipelineError) carry a line that says what to do:
    that line is logged alone, once (Luigi checks a shared upstream's complete() once per task
    that needs it). Anything else (a defect) keeps its traceback."""

    def __init__(self) -> None:
        super().__init__()
        self.said: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        line = None
        if isinstance(error, PipelineError):
            task = next((a for a in record.args or () if isinstance(a, luigi.Task)), None)
            named = task is None or error.names_its_stage or error.stands_for_the_run
            line = str(error) if named else f"{task.task_family}: {error}"
            record.exc_info, record.exc_text = None, None
        elif isinstance(record.msg, str) and COMPLETE_FAILED in record.msg:
            headline, _, trace = record.msg.partition(COMPLETE_FAILED)
            error_line = _our_error(trace)
            line = f"{headline.removeprefix('Will not run ')}: {error_line}" if error_line is not None else None
        if line is None:
            return True
        record.msg, record.args = "%s", (line,)
        if line in self.said:
            return False
        self.said.add(line)
        return True


def _our_error(trace: str) -> str | None:
    """The message of a traceback's last line when it is one of our errors (a PipelineError)."""
    last = next((line for line in reversed(trace.splitlines()) if line.strip()), "")
    name, _, message = last.partition(": ")
    ours = {f"{cls.__module__}.{cls.__qualname__}" for cls in _subclasses(PipelineError)}
    return message if name in ours else None


def _subclasses(cls: type) -> list[type]:
    return [cls, *(sub for child in cls.__subclasses__() for sub in _subclasses(child))]


def one_line_failures() -> None:
    """`luigi --module planexe_pipeline.pipeline ...` ends a failed step in its one line."""
    logger = logging.getLogger(LUIGI_LOGGER)
    if not any(isinstance(f, OneLineFailures) for f in logger.filters):
        logger.addFilter(OneLineFailures())


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
    """Luigi's worker, its private steps turned into hooks and accessors of ours."""

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

    # -- Luigi's private steps, routed to the hooks -------------------------------------------
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
    """Luigi's scheduler with its state and config reachable by name."""

    @property
    def state(self):
        return self._state

    @property
    def scheduler_config(self):
        return self._config

    def upstream_status(self, task_id, upstream_status_table) -> str:
        return super()._upstream_status(task_id, upstream_status_table)

    def rank(self, task) -> tuple:
        """Which runnable task is handed out first (the largest): by default its priority, then
        the earliest added."""
        return super()._rank(task)

    def _rank(self, task):
        return self.rank(task)

    def plan_upstream_status(self, task_id, upstream_status_table) -> str:
        """Hook: the status that counts against a pending task from upstream."""
        return self.upstream_status(task_id, upstream_status_table)

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
