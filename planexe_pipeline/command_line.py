"""A plan run from Luigi's own command line (`luigi --module planexe_pipeline.pipeline FullPlan
--run-dir R --workers N --local-scheduler`) is a run like any other: the plan's worker runs it
(worker.py), it writes the same run lines, expected work and timeline as `planexe-pipeline run`
(run_record.py), and it says where its report is. So `status`, `stats` and the timeline read it alike.

Luigi's command line takes no worker of ours; pipeline.py, the module it is given, hands it this
factory (luigi_internals.make_workers_for_command_line). Outside the command line (luigi.build with
no factory, as tests and other programs call it) the factory makes Luigi's own scheduler and worker.
"""

from __future__ import annotations

from luigi.rpc import RPCError

from planexe_pipeline.errors import PipelineError
from planexe_pipeline.luigi_internals import WorkerHooks, WorkerSchedulerFactory, command_line_root
from planexe_pipeline.run_record import RunRecord, where_the_plan_is
from planexe_pipeline.settings import observability
from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.full_plan import FullPlan
from planexe_pipeline.telemetry.resources import MemorySampler
from planexe_pipeline.worker import LocalPlanScheduler, RunStopped, TimedWorker, TimedWorkerFactory, llm_cap_of


class RecordsItsRun:
    """A worker that records the run it makes, from before its first task to its end line."""

    def __init__(self, *args, root: PlanTask, llm_slots: int | None, scaled_out: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.root, self.llm_slots, self.scaled_out = root, llm_slots, scaled_out

    def work(self) -> bool:
        root = self.root
        try:
            models = tuple(root.settings.models)
        except PipelineError:
            # Settings that cannot be resolved (a bad model entry): the plan's first task fails on
            # them with its one line, before anything is written; there is no run to record.
            return super().work()
        self.record = RunRecord(root, workers=self.worker_processes, llm_slots=self.llm_slots, models=models,
                                llm_config=root.llm_config or None, scaled_out=self.scaled_out)
        self.record.open()
        memory = MemorySampler(root.run_dir, observability().memory_sample_s)  # the timeline's memory curve
        memory.start()
        ok = False
        try:
            ok = super().work() and root.complete()
        except RunStopped:
            # A failure that ends the run (an unusable prompt): its task's line said why, and
            # Luigi's summary and exit code name the task.
            self.result_queue.cancel_join_thread()
        finally:
            memory.stop()
            self.record.close(ok)
        if ok and isinstance(root, FullPlan):
            print("\n".join(where_the_plan_is(root.run_dir)), flush=True)
        return ok


class CommandLinePlanWorker(RecordsItsRun, TimedWorker):
    """The plan's worker on Luigi's local scheduler, as `planexe-pipeline run` runs it."""


class CommandLineSharedWorker(RecordsItsRun, WorkerHooks):
    """Luigi's own worker on a central scheduler (luigid) that other workers share, its run recorded."""


class CommandLineFactory(WorkerSchedulerFactory):
    def make_local_scheduler(self):
        root = command_line_root()
        if isinstance(root, PlanTask):
            # The slots of luigi.cfg's [resources], as Luigi's own scheduler has them on this command line.
            return TimedWorkerFactory(root.run_dir).make_local_scheduler()
        return super().make_local_scheduler()

    def make_worker(self, scheduler, worker_processes, assistant):
        root = command_line_root()
        if not isinstance(root, PlanTask):
            return super().make_worker(scheduler, worker_processes, assistant)
        if isinstance(scheduler, LocalPlanScheduler):
            plan = TimedWorkerFactory(root.run_dir)
            return CommandLinePlanWorker(root=root, llm_slots=llm_cap_of(scheduler.resource_list()), scaled_out=False,
                                         **plan.worker_arguments(scheduler, worker_processes, assistant))
        try:
            slots = llm_cap_of(scheduler.resource_list())
        except RPCError:  # luigid did not answer: the cap is unknown, as `run` says of it then
            slots = None
        return CommandLineSharedWorker(root=root, llm_slots=slots, scaled_out=True, scheduler=scheduler,
                                       worker_processes=worker_processes, assistant=assistant)
