"""What the one door to Luigi's internals relies on (luigi_internals.py overrides and calls,
failure_log.py reads Luigi's log), as a table the guard test checks against the installed Luigi.

`RELIED_ON` lists each member of Luigi's worker, scheduler, luigid client and worker factory that
an override or a call of the door relies on, with how: its parameters, and where Luigi's own code
calls it (an override Luigi no longer calls changes nothing, silently). The lists below it name
the attributes, settings and log lines read the same way. tests/test_luigi_internals.py names any
member a new Luigi lacks or has changed; pyproject pins Luigi to the releases this was checked on.
This module and luigi_internals.py are the door: no other module reaches past Luigi's public API.
"""

from __future__ import annotations

from dataclasses import dataclass

import luigi
import luigi.cmdline_parser
import luigi.configuration
import luigi.interface
import luigi.rpc
import luigi.scheduler
import luigi.server
import luigi.setup_logging
import luigi.worker


@dataclass(frozen=True)
class Relied:
    """A member of Luigi we override, call or read, and what we rely on about it.

    `parameters`: its first parameters after self, in order ("**kwargs" for a catch-all), as our
    override or our call has them; None for a member that is not called. `called_in`: where
    Luigi's own code calls it on what, as our override relies on ("module:Class.method@receiver",
    the receiver as written there: `self`, `self._scheduler`); `keywords`: those calls pass
    keywords only (our override takes **kwargs, or reads them)."""

    owner: object
    name: str
    parameters: tuple[str, ...] | None = None
    called_in: tuple[str, ...] = ()
    keywords: bool = False


_Worker, _Scheduler, _Remote = luigi.worker.Worker, luigi.scheduler.Scheduler, luigi.rpc.RemoteScheduler
_Factory, _State = luigi.interface._WorkerSchedulerFactory, luigi.scheduler.SimpleTaskState
_BUILD = "luigi.interface:_schedule_and_run@worker_scheduler_factory"
_GET_WORK, _WORKER_RUN = "luigi.scheduler:Scheduler.get_work@self", "luigi.worker:Worker.run@self"
RELIED_ON: tuple[Relied, ...] = (
    # The worker (WorkerHooks): made with scheduler=, worker_processes=, assistant= and [worker] settings.
    Relied(_Worker, "__init__", ("scheduler", "worker_id", "worker_processes", "assistant", "**kwargs")),
    Relied(_Worker, "add", ("task", "multiprocess", "processes"),
           ("luigi.interface:_schedule_and_run@worker", "luigi.worker:Worker._handle_next_task@self")),
    Relied(_Worker, "run", (), ("luigi.interface:_schedule_and_run@worker",)),
    Relied(_Worker, "__exit__", ("type", "value", "traceback")),
    Relied(_Worker, "_add_task", ("*args", "**kwargs"),
           ("luigi.worker:Worker._add@self", "luigi.worker:Worker._handle_next_task@self"), keywords=True),
    Relied(_Worker, "_add", ("task", "is_complete"), ("luigi.worker:Worker.add@self",)),
    Relied(_Worker, "_handle_next_task", (), (_WORKER_RUN,)),
    Relied(_Worker, "_get_work", (), (_WORKER_RUN,)),
    Relied(_Worker, "_run_task", ("task_id",), (_WORKER_RUN,)),
    Relied(_Worker, "_create_task_process", ("task",), ("luigi.worker:Worker._run_task@self",)),
    Relied(_Worker, "_keep_alive", ("get_work_response",), (_WORKER_RUN,)),
    Relied(luigi.worker.TaskStatusReporter, "__init__", ("scheduler", "task_id", "worker_id", "scheduler_messages")),
    Relied(luigi.worker.TaskProcess, "__init__", ("task", "worker_id", "result_queue", "status_reporter")),
    Relied(luigi.worker.TaskProcess, "run", ()),  # a pooled member runs its task process in itself
    # Enters [worker] task_process_context (dispatch_clock.ProcessStamp) with the task process.
    Relied(luigi.worker.ContextManagedTaskProcess, "__init__", ("context", "*args", "**kwargs")),
    # The scheduler (SchedulerHooks): local, and luigid's (luigi.server.run loads its state).
    Relied(_Scheduler, "__init__", ("config", "resources", "task_history_impl", "**kwargs")),
    Relied(_Scheduler, "load", (), ("luigi.server:run@scheduler",)),
    Relied(_Scheduler, "prune", (), (_GET_WORK,)),
    Relied(_Scheduler, "count_pending", ("worker",), (_GET_WORK,)),
    Relied(_Scheduler, "add_task", ("task_id", "status")),
    Relied(_Scheduler, "ping", ("**kwargs",)),
    Relied(_Scheduler, "get_work", ("host", "assistant", "current_tasks", "worker", "**kwargs")),
    Relied(_Scheduler, "_rank", ("task",), (_GET_WORK,)),
    Relied(_Scheduler, "_upstream_status", ("task_id", "upstream_status_table"),
           ("luigi.scheduler:Scheduler.count_pending@self",)),
    Relied(_Scheduler, "re_enable_task", ("task_id",)),
    Relied(_Scheduler, "task_list", ("status", "upstream_status")),
    Relied(_Scheduler, "dep_graph", ("task_id", "include_done")),
    Relied(_Scheduler, "resource_list", ()),
    Relied(_State, "get_task", ("task_id",)),
    Relied(_State, "get_active_task_count_for_status", ("status",)),
    Relied(_State, "set_status", ("task", "new_status", "config")),
    Relied(_State, "get_active_workers", ()),
    # luigid's client (RetryingRemoteScheduler): the worker's calls it answers.
    Relied(_Remote, "__init__", ("url", "connect_timeout")),
    Relied(_Remote, "ping", ("**kwargs",), ("luigi.worker:KeepAliveThread.run@self._scheduler",),
           keywords=True),
    Relied(_Remote, "get_work", ("host", "assistant", "current_tasks", "worker", "**kwargs"),
           ("luigi.worker:Worker._get_work@self._scheduler",), keywords=True),
    Relied(_Remote, "_fetch", ("url_suffix", "body"), ("luigi.rpc:RemoteScheduler._request@self",)),
    Relied(luigi.rpc, "_urljoin", ("base", "url")),
    # What luigi.build() makes its scheduler and worker with (WorkerSchedulerFactory).
    Relied(_Factory, "create_local_scheduler", (), (_BUILD,)),
    Relied(_Factory, "create_remote_scheduler", ("url",), (_BUILD,)),
    Relied(_Factory, "create_worker", ("scheduler", "worker_processes", "assistant"), (_BUILD,)),
    # Luigi's own command line (command_line.py): the factory it makes, the task it was asked for.
    Relied(luigi.interface, "_WorkerSchedulerFactory"),
    Relied(luigi.cmdline_parser.CmdlineParser, "get_instance", ()),
    Relied(luigi.cmdline_parser.CmdlineParser, "get_task_obj", ()),
    # luigid as `planexe-pipeline scheduler` runs it; the config files; a parameter's declared default.
    Relied(luigi.server, "run", ("api_port", "address", "unix_socket", "scheduler")),
    Relied(luigi.setup_logging.DaemonLogging, "setup", ("opts",)),
    Relied(luigi.configuration.LuigiConfigParser, "_config_paths"),
)
# Attributes set on instances in __init__, checked on ones the guard test makes.
WORKER_ATTRIBUTES = ("_running_tasks", "_scheduled_tasks", "_task_result_queue", "_config", "_scheduler", "_id",
                     "worker_processes")
