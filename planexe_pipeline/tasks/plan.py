"""Plan: the pre-project assessment and the project plan everything downstream is built from.

The project plan is the longest answer of the run and everything waits for it, so it is written
as a short outline that fixes the shared figures, then its parts at the same time, merged in
order and checked against the outline.
"""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import pre_project_assessment, project_plan, project_plan_outline, project_plan_parts
from planexe_pipeline.stages.project_plan_parts import PlanPart
from planexe_pipeline.tasks.assumptions import ConsolidateAssumptions
from planexe_pipeline.tasks.base import LLMStage
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge
from planexe_pipeline.tasks.framing import SelectScenario, VitalFewLevers
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.setup import IDEA

__all__ = ["PreProjectAssessment", "ProjectPlanOutline", "ProjectPlanPartItem", "ProjectPlan"]

# What the plan follows and respects: read as models, not as their report sections, so that no
# step of our own code stands between the strategy and the plan.
STRATEGY = {"vital": Input(VitalFewLevers, "the strategic decisions the plan must follow"),
            "selection": Input(SelectScenario, "the chosen scenario")}
ASSUMPTIONS = Input(ConsolidateAssumptions, "the figures and risks to respect")


class PreProjectAssessment(LLMStage):
    number, stem = 21, "pre_project_assessment"
    inputs = {"plan": IDEA, "assumptions_md": Input(ConsolidateAssumptions, "the assumptions to test before starting")}
    execute, to_markdown = pre_project_assessment.execute, pre_project_assessment.to_markdown


ASSESSMENT = Input(PreProjectAssessment, "what must be settled first")


class ProjectPlanOutline(LLMStage):
    number, stem = 22, "project_plan_outline"
    inputs = {"plan": IDEA, **STRATEGY, "assumptions": ASSUMPTIONS, "assessment": ASSESSMENT}
    execute, to_markdown = project_plan_outline.execute, project_plan_outline.to_markdown


class ProjectPlanPartItem(FanOutItem[PlanPart]):
    """One part of the project plan, written from the outline; the parts are ours, so the list is static."""

    number, stem = 23, "project_plan"
    result_model = project_plan_parts.PlanPartResult
    capped_when_fast = False
    inputs = {"plan": IDEA,
              "outline": Input(ProjectPlanOutline, "the figures and items every part must agree with"),
              **STRATEGY, "assumptions": ASSUMPTIONS, "assessment": ASSESSMENT}
    execute = project_plan_parts.execute

    def all_items(self):
        return project_plan_parts.PARTS


class ProjectPlan(FanOutMerge):
    item_task = ProjectPlanPartItem
    section = Section("project-plan", "Project plan", position=40)
    merge_inputs = {"outline": Input(ProjectPlanOutline, "the ids and figures the parts are joined to and checked against")}
    execute, to_markdown = project_plan.build_plan, project_plan.to_markdown
