"""Plan: the pre-project assessment and the project plan everything downstream is built from."""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import pre_project_assessment, project_plan
from planexe_pipeline.tasks.assumptions import ConsolidateAssumptions
from planexe_pipeline.tasks.base import LLMTask
from planexe_pipeline.tasks.framing import ScenariosMarkdown, StrategicDecisionsMarkdown
from planexe_pipeline.tasks.setup import Setup

__all__ = ["PreProjectAssessment", "ProjectPlan"]


class PreProjectAssessment(LLMTask):
    group = "plan"
    number, stem = 19, "pre_project_assessment"

    def requires(self):
        return {"setup": self.clone(Setup), "assumptions": self.clone(ConsolidateAssumptions)}

    def run(self):
        result = pre_project_assessment.execute(self.executor(), self.input_text("setup", "plan"),
                                                self.input_text("assumptions"))
        self.write_stage(result, pre_project_assessment.to_markdown(result))


class ProjectPlan(LLMTask):
    group = "plan"
    number, stem = 20, "project_plan"
    section = Section("project-plan", "Project plan", position=40)

    def requires(self):
        return {"setup": self.clone(Setup), "strategic_decisions": self.clone(StrategicDecisionsMarkdown),
                "scenarios": self.clone(ScenariosMarkdown), "assumptions": self.clone(ConsolidateAssumptions),
                "assessment": self.clone(PreProjectAssessment)}

    def run(self):
        result = project_plan.execute(self.executor(), plan=self.input_text("setup", "plan"),
                                      strategic_decisions_md=self.input_text("strategic_decisions"),
                                      scenarios_md=self.input_text("scenarios"),
                                      assumptions_md=self.input_text("assumptions"),
                                      assessment_md=self.input_text("assessment"))
        self.write_stage(result, project_plan.to_markdown(result))
