"""Data collection: the data the plan must collect, drawn from everything known before the WBS.

An outline of the data areas reads the plan, comparable projects, the SWOT, the team and the
experts' criticism; then one call per area plans its collection, all at the same time.
"""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import data_collection
from planexe_pipeline.stages.data_collection import DataAreaHeading, DataCollectionOutlineAnswer
from planexe_pipeline.tasks.base import LLMStage
from planexe_pipeline.tasks.experts import ExpertReview, SWOTAnalysis
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.team import FindTeamMembers, RelatedResources, TeamMarkdown

__all__ = ["DataCollectionOutline", "DataAreaItem", "DataCollection"]


class DataCollectionOutline(LLMStage):
    number, stem = 42, "data_collection_outline"
    inputs = {"project_plan": Input(ProjectPlan, "the figures and claims that need data"),
              "related_resources": Input(RelatedResources, "sources from similar projects"),
              "swot": Input(SWOTAnalysis, "the uncertainties to resolve"),
              "team": Input(TeamMarkdown, "who can collect what"),
              "expert_review": Input(ExpertReview, "the questions the experts asked")}
    execute, to_markdown = data_collection.execute_outline, data_collection.outline_to_markdown


class DataAreaItem(FanOutItem[DataAreaHeading]):
    """One data area's collection plan."""

    number, stem = 43, "data_collection"
    result_model = data_collection.DataArea
    items_input = "outline"
    inputs = {"outline": Input(DataCollectionOutline, "the data areas: one call each"),
              "project_plan": Input(ProjectPlan, "the figures the area's data must support"),
              "team": Input(FindTeamMembers, "the roles that can own the work")}
    execute = data_collection.execute_area

    def all_items(self):
        return self.read("outline", DataCollectionOutlineAnswer).areas


class DataCollection(FanOutMerge):
    item_task = DataAreaItem
    section = Section("data-collection", "Data collection", position=120)
    execute, to_markdown = data_collection.merge, data_collection.to_markdown
