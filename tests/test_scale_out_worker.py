"""The scaled-out worker (PlanWorker) against a central scheduler in this process, no luigid.

Luigi's Scheduler is the object luigid serves over HTTP; here the worker calls it directly, on
small graphs of our own. This checks how the worker finds that luigid started again (by its
answers, or a call left unanswered) and what it does then: it tells the new one the tasks it runs,
then the whole plan again, the items of a fan-out it had told the lost one included. And what it
does when the scheduler hands it nothing: it waits with a pause that backs off, and stops with one
line only when nothing of the plan runs anywhere for [scale_out] no_work_patience.
"""

from __future__ import annotations

import time
from pathlib import Path

import luigi
import pytest
from luigi.task_status import DONE, RUNNING
from support.scale_out import free_port

from planexe_pipeline.no_work import LONGEST_PAUSE_S
from planexe_pipeline.scaleout import INSTANCE_KEY, PatientRemoteScheduler, PlanScheduler, PlanWorker, SchedulerGone
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import NoWorkEvent

pytestmark = pytest.mark.timeout(60)


class RestartableScheduler:
    """The central scheduler as the worker sees it; `restart()` replaces it with an empty one, as
    luigid killed with SIGKILL and started again, and tells the worker so once (`restarted`)."""

    def __init__(self, folder: Path, on_get_work=lambda scheduler: None):
        self._folder = folder
        self._on_get_work = on_get_work
        self._restarted = False
        self.restarts = 0
        self.current = self._start()

    def _start(self) -> PlanScheduler:
        return PlanScheduler(state_path=str(self._folder / "never-written.pickle"), prune_on_get_work=True,
                             record_task_history=False)

    def __getattr__(self, name):
        return getattr(self.current, name)

    def get_work(self, **kwargs):
        self._on_get_work(self.current)
        return self.current.get_work(**kwargs)

    def restart(self) -> None:
        self.current = self._start()
        self.restarts += 1
        self._restarted = True

    def restarted(self) -> bool:
        told, self._restarted = self._restarted, False
        return told


SCHEDULER: dict[str, RestartableScheduler] = {}  # the test's scheduler, for the task that restarts it


class WrittenStep(luigi.Task):
    run_dir = luigi.Parameter()

    def output(self):
        return luigi.LocalTarget(str(Path(self.run_dir) / f"{self.task_id}.txt"))

    def write(self) -> None:
        with self.output().open("w") as out:
            out.write(self.task_family)


class FanOutList(WrittenStep):
    def run(self):
        self.write()


class FanOutPart(WrittenStep):
    index = luigi.IntParameter()

    def requires(self):
        return FanOutList(run_dir=self.run_dir)

    def run(self):
        if self.index == 0:
            SCHEDULER["it"].restart()  # the scheduler forgets everything while item 0 runs
        self.write()


class FanOutJoin(WrittenStep):
    """A fan-out: yields its items in one batch once its list exists, then writes."""

    def requires(self):
        return FanOutList(run_dir=self.run_dir)

    def run(self):
        yield [FanOutPart(run_dir=self.run_dir, index=i) for i in range(3)]
        self.write()


class SlowStep(WrittenStep):
    def run(self):
        time.sleep(1.5)
        self.write()


class AfterSlowStep(WrittenStep):
    def requires(self):
        return SlowStep(run_dir=self.run_dir)

    def run(self):
        self.write()


class NeverWritten(luigi.ExternalTask):
    run_dir = luigi.Parameter()

    def output(self):
        return luigi.LocalTarget(str(Path(self.run_dir) / "never.txt"))


class WaitsForNeverWritten(WrittenStep):
    def requires(self):
        return NeverWritten(run_dir=self.run_dir)

    def run(self):
        self.write()


class RunElsewhere(WrittenStep):
    """Run by another worker: this one is never handed it."""


class WaitsForRunElsewhere(WrittenStep):
    def requires(self):
        return RunElsewhere(run_dir=self.run_dir)

    def run(self):
        self.write()


def run_worker(scheduler, root: luigi.Task, patience_s: float, processes: int = 1) -> tuple[PlanWorker, bool, float]:
    worker = PlanWorker(scheduler=scheduler, worker_processes=processes, assistant=True, root=root,
                        started=time.time(), no_work_patience_s=patience_s, scheduler_restarted=scheduler.restarted)
    began = time.monotonic()
    with worker:
        assert worker.add(root)
        worker.run()
    return worker, root.complete(), time.monotonic() - began


def test_a_scheduler_started_again_without_the_plan_is_told_it_again(tmp_path):
    """The merge has yielded its items (the worker told the scheduler they are pending) when the
    scheduler forgets everything. The worker tells the new one the whole plan again; the merge
    runs again and yields its items again, and the worker tells them again too, though it told the
    scheduler before: told to a scheduler that was lost is not told."""
    SCHEDULER["it"] = scheduler = RestartableScheduler(tmp_path)
    worker, complete, _ = run_worker(scheduler, FanOutJoin(run_dir=str(tmp_path)), patience_s=5)
    assert complete, f"the plan did not complete: {worker.stuck}"
    assert worker.stuck is None
    assert scheduler.current.task_status(FanOutJoin(run_dir=str(tmp_path)).task_id) == DONE


