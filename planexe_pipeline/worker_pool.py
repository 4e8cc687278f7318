"""Task processes that outlive their task: forked once, then handed one task after another.

Luigi forks a new process for every task when it runs more than one worker. The worker's
process holds the whole pipeline (llama-index, pydantic, the clients: ~110 MB), and a fork
copies its page tables: 10-30 ms on a 2-core virtual machine, paid on the critical path for
every one of its tasks, plus the new process's start-up. Here a process that finished its
task waits for the next one instead of exiting, so a run forks at most as many processes as
tasks ever ran at once. Each task still runs in a process of its own, exactly as Luigi runs it
(its TaskProcess, in that process), and its result comes back on Luigi's result queue.

A member that dies (killed, out of memory) is reported by Luigi as the task's failure and is
not reused; a member whose worker died exits by itself.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import time
from typing import Any, Callable

import luigi
import luigi.worker
from luigi.scheduler import FAILED
from luigi.task_register import load_task

from planexe_pipeline.luigi_internals import run_in_this_process

# How often an idle member checks that its worker is still there.
PARENT_CHECK_S = 1.0


class _Member(multiprocessing.Process):
    def __init__(self, make_process: Callable[[luigi.Task], luigi.worker.TaskProcess], result_queue):
        super().__init__(daemon=False)
        self._inbox, self._outbox = multiprocessing.Pipe(duplex=False)
        self._make_process = make_process
        self._result_queue = result_queue
        self._worker_pid = os.getpid()
        self.kind = ""  # the process_kind of a task it ran: the libraries that task loaded are loaded

    def send(self, order: tuple | None) -> None:
        self._outbox.send(order)

    def dismiss(self) -> None:
        """Exit once the task in hand (if any) is done. Closing our end as well means a member
        that never got the order (Ctrl-C between its fork and its first order) or got half of one
        reads the end of its inbox and exits, instead of waiting for orders while this process,
        exiting, waits for it."""
        try:
            self._outbox.send(None)
        except OSError:
            pass  # it died meanwhile
        self._outbox.close()

    def run(self) -> None:  # in the member
        # Ctrl-C reaches the whole process group. The worker stops the run: it terminates the
        # members still running a task and tells the idle ones to exit. Here it only printed a
        # traceback per process over the run's own one-line message.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self._outbox.close()
        while True:
            if not self._inbox.poll(PARENT_CHECK_S):
                if os.getppid() != self._worker_pid:
                    return
                continue
            try:
                order = self._inbox.recv()
            except EOFError:
                return
            if order is None:
                # Freeing a process the size of the pipeline takes the kernel a few ms of CPU; 16
                # members ending at once took ~65 ms from the run's last steps on 2 cores. At the
                # lowest priority they end on whatever CPU the run leaves idle.
                os.nice(19)
                return
            self._run(*order)

    def _run(self, task_id: str, module: str, family: str, params: dict, stamps: dict[str, Any]) -> None:
        try:
            task = load_task(module, family, params)
            for key, value in stamps.items():
                setattr(task, key, value)
            process = self._make_process(task)
        except Exception as exc:  # the worker waits for a result: never leave it without one
            self._result_queue.put((task_id, FAILED, f"could not start {task_id}: {exc}", [], []))
            return
        run_in_this_process(process)  # it is in a process of its own: this one
        process.run()


class PooledTaskProcess:
    """What Luigi's worker keeps per running task: start, is_alive, exitcode, terminate."""

    use_multiprocessing = True

    def __init__(self, pool: "TaskProcessPool", task: luigi.Task, status_reporter, worker_timeout: int):
        self.task = task
        self.status_reporter = status_reporter
        self.worker_timeout = task.worker_timeout if task.worker_timeout is not None else worker_timeout
        self.timeout_time = time.time() + self.worker_timeout if self.worker_timeout else None
        self._pool = pool
        self._member: _Member | None = None

    def start(self) -> None:
        self._member = self._pool.assign(self.task)

    @property
    def pid(self) -> int | None:
        return self._member.pid if self._member else None

    def is_alive(self) -> bool:
        return self._member is not None and self._member.is_alive()

    @property
    def exitcode(self) -> int | None:
        return self._member.exitcode if self._member else None

    def terminate(self) -> None:
        if self._member is not None:
            self._pool.discard(self.task.task_id)
            self._member.terminate()


class TaskProcessPool:
    def __init__(self, make_process: Callable[[luigi.Task], luigi.worker.TaskProcess], result_queue):
        self._make_process = make_process
        self._result_queue = result_queue
        self._idle: list[_Member] = []
        self._busy: dict[str, _Member] = {}
        # Every member ever forked: an interruption can land between a fork and the member's
        # entry in _idle or _busy, and multiprocessing joins every live member when we exit.
        self._forked: list[_Member] = []
        self.forks_ahead = 0

    def assign(self, task: luigi.Task) -> _Member:
        kind = getattr(task, "process_kind", "")
        member = None
        while member is None and (index := self._pick(kind)) is not None:
            candidate = self._idle.pop(index)
            member = candidate if candidate.is_alive() else None
        if member is None:
            member = self._fork()
        member.kind = member.kind or kind
        stamps = {key: getattr(task, key) for key in ("dispatched_at",) if hasattr(task, key)}
        member.send((task.task_id, task.task_module, task.task_family, task.to_str_params(), stamps))
        self._busy[task.task_id] = member
        return member

    def _pick(self, kind: str) -> int | None:
        """The index in _idle of the member for a task of `kind`: the last one of that kind, else
        the last one of none; None: fork one. A task that prints the report's sections (WeasyPrint:
        0.6 s of CPU to import) finds it loaded in a process that printed before, and the plan's
        other tasks never take those processes (a call there would leave the next section to a
        process that imports it again)."""
        for wanted in dict.fromkeys((kind, "")):
            for index in range(len(self._idle) - 1, -1, -1):
                if self._idle[index].kind == wanted:
                    return index
        return None

    def _fork(self) -> _Member:
        member = _Member(self._make_process, self._result_queue)
        # Objects that exist now are never collected in the member, so its garbage collector
        # does not touch (and copy) the pages it shares with this process.
        gc.freeze()
        self._forked.append(member)
        member.start()
        return member

    @property
    def forks(self) -> int:
        return len(self._forked)

    @property
    def size(self) -> int:
        """Members for any task: those of a process_kind are left to their kind."""
        return sum(1 for member in (*self._idle, *self._busy.values()) if not member.kind)

    def add_idle_member(self) -> None:
        """Fork a member ahead of need, for a moment the worker has nothing else to do."""
        self._idle.append(self._fork())
        self.forks_ahead += 1

    def release(self, task_id: str) -> None:
        """The task's result was taken off the queue: its member is free for the next task."""
        member = self._busy.pop(task_id, None)
        if member is not None and member.is_alive():
            self._idle.append(member)

    def discard(self, task_id: str) -> None:
        self._busy.pop(task_id, None)

    def close(self) -> None:
        """Tell every member to exit once its task (if any) is done; do not wait for them.

        Waiting would add their exits (a third of a second for 16 on 2 cores) to the run's end;
        multiprocessing reaps them later, at the latest when this process exits."""
        self._idle, self._busy = [], {}
        for member in self._forked:
            if member.is_alive():
                member.dismiss()