SCHEDULER_ATTRIBUTES = ("_state", "_config")
REMOTE_SCHEDULER_ATTRIBUTES = ("_fetcher", "_url", "_connect_timeout")
SCHEDULED_TASK_ATTRIBUTES = ("status", "scheduler_disable_time")  # luigi.scheduler.Task
SCHEDULER_WORKER_ATTRIBUTES = ("last_active",)  # luigi.scheduler.Worker
PARAMETER_ATTRIBUTES = ("_default",)
# What Luigi's worker reads of a task process (worker_pool.PooledTaskProcess stands in for one).
TASK_PROCESS_MEMBERS = ("task", "start", "is_alive", "exitcode", "terminate", "pid", "timeout_time",
                        "worker_timeout", "status_reporter", "use_multiprocessing")
GET_WORK_FIELDS = ("task_id", "running_tasks", "n_pending_tasks")  # luigi.worker.GetWorkResponse
# [worker] and [scheduler] settings we pass or read (luigi.worker.worker, luigi.scheduler.scheduler).
WORKER_SETTINGS = ("wait_interval", "task_process_context", "force_multiprocessing", "timeout")
SCHEDULER_SETTINGS = ("prune_on_get_work", "record_task_history", "state_path", "worker_disconnect_delay",
                      "retry_delay", "retry_count", "stable_done_cooldown_secs", "metrics_collector")


# Luigi's logger; the headline it puts above a complete() that raised (in luigi/worker.py, with
# the traceback in the message itself); a task process logs a task that failed with the task among
# the record's arguments (failure_log.py reads all three).
LUIGI_LOGGER = "luigi-interface"
COMPLETE_FAILED = " or any dependencies due to error in complete() method:\n"
TASK_FAILED = '"[pid %s] Worker %s failed    %s", os.getpid(), self.worker_id, self.task'