def test_a_task_running_when_the_scheduler_started_again_is_not_handed_to_another_worker(tmp_path):
    """The scheduler forgets everything while a task runs in one of the worker's processes. The
    worker tells the new one that task is running here before it tells the plan again, so another
    worker that asks for work meanwhile is not handed it (it would run twice)."""
    slow = SlowStep(run_dir=str(tmp_path))
    handed_to_other: list[str | None] = []

    def restart_while_slow_runs(s: PlanScheduler) -> None:
        if SCHEDULER["it"].restarts == 0:
            if s.task_status(slow.task_id) == RUNNING:
                SCHEDULER["it"].restart()
        elif not slow.complete():  # another worker asks for work while the task still runs here
            handed = s.get_work(worker="other", assistant=True, current_tasks=[])["task_id"]
            handed_to_other.append(handed)
            if handed is not None:  # it runs it too, at once
                slow.write()
                s.add_task(worker="other", task_id=handed, status=DONE)

    SCHEDULER["it"] = scheduler = RestartableScheduler(tmp_path, on_get_work=restart_while_slow_runs)
    worker, complete, _ = run_worker(scheduler, AfterSlowStep(run_dir=str(tmp_path)), patience_s=5, processes=2)
    assert complete and worker.stuck is None, worker.stuck
    assert scheduler.restarts == 1 and handed_to_other, "the scheduler was not started again while the task ran"
    assert set(handed_to_other) == {None}, f"handed to another worker: {handed_to_other}"


def test_a_new_luigid_is_noticed_once_by_its_answers_and_by_a_call_left_unanswered():
    remote = PatientRemoteScheduler(f"http://127.0.0.1:{free_port()}/", patience_s=0)
    assert not remote.restarted()
    remote.heard({"rpc_messages": [], INSTANCE_KEY: "first"})
    assert not remote.restarted(), "the first luigid a worker meets is not a restart"
    remote.heard({"rpc_messages": [], INSTANCE_KEY: "first"})
    assert not remote.restarted()
    remote.heard({"rpc_messages": [], INSTANCE_KEY: "second"})  # started again within a ping
    assert remote.restarted() and not remote.restarted(), "told once"
    with pytest.raises(SchedulerGone):  # nobody listens: it may come back without the plan
        remote.ping(worker="w")
    assert remote.restarted()


def test_a_worker_handed_nothing_while_nothing_runs_backs_off_and_stops_with_one_line(tmp_path):
    scheduler = RestartableScheduler(tmp_path)
    patience_s = 1.5
    worker, complete, took = run_worker(scheduler, WaitsForNeverWritten(run_dir=str(tmp_path)), patience_s)
    assert not complete
    assert patience_s <= took < patience_s + 3, f"stopped after {took:.1f} s, patience {patience_s} s"
    # One line naming the state: how many tasks pending, and what they wait for.
    line = worker.stuck
    assert line and "\n" not in line, line
    assert "nothing for 2 s" in line and "2 tasks pending" in line and "NeverWritten" in line, line
    assert "[scale_out] no_work_patience" in line and "run the same command again" in line, line
    # A few asks a second, not Luigi's fifty: the pause doubles from wait_interval to LONGEST_PAUSE_S.
    asks = worker.clock.totals["get_work_calls"]
    assert asks <= 6 + took / LONGEST_PAUSE_S, f"{asks} get_work calls in {took:.1f} s"
    said = sorted(read_events(tmp_path, NoWorkEvent), key=lambda e: e.end)
    assert [e.status for e in said] == ["waiting", "gave_up"], said
    assert said[-1].reason == line and said[-1].pending == 2 and said[-1].seconds >= patience_s


def test_a_worker_waiting_on_a_task_another_worker_runs_does_not_give_up(tmp_path):
    """Handed nothing for twice the patience while another worker runs the task it waits for: not
    stuck. Once the other worker is done, this one runs what it waited for."""
    elsewhere = RunElsewhere(run_dir=str(tmp_path))
    patience_s, done_after_s = 1.0, 2.5
    began = time.monotonic()

    def other_worker(s: PlanScheduler) -> None:
        s.ping(worker="other")
        if time.monotonic() - began >= done_after_s and s.task_status(elsewhere.task_id) == RUNNING:
            elsewhere.write()
            s.add_task(worker="other", task_id=elsewhere.task_id, status=DONE)

    scheduler = RestartableScheduler(tmp_path, on_get_work=other_worker)
    scheduler.add_task(worker="other", task_id=elsewhere.task_id, status=RUNNING, family=elsewhere.task_family,
                       params={"run_dir": str(tmp_path)}, runnable=True)
    worker, complete, took = run_worker(scheduler, WaitsForRunElsewhere(run_dir=str(tmp_path)), patience_s)
    assert complete and worker.stuck is None, worker.stuck
    assert took >= done_after_s
    assert not read_events(tmp_path, NoWorkEvent)
