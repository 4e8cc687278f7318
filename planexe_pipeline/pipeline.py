"""The whole plan as Luigi tasks: `luigi --module planexe_pipeline.pipeline FullPlan ...`.

Every task class is importable from here, so any stage (or one fan-out item) can be run on
its own from the luigi command line. The plan's graph (tasks/graph.py) is built here, once, from
the root: a declaration it cannot be built from fails at import, not in a run.
"""

from __future__ import annotations

from planexe_pipeline.luigi_internals import one_line_failures
from planexe_pipeline.tasks.base import PLAN_TASKS, PlanTask
from planexe_pipeline.tasks.graph import PlanGraph
from planexe_pipeline.tasks.report import FullPlan, Report

__all__ = ["FullPlan", "Report", "PLAN", "REMAINING_SECONDS", "EXPECTED_SECONDS", *PLAN_TASKS]
globals().update(PLAN_TASKS)

PLAN = PlanGraph.build(FullPlan)
# Expected seconds from each task's start to the end of the plan. Luigi's priority of a task is
# this remaining path: when slots are scarce the long chains start first, and the short side
# branches fill the gaps. (Luigi raises a task's priority to its dependents', which a remaining
# path allows: an upstream task has at least as much left as anything after it.)
REMAINING_SECONDS = PLAN.remaining_seconds()
# Expected seconds of each task's own LLM call: what the progress display scales its ETA by.
EXPECTED_SECONDS = {family: node.expected_s for family, node in PLAN.nodes.items()}
PlanTask.priorities = {family: int(round(seconds)) for family, seconds in REMAINING_SECONDS.items()}
one_line_failures()  # a step run from Luigi's command line that fails on our error ends in that line
