"""ExpertCriticism: one expert's critique of the plan; ExpertReview joins them in expert order."""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.experts import Expert
from planexe_pipeline.stages.markdown import bullets, condensed_user_prompt, document, heading, one_line, table


class CritiqueIssue(BaseModel):
    issue: str = Field(description="What is wrong, missing or unrealistic in the plan.")
    why_it_matters: str = Field(description="The consequence for the project if it is not fixed.")
    recommendation: str = Field(description="A concrete fix: what to do, who does it, and by when.")


class ExpertCritique(BaseModel):
    assessment: str = Field(description="Two or three sentences: the expert's overall verdict on the plan.")
    issues: list[CritiqueIssue] = Field(description="Three to five issues, most serious first.",
                                        json_schema_extra=bounded(5, soft=True))
    questions: list[str] = Field(description="Two to four questions the planners must answer before going ahead.",
                                 json_schema_extra=bounded(4, chars=240, soft=True))


class ExpertCriticismResult(BaseModel):
    expert_id: str
    expert_title: str
    critique: ExpertCritique


class ExpertReviewResult(BaseModel):
    criticisms: list[ExpertCriticismResult] = Field(description="One critique per expert, in expert order.")


SYSTEM_PROMPT = """You are the expert described under "Expert", asked to criticise a project plan.
Judge it only from your own speciality, as you would in a paid review: name the issues that
would make it fail or cost more than planned, explain why each matters, and recommend a
concrete fix. Be direct and specific to this plan; skip praise and generic advice. End with
the questions the planners must answer before they go ahead."""


def expert_brief(expert: Expert) -> str:
    return f"{expert.expert_title}. {expert.expertise} Focus: {expert.why_relevant}"


def execute(llm: LLMExecutor, expert: Expert, *, plan: str, project_plan: str, swot: str) -> ExpertCriticismResult:
    prompt = condensed_user_prompt(plan=plan, project_plan=project_plan, swot_analysis=swot,
                               tail={"expert": expert_brief(expert)})
    critique = llm.structured(ExpertCritique, SYSTEM_PROMPT, prompt)
    return ExpertCriticismResult(expert_id=expert.id, expert_title=expert.expert_title, critique=critique)


def merge(results: list[ExpertCriticismResult]) -> ExpertReviewResult:
    return ExpertReviewResult(criticisms=list(results))


def to_markdown(result: ExpertReviewResult) -> str:
    blocks: list[str] = []
    for c in result.criticisms:
        blocks += [heading(f"{c.expert_id} {c.expert_title}", 3),
                   one_line(c.critique.assessment),
                   table(["Issue", "Why it matters", "Recommendation"],
                         [[i.issue, i.why_it_matters, i.recommendation] for i in c.critique.issues]),
                   "**Questions**\n\n" + bullets(c.critique.questions)]
    return document("Expert Review", *blocks)
