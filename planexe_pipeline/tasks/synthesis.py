"""Synthesis: the pitch, the plan review, the executive summary, Q&A and the premortem.

Each reads the plan through the smallest artifacts that carry what its prompt uses, so that
only the executive summary and the Q&A that probes it wait for the end of the plan.
"""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import executive_summary, pitch, premortem, questions_answers, review_plan
from planexe_pipeline.tasks.assumptions import ConsolidateAssumptions
from planexe_pipeline.tasks.base import LLMStage
from planexe_pipeline.tasks.documents import FilterDocumentsToCreate, FilterDocumentsToFind
from planexe_pipeline.tasks.experts import ExpertReview
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge
from planexe_pipeline.tasks.governance import GovernancePhase2Bodies
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import IDEA, Setup
from planexe_pipeline.tasks.team import FindTeamMembers
from planexe_pipeline.tasks.wbs import DurationEstimates, TaskDependencies, WBSProject12

__all__ = ["Pitch", "ReviewPlanItem", "PlanReview", "ExecutiveSummary", "QuestionsAnswers", "Premortem"]

PROJECT_PLAN = Input(ProjectPlan, "the plan itself: goal, scope, budget, milestones")


class Pitch(LLMStage):
    number, stem = 58, "pitch"
    section = Section("pitch", "Pitch", position=20)
    inputs = {"plan": IDEA, "project_plan": PROJECT_PLAN}
    execute, to_markdown = pitch.execute, pitch.to_markdown


class ReviewPlanItem(FanOutItem[review_plan.ReviewQuestion]):
    """One review question put to the plan; the questions are ours, so the list is static."""

    number, stem = 59, "review_plan"
    result_model = review_plan.ReviewItem
    inputs = {"plan": IDEA, "project_plan": PROJECT_PLAN,
              "wbs": Input(WBSProject12, "the tasks the answers cite"),
              "team": Input(FindTeamMembers, "the roles the answers cite"),
              "expert_review": Input(ExpertReview, "the experts' objections"),
              "pitch": Input(Pitch, "what the plan promises its sponsor")}
    execute = review_plan.execute

    def all_items(self):
        return review_plan.REVIEW_QUESTIONS


class PlanReview(FanOutMerge):
    item_task = ReviewPlanItem
    section = Section("review", "Plan review", position=160)
    execute, to_markdown = review_plan.merge, review_plan.to_markdown


class ExecutiveSummary(LLMStage):
    number, stem = 60, "executive_summary"
    section = Section("executive-summary", "Executive summary", position=10)
    # The timeline enters as the level-2 tasks, their estimates and dependencies: the stage dates
    # them and condenses them to dates and the critical path, without waiting for level 3.
    inputs = {"plan": IDEA, "project_plan": PROJECT_PLAN,
              "assumptions": Input(ConsolidateAssumptions, "the assumptions a reader must know"),
              "governance_bodies": Input(GovernancePhase2Bodies, "who decides"),
              "team": Input(FindTeamMembers, "who does the work: the roles"),
              "expert_review": Input(ExpertReview, "the main objections"),
              "documents_to_find": Input(FilterDocumentsToFind, "the documents still to find"),
              "documents_to_create": Input(FilterDocumentsToCreate, "the documents still to write"),
              "project": Input(WBSProject12, "the phases and tasks, to date"),
              "durations": Input(DurationEstimates, "how long each task takes"),
              "dependencies": Input(TaskDependencies, "which task waits for which"),
              "fingerprint": Input(Setup, "the first day of the schedule", output="fingerprint"),
              "pitch": Input(Pitch, "the case for the plan"),
              "review": Input(PlanReview, "the review's verdicts")}
    execute, to_markdown = executive_summary.execute, executive_summary.to_markdown


class QuestionsAnswers(LLMStage):
    number, stem = 61, "questions_answers"
    section = Section("questions-answers", "Questions and answers", position=170)
    inputs = {"plan": IDEA, "project_plan": PROJECT_PLAN,
              "executive_summary": Input(ExecutiveSummary, "the plan in brief, which the questions probe")}
    execute, to_markdown = questions_answers.execute, questions_answers.to_markdown


class Premortem(LLMStage):
    number, stem = 62, "premortem"
    section = Section("premortem", "Premortem", position=180)
    inputs = {"plan": IDEA, "assumptions": Input(ConsolidateAssumptions, "the assumptions that could fail"),
              "project_plan": Input(ProjectPlan, "the plan imagined failed")}
    execute, to_markdown = premortem.execute, premortem.to_markdown
