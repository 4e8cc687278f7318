"""Experts: SWOT, two parallel expert queries merged into one list, one critique per expert."""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import expert_criticism, experts, swot
from planexe_pipeline.stages.experts import Expert, ExpertList, QueryAngle
from planexe_pipeline.tasks.base import LLMStage
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge
from planexe_pipeline.tasks.framing import IdentifyPurpose
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import IDEA

__all__ = ["SWOTAnalysis", "FindExpertsItem", "ExpertsFound", "ExpertCriticismItem", "ExpertReview"]


class SWOTAnalysis(LLMStage):
    number, stem = 38, "swot_analysis"
    section = Section("swot", "SWOT analysis", position=100)
    inputs = {"plan": IDEA, "purpose": Input(IdentifyPurpose, "the kind of plan, which sets the SWOT's lens"),
              "project_plan": Input(ProjectPlan, "the plan whose strengths and weaknesses are weighed")}
    execute, to_markdown = swot.execute, swot.to_markdown


# What an expert is found for: the plan itself.
EXPERT_CONTEXT = {"plan": IDEA, "project_plan": Input(ProjectPlan, "the plan under review")}


class FindExpertsItem(FanOutItem[QueryAngle]):
    """One query for experts, from the angle at `index` of a fixed list (no upstream list)."""

    number, stem = 39, "find_experts"
    result_model = experts.ExpertQueryResult
    inputs = EXPERT_CONTEXT
    execute = experts.execute

    def all_items(self):
        return experts.QUERY_ANGLES


class ExpertsFound(FanOutMerge):
    item_task = FindExpertsItem
    execute, to_markdown = experts.merge_experts, experts.to_markdown


class ExpertCriticismItem(FanOutItem[Expert]):
    """One expert's critique; only the first `[pipeline] experts_to_criticise` experts get one."""

    number, stem = 40, "expert_criticism"
    result_model = expert_criticism.ExpertCriticismResult
    items_input = "experts"
    inputs = {"experts": Input(ExpertsFound, "the experts, one critique each"), **EXPERT_CONTEXT,
              "swot": Input(SWOTAnalysis, "its weak points, where the criticism should look first")}
    execute = expert_criticism.execute

    def all_items(self):
        return self.read("experts", ExpertList).experts[: max(0, self.settings.experts_to_criticise)]


class ExpertReview(FanOutMerge):
    item_task = ExpertCriticismItem
    number, stem = 41, "expert_review"
    section = Section("expert-review", "Expert review", position=110)
    execute, to_markdown = expert_criticism.merge, expert_criticism.to_markdown
