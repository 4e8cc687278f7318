"""Context: the data the plan must collect, drawn from everything known before the WBS."""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import data_collection
from planexe_pipeline.tasks.base import LLMStage
from planexe_pipeline.tasks.experts import ExpertReview, SWOTAnalysis
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.team import RelatedResources, TeamMarkdown

__all__ = ["DataCollection"]


class DataCollection(LLMStage):
    number, stem = 39, "data_collection"
    section = Section("data-collection", "Data collection", position=120)
    inputs = {"project_plan": Input(ProjectPlan, "the figures and claims that need data"),
              "related_resources": Input(RelatedResources, "sources from similar projects"),
              "swot": Input(SWOTAnalysis, "the uncertainties to resolve"),
              "team": Input(TeamMarkdown, "who can collect what"),
              "expert_review": Input(ExpertReview, "the questions the experts asked")}
    execute, to_markdown = data_collection.execute, data_collection.to_markdown
