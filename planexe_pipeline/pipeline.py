"""The whole plan as Luigi tasks: `luigi --module planexe_pipeline.pipeline FullPlan ...`.

Every task class is importable from here, so any stage (or one fan-out item) can be run on
its own from the luigi command line.
"""

from __future__ import annotations

from planexe_pipeline.tasks.assumptions import *  # noqa: F401,F403
from planexe_pipeline.tasks.context import *  # noqa: F401,F403
from planexe_pipeline.tasks.documents import *  # noqa: F401,F403
from planexe_pipeline.tasks.experts import *  # noqa: F401,F403
from planexe_pipeline.tasks.framing import *  # noqa: F401,F403
from planexe_pipeline.tasks.governance import *  # noqa: F401,F403
from planexe_pipeline.tasks.plan import *  # noqa: F401,F403
from planexe_pipeline.tasks.report import *  # noqa: F401,F403
from planexe_pipeline.tasks.report import Report
from planexe_pipeline.tasks.setup import Setup  # noqa: F401
from planexe_pipeline.tasks.synthesis import *  # noqa: F401,F403
from planexe_pipeline.tasks.team import *  # noqa: F401,F403
from planexe_pipeline.tasks.wbs import *  # noqa: F401,F403
from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.priorities import priority_table, remaining_path_seconds


class FullPlan(PlanTask):
    """The end of the plan: every stage done, the report written."""

    group = "report"
    number = 999
    files = {"done": "999-pipeline_complete.txt"}

    def requires(self):
        return {"report": self.clone(Report)}

    def run(self):
        self.write_text("done", "pipeline complete\n")


# Expected seconds from each task's start to the end of the plan, and the priorities they give.
# Computed at import, so a graph that cannot be walked fails loudly instead of scheduling at 0.
REMAINING_SECONDS = remaining_path_seconds(FullPlan(run_dir="/nonexistent-template-run"))
PlanTask.priorities = priority_table(REMAINING_SECONDS)
