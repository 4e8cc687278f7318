"""Plan: the pre-project assessment and the project plan everything downstream is built from."""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import pre_project_assessment, project_plan
from planexe_pipeline.tasks.assumptions import ConsolidateAssumptions
from planexe_pipeline.tasks.base import LLMStage
from planexe_pipeline.tasks.framing import ScenariosMarkdown, StrategicDecisionsMarkdown
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.setup import PROMPT

__all__ = ["PreProjectAssessment", "ProjectPlan"]


class PreProjectAssessment(LLMStage):
    number, stem = 19, "pre_project_assessment"
    inputs = {"plan": PROMPT, "assumptions_md": Input(ConsolidateAssumptions, "the assumptions to test before starting")}
    execute, to_markdown = pre_project_assessment.execute, pre_project_assessment.to_markdown


class ProjectPlan(LLMStage):
    number, stem = 20, "project_plan"
    section = Section("project-plan", "Project plan", position=40)
    inputs = {"plan": PROMPT,
              "strategic_decisions_md": Input(StrategicDecisionsMarkdown, "the decisions the plan must follow"),
              "scenarios_md": Input(ScenariosMarkdown, "the chosen scenario"),
              "assumptions_md": Input(ConsolidateAssumptions, "the figures and risks to respect"),
              "assessment_md": Input(PreProjectAssessment, "what must be settled first")}
    execute, to_markdown = project_plan.execute, project_plan.to_markdown
