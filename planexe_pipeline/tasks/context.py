"""Context: the data the plan must collect, drawn from everything known before the WBS."""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import data_collection
from planexe_pipeline.tasks.base import LLMTask
from planexe_pipeline.tasks.experts import ExpertReview, SWOTAnalysis
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.team import RelatedResources, TeamMarkdown

__all__ = ["DataCollection"]


class DataCollection(LLMTask):
    group = "context"
    number, stem = 39, "data_collection"
    section = Section("data-collection", "Data collection", position=120)

    def requires(self):
        return {"project_plan": self.clone(ProjectPlan), "related_resources": self.clone(RelatedResources),
                "swot": self.clone(SWOTAnalysis), "team": self.clone(TeamMarkdown),
                "expert_review": self.clone(ExpertReview)}

    def run(self):
        result = data_collection.execute(self.executor(), project_plan=self.input_text("project_plan"),
                                         related_resources=self.input_text("related_resources"),
                                         swot=self.input_text("swot"), team=self.input_text("team"),
                                         expert_review=self.input_text("expert_review"))
        self.write_stage(result, data_collection.to_markdown(result))
