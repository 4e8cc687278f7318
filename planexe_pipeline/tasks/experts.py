"""Experts: SWOT, two parallel expert queries merged into one list, one critique per expert."""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.settings import pipeline
from planexe_pipeline.stages import expert_criticism, experts, swot
from planexe_pipeline.stages.experts import Expert, ExpertList, QueryAngle
from planexe_pipeline.tasks.base import FanOutItem, FanOutMerge, LLMTask
from planexe_pipeline.tasks.framing import IdentifyPurpose
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import Setup

__all__ = ["SWOTAnalysis", "FindExpertsItem", "ExpertsFound", "ExpertCriticismItem", "ExpertReview"]


class SWOTAnalysis(LLMTask):
    group = "experts"
    number, stem = 35, "swot_analysis"
    section = Section("swot", "SWOT analysis", position=100)

    def requires(self):
        return {"setup": self.clone(Setup), "purpose": self.clone(IdentifyPurpose),
                "project_plan": self.clone(ProjectPlan)}

    def run(self):
        result = swot.execute(self.executor(), plan=self.input_text("setup", "plan"),
                              purpose=self.input_text("purpose"), project_plan=self.input_text("project_plan"))
        self.write_stage(result, swot.to_markdown(result))


class FindExpertsItem(FanOutItem[QueryAngle]):
    """One query for experts, from the angle at `index` of a fixed list (no upstream list)."""

    group = "experts"
    number, stem = 36, "find_experts"
    result_model = experts.ExpertQueryResult

    def context_requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan), "swot": self.clone(SWOTAnalysis)}

    def all_items(self):
        return experts.QUERY_ANGLES

    def process(self, item: QueryAngle):
        return experts.execute(self.executor(), item, plan=self.input_text("setup", "plan"),
                               project_plan=self.input_text("project_plan"), swot=self.input_text("swot"))


class ExpertsFound(FanOutMerge):
    item_task = FindExpertsItem

    def merge(self, results):
        found = experts.merge_experts(results)
        self.write_stage(found, experts.to_markdown(found))


class ExpertCriticismItem(FanOutItem[Expert]):
    """One expert's critique; only the first `[pipeline] experts_to_criticise` experts get one."""

    group = "experts"
    number, stem = 37, "expert_criticism"
    result_model = expert_criticism.ExpertCriticismResult

    def list_requires(self):
        return {"experts": self.clone(ExpertsFound)}

    def context_requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan), "swot": self.clone(SWOTAnalysis)}

    def all_items(self):
        return self.input_model("experts", ExpertList).experts[: max(0, pipeline().experts_to_criticise)]

    def process(self, item: Expert):
        return expert_criticism.execute(self.executor(), item, plan=self.input_text("setup", "plan"),
                                        project_plan=self.input_text("project_plan"), swot=self.input_text("swot"))


class ExpertReview(FanOutMerge):
    group = "experts"
    item_task = ExpertCriticismItem
    number, stem = 38, "expert_review"
    section = Section("expert-review", "Expert review", position=110)

    def merge(self, results):
        review = expert_criticism.merge(results)
        self.write_stage(review, expert_criticism.to_markdown(review))
