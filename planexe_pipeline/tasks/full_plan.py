"""FullPlan: the end of a plan, once its report and its exports are written."""

from __future__ import annotations

from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.exports import EXPORTS
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.report import Report

__all__ = ["FullPlan"]


class FullPlan(PlanTask):
    """The end of the plan: every stage done, the report and the exports written."""

    group = "report"
    number = 999
    files = {"done": "999-pipeline_complete.txt"}
    inputs = {"report": Input(Report, "the plan is complete once its report and its exports are written"),
              **{task.format.name: Input(task, f"the {task.format.label} file, written beside the report")
                 for task in EXPORTS.values()}}

    def run(self):
        self.write_text("done", "pipeline complete\n")
