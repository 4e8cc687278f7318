"""The whole plan as Luigi tasks: `luigi --module planexe_pipeline.pipeline FullPlan ...`.

Every task class is importable from here, so any stage (or one fan-out item) can be run on
its own from the luigi command line.
"""

from __future__ import annotations

from planexe_pipeline.luigi_internals import one_line_failures
from planexe_pipeline.tasks.base import PLAN_TASKS, PlanTask
from planexe_pipeline.tasks.priorities import expected_call_seconds, priority_table, remaining_path_seconds
from planexe_pipeline.tasks.report import FullPlan, Report

__all__ = ["FullPlan", "Report", "REMAINING_SECONDS", "EXPECTED_SECONDS", *PLAN_TASKS]
globals().update(PLAN_TASKS)

# Expected seconds from each task's start to the end of the plan, and the priorities they give.
# Computed at import, so a graph that cannot be walked fails loudly instead of scheduling at 0.
REMAINING_SECONDS = remaining_path_seconds(FullPlan(run_dir="/nonexistent-template-run"))
# Expected seconds of each task's own LLM call: what the progress display scales its ETA by.
EXPECTED_SECONDS = {family: expected_call_seconds(cls) for family, cls in PLAN_TASKS.items()}
PlanTask.priorities = priority_table(REMAINING_SECONDS)
one_line_failures()  # a step run from Luigi's command line that fails on our error ends in that line
