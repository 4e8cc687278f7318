"""Synthesis: the pitch, the plan review, the executive summary, Q&A and the premortem."""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import executive_summary, pitch, premortem, questions_answers, review_plan
from planexe_pipeline.stages.schedule import DatedSchedule
from planexe_pipeline.tasks.assumptions import ConsolidateAssumptions
from planexe_pipeline.tasks.base import FanOutItem, FanOutMerge, LLMTask
from planexe_pipeline.tasks.documents import DocumentsMarkdown
from planexe_pipeline.tasks.experts import ExpertReview
from planexe_pipeline.tasks.governance import ConsolidateGovernance
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import Setup
from planexe_pipeline.tasks.team import RelatedResources, TeamMarkdown
from planexe_pipeline.tasks.wbs import Schedule, WBSProject12

__all__ = ["CreatePitch", "PitchMarkdown", "ReviewPlanItem", "PlanReview", "ExecutiveSummary", "QuestionsAnswers",
           "Premortem"]


class CreatePitch(LLMTask):
    group = "synthesis"
    number, stem = 54, "create_pitch"

    def requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan),
                "related_resources": self.clone(RelatedResources), "wbs": self.clone(WBSProject12)}

    def run(self):
        result = pitch.execute(self.executor(), plan=self.input_text("setup", "plan"),
                               project_plan=self.input_text("project_plan"),
                               related_resources=self.input_text("related_resources"), wbs=self.input_text("wbs"))
        self.write_stage(result, pitch.to_markdown(result))


class PitchMarkdown(LLMTask):
    group = "synthesis"
    number, stem = 55, "pitch"
    section = Section("pitch", "Pitch", position=20)

    def requires(self):
        return {"pitch": self.clone(CreatePitch)}

    def run(self):
        result = pitch.polish(self.executor(), self.input_text("pitch"))
        self.write_stage(result, pitch.polished_to_markdown(result))


class ReviewPlanItem(FanOutItem[review_plan.ReviewQuestion]):
    """One review question put to the plan; the questions are ours, so the list is static."""

    group = "synthesis"
    number, stem = 56, "review_plan"
    result_model = review_plan.ReviewItem

    def context_requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan),
                "wbs": self.clone(WBSProject12), "team": self.clone(TeamMarkdown),
                "expert_review": self.clone(ExpertReview), "pitch": self.clone(PitchMarkdown)}

    def all_items(self):
        return review_plan.REVIEW_QUESTIONS

    def process(self, item):
        return review_plan.execute(self.executor(), item, plan=self.input_text("setup", "plan"),
                                   project_plan=self.input_text("project_plan"), wbs=self.input_text("wbs"),
                                   team=self.input_text("team"), expert_review=self.input_text("expert_review"),
                                   pitch=self.input_text("pitch"))


class PlanReview(FanOutMerge):
    item_task = ReviewPlanItem
    section = Section("review", "Plan review", position=160)

    def merge(self, results):
        review = review_plan.merge(results)
        self.write_stage(review, review_plan.to_markdown(review))


class ExecutiveSummary(LLMTask):
    group = "synthesis"
    number, stem = 57, "executive_summary"
    section = Section("executive-summary", "Executive summary", position=10)

    def requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan),
                "assumptions": self.clone(ConsolidateAssumptions), "governance": self.clone(ConsolidateGovernance),
                "team": self.clone(TeamMarkdown), "expert_review": self.clone(ExpertReview),
                "documents": self.clone(DocumentsMarkdown), "schedule": self.clone(Schedule),
                "pitch": self.clone(PitchMarkdown), "review": self.clone(PlanReview)}

    def run(self):
        # The schedule enters as its model: the stage condenses it to dates and the critical path.
        result = executive_summary.execute(self.executor(), plan=self.input_text("setup", "plan"),
                                           project_plan=self.input_text("project_plan"),
                                           assumptions=self.input_text("assumptions"),
                                           governance=self.input_text("governance"), team=self.input_text("team"),
                                           expert_review=self.input_text("expert_review"),
                                           documents=self.input_text("documents"),
                                           schedule=self.input_model("schedule", DatedSchedule),
                                           pitch=self.input_text("pitch"), review=self.input_text("review"))
        self.write_stage(result, executive_summary.to_markdown(result))


class QuestionsAnswers(LLMTask):
    group = "synthesis"
    number, stem = 58, "questions_answers"
    section = Section("questions-answers", "Questions and answers", position=170)

    def requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan),
                "executive_summary": self.clone(ExecutiveSummary)}

    def run(self):
        result = questions_answers.execute(self.executor(), plan=self.input_text("setup", "plan"),
                                           project_plan=self.input_text("project_plan"),
                                           executive_summary=self.input_text("executive_summary"))
        self.write_stage(result, questions_answers.to_markdown(result))


class Premortem(LLMTask):
    group = "synthesis"
    number, stem = 59, "premortem"
    section = Section("premortem", "Premortem", position=180)

    def requires(self):
        return {"setup": self.clone(Setup), "assumptions": self.clone(ConsolidateAssumptions),
                "executive_summary": self.clone(ExecutiveSummary)}

    def run(self):
        result = premortem.execute(self.executor(), plan=self.input_text("setup", "plan"),
                                   assumptions=self.input_text("assumptions"),
                                   executive_summary=self.input_text("executive_summary"))
        self.write_stage(result, premortem.to_markdown(result))
