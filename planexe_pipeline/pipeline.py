"""The whole plan as Luigi tasks: `luigi --module planexe_pipeline.pipeline FullPlan ...`.

Every task class is importable from here, so any stage (or one fan-out item) can be run on
its own from the luigi command line. The plan's graph (tasks/graph.py) is built here, once, from
the root: a declaration it cannot be built from fails at import, not in a run.
"""

from __future__ import annotations

import sys

from planexe_pipeline.command_line import CommandLineFactory
from planexe_pipeline.failure_log import one_line_failures
from planexe_pipeline.luigi_internals import make_workers_for_command_line
from planexe_pipeline.prompt_input import read_fingerprint
from planexe_pipeline.tasks import revision
from planexe_pipeline.tasks.base import PLAN_TASKS, PlanTask
from planexe_pipeline.tasks.full_plan import FullPlan
from planexe_pipeline.tasks.graph import PlanGraph
from planexe_pipeline.tasks.report import Report

__all__ = ["FullPlan", "Report", "PLAN", "REMAINING_SECONDS", *PLAN_TASKS]
globals().update(PLAN_TASKS)

PLAN = PlanGraph.build(FullPlan)
# Expected seconds from each task's start to the end of the plan. Luigi's priority of a task is
# this remaining path: when slots are scarce the long chains start first, and the short side
# branches fill the gaps. (Luigi raises a task's priority to its dependents', which a remaining
# path allows: an upstream task has at least as much left as anything after it.)
REMAINING_SECONDS = PLAN.remaining_seconds()
PlanTask.priorities = {family: int(round(seconds)) for family, seconds in REMAINING_SECONDS.items()}
one_line_failures()  # a step run from Luigi's command line that fails on our error ends in that line
make_workers_for_command_line(CommandLineFactory)  # a plan run from it is run and recorded as `run` does


def check_folder_on_first_look(task: PlanTask) -> None:
    """Before Luigi's own command line first looks at a plan's folder: the same check of edits and
    stale outputs as `planexe-pipeline run` makes before it starts (runner.py), once per process."""
    if revision.checked(task.run_dir) or task.task_family not in PLAN.nodes:
        return
    revision.mark_checked(task.run_dir)
    if read_fingerprint(task.run_dir) is None:
        return  # a new plan: nothing to revise
    found = revision.plan_revision(PLAN, task.run_dir)
    for line in [found.line(), *found.notes()]:
        if line:
            print(f"planexe_pipeline: {line}", file=sys.stderr, flush=True)
    revision.apply(found, PLAN, record_unrecorded=False)


PlanTask.check_folder = check_folder_on_first_look
