"""Synthesis: the pitch, the plan review, the executive summary, Q&A and the premortem."""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import executive_summary, pitch, premortem, questions_answers, review_plan
from planexe_pipeline.tasks.assumptions import ConsolidateAssumptions
from planexe_pipeline.tasks.base import LLMStage
from planexe_pipeline.tasks.documents import DocumentsMarkdown
from planexe_pipeline.tasks.experts import ExpertReview
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge
from planexe_pipeline.tasks.governance import ConsolidateGovernance
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import PROMPT
from planexe_pipeline.tasks.team import RelatedResources, TeamMarkdown
from planexe_pipeline.tasks.wbs import Schedule, WBSProject12

__all__ = ["CreatePitch", "PitchMarkdown", "ReviewPlanItem", "PlanReview", "ExecutiveSummary", "QuestionsAnswers",
           "Premortem"]

PROJECT_PLAN = Input(ProjectPlan, "the plan itself: goal, scope, budget, milestones")


class CreatePitch(LLMStage):
    number, stem = 54, "create_pitch"
    inputs = {"plan": PROMPT, "project_plan": PROJECT_PLAN,
              "related_resources": Input(RelatedResources, "similar projects that make the case"),
              "wbs": Input(WBSProject12, "the phases and tasks, to show the plan is concrete")}
    execute, to_markdown = pitch.execute, pitch.to_markdown


class PitchMarkdown(LLMStage):
    number, stem = 55, "pitch"
    section = Section("pitch", "Pitch", position=20)
    inputs = {"pitch_notes": Input(CreatePitch, "the pitch notes to edit into prose")}
    execute, to_markdown = pitch.polish, pitch.polished_to_markdown


class ReviewPlanItem(FanOutItem[review_plan.ReviewQuestion]):
    """One review question put to the plan; the questions are ours, so the list is static."""

    number, stem = 56, "review_plan"
    result_model = review_plan.ReviewItem
    inputs = {"plan": PROMPT, "project_plan": PROJECT_PLAN,
              "wbs": Input(WBSProject12, "the tasks the answers cite"),
              "team": Input(TeamMarkdown, "the people the answers cite"),
              "expert_review": Input(ExpertReview, "the experts' objections"),
              "pitch": Input(PitchMarkdown, "what the plan promises its sponsor")}
    execute = review_plan.execute

    def all_items(self):
        return review_plan.REVIEW_QUESTIONS


class PlanReview(FanOutMerge):
    item_task = ReviewPlanItem
    section = Section("review", "Plan review", position=160)
    execute, to_markdown = review_plan.merge, review_plan.to_markdown


class ExecutiveSummary(LLMStage):
    number, stem = 57, "executive_summary"
    section = Section("executive-summary", "Executive summary", position=10)
    # The schedule enters as its model: the stage condenses it to dates and the critical path.
    inputs = {"plan": PROMPT, "project_plan": PROJECT_PLAN,
              "assumptions": Input(ConsolidateAssumptions, "the assumptions a reader must know"),
              "governance": Input(ConsolidateGovernance, "who decides"),
              "team": Input(TeamMarkdown, "who does the work"),
              "expert_review": Input(ExpertReview, "the main objections"),
              "documents": Input(DocumentsMarkdown, "the documents still to find and write"),
              "schedule": Input(Schedule, "the dates and the critical path"),
              "pitch": Input(PitchMarkdown, "the case for the plan"),
              "review": Input(PlanReview, "the review's verdicts")}
    execute, to_markdown = executive_summary.execute, executive_summary.to_markdown


class QuestionsAnswers(LLMStage):
    number, stem = 58, "questions_answers"
    section = Section("questions-answers", "Questions and answers", position=170)
    inputs = {"plan": PROMPT, "project_plan": PROJECT_PLAN,
              "executive_summary": Input(ExecutiveSummary, "the plan in brief, which the questions probe")}
    execute, to_markdown = questions_answers.execute, questions_answers.to_markdown


class Premortem(LLMStage):
    number, stem = 59, "premortem"
    section = Section("premortem", "Premortem", position=180)
    inputs = {"plan": PROMPT, "assumptions": Input(ConsolidateAssumptions, "the assumptions that could fail"),
              "executive_summary": Input(ExecutiveSummary, "the plan in brief, imagined failed")}
    execute, to_markdown = premortem.execute, premortem.to_markdown
