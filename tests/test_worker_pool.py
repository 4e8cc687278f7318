"""The plan's Luigi worker: task processes forked once and reused, a dead one reported, not awaited."""

from __future__ import annotations

import os
import signal

import luigi

from planexe_pipeline.telemetry.events import read_events
from planexe_pipeline.worker import TimedWorkerFactory


class Note(luigi.Task):
    """Writes the pid of the process that ran it, after the note before it in its chain."""

    folder = luigi.Parameter()
    chain = luigi.IntParameter()
    position = luigi.IntParameter()
    die = luigi.BoolParameter(default=False)

    @property
    def priority(self):
        return 10 if self.die else 0  # dies first, while there is work left for both workers

    def requires(self):
        return [Note(folder=self.folder, chain=self.chain, position=self.position - 1)] if self.position else []

    def output(self):
        return luigi.LocalTarget(os.path.join(self.folder, f"note-{self.chain}-{self.position}.txt"))

    def run(self):
        if self.die:
            os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
        with self.output().open("w") as fh:
            fh.write(str(os.getpid()))


def build(tasks, folder, workers):
    return luigi.build(tasks, workers=workers, local_scheduler=True, detailed_summary=True, log_level="CRITICAL",
                       worker_scheduler_factory=TimedWorkerFactory(str(folder)))


def test_processes_are_forked_once_and_run_task_after_task(tmp_path):
    # Two chains of five: never more than two tasks at once, so two processes do all ten.
    result = build([Note(folder=str(tmp_path), chain=c, position=4) for c in (0, 1)], tmp_path, workers=4)
    assert result.status.name == "SUCCESS"
    pids = {path.read_text() for path in tmp_path.glob("note-*.txt")}
    (worker,) = read_events(tmp_path, "worker")
    assert len(pids) == worker.processes_forked == 2
    assert str(os.getpid()) not in pids  # still a process of their own, not the worker's
    assert len(read_events(tmp_path, "dispatch")) == 10


def test_a_task_whose_process_dies_fails_and_the_rest_still_run(tmp_path):
    tasks = [Note(folder=str(tmp_path), chain=0, position=0, die=True),
             *(Note(folder=str(tmp_path), chain=c, position=3) for c in (1, 2))]
    result = build(tasks, tmp_path, workers=2)
    assert result.status.name == "FAILED"
    assert not (tmp_path / "note-0-0.txt").exists()
    assert len(list(tmp_path.glob("note-[12]-*.txt"))) == 8
    (worker,) = read_events(tmp_path, "worker")
    assert worker.processes_forked == 3  # the dead one was replaced, not handed more work
