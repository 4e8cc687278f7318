"""Damaged files under finished steps: found on resume, so the run redoes them.

Luigi looks no further down the graph than a task that is complete, so a file that was
truncated or edited out of shape below a finished step (or in a finished plan) would never be
looked at again. A resume looks at every task of the run folder's graph (tasks/graph.py) whose
files are all written and names those that do not read back; the runner asks Luigi for them
beside the plan itself.
"""

from __future__ import annotations

import os

import luigi

from planexe_pipeline.tasks.graph import PlanGraph
from planexe_pipeline.tasks.run_io import is_stale


def unreadable_tasks(graph: PlanGraph, run_dir: str) -> list[luigi.Task]:
    """Tasks whose outputs all exist but do not read back (not those to be made again anyway: a
    revision's stale tasks). A fan-out whose list does not read back counts no items: the list
    itself is the damaged one."""
    run = graph.instances(run_dir, guess=lambda item, widths: 0)
    found = []
    for key in run.deps:
        task = run.task(key, run_dir)
        outputs = luigi.task.flatten(task.output())
        if outputs and all(os.path.exists(t.path) for t in outputs) and not is_stale(task) and not task.complete():
            found.append(task)
    return found
