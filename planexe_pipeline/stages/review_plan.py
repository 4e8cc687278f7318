"""ReviewPlan: ten independent critical questions put to the finished plan, one call each.

The questions are ours and fixed, so the fan-out is static (its width never depends on an LLM)
and every plan is reviewed on the same ground. Each call sees the plan, the work breakdown, the
team, the expert review and the pitch; the merge keeps the questions in their listed order.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import bullets, condensed_user_prompt, document, heading, one_line


class ReviewQuestion(BaseModel):
    id: str = Field(description="Our id of the question, R-1.., in list order.")
    topic: str = Field(description="Short name of what the question examines.")
    question: str = Field(description="The question put to the plan.")


def _questions(*pairs: tuple[str, str]) -> tuple[ReviewQuestion, ...]:
    return tuple(ReviewQuestion(id=f"R-{i}", topic=topic, question=q) for i, (topic, q) in enumerate(pairs, 1))


REVIEW_QUESTIONS: tuple[ReviewQuestion, ...] = _questions(
    ("Risks", "Which risks could stop or badly delay this plan, and which of them does the plan not address yet?"),
    ("Assumptions", "Which assumptions carry the most weight, and how could each be tested cheaply before money is committed?"),
    ("KPIs", "Which three to five key performance indicators would show, month by month, that the plan is on track?"),
    ("Data gaps", "What information is missing or uncertain that the plan relies on, and where could it be obtained?"),
    ("Stakeholders", "Which stakeholders are affected or needed, which are overlooked, and how should each be engaged?"),
    ("Regulation", "Which permits, laws, standards or compliance duties apply, and when must each be secured?"),
    ("Budget", "Is the budget realistic for the scope: which costs are missing, underestimated or lack a contingency?"),
    ("Timeline", "Is the timeline realistic: which tasks are likely to take longer, and where is there no slack?"),
    ("Dependencies", "Which external dependencies (suppliers, partners, approvals, technology) could hold the work up?"),
    ("Quick wins", "What can be done in the first 30 days, at low cost, to reduce risk or build momentum?"),
)


class ReviewAnswer(BaseModel):
    summary: str = Field(description="Two to four sentences answering the question for this plan specifically.")
    findings: list[str] = Field(description="Three to six concrete observations about the plan, each one sentence.",
                                json_schema_extra=bounded(6, chars=240, soft=True))
    recommendations: list[str] = Field(description="Two to four actions that would improve the plan, most urgent first.",
                                       json_schema_extra=bounded(4, chars=240, soft=True))


class ReviewItem(BaseModel):
    """One answered question: the question is ours, the answer the LLM's."""

    id: str = Field(description="Our id of the question.")
    topic: str
    question: str
    answer: ReviewAnswer


class PlanReviewResult(BaseModel):
    items: list[ReviewItem] = Field(default_factory=list, description="Answered questions in question order.")


SYSTEM_PROMPT = """You are an experienced reviewer of project plans, asked one question about one plan.
Answer it for this plan only, citing its tasks, people and numbers where they matter;
generic advice that would fit any project is not useful. Be candid about weaknesses,
say what is missing, and make each recommendation an action someone could start next week."""


def execute(llm: LLMExecutor, question: ReviewQuestion, *, plan: str, project_plan: str, wbs: str, team: str,
            expert_review: str, pitch: str) -> ReviewItem:
    user = condensed_user_prompt(plan=plan, project_plan=project_plan, work_breakdown=wbs, team=team,
                             expert_review=expert_review, pitch=pitch,
                             tail={"review_question": f"{question.topic}: {question.question}"})
    answer = llm.structured(ReviewAnswer, SYSTEM_PROMPT, user)
    return ReviewItem(id=question.id, topic=question.topic, question=question.question, answer=answer)


def merge(items: list[ReviewItem]) -> PlanReviewResult:
    """The answers in the order given (the fan-out's index order): never re-sorted."""
    return PlanReviewResult(items=list(items))


def to_markdown(review: PlanReviewResult) -> str:
    blocks: list[str] = []
    for item in review.items:
        blocks += [
            heading(f"{item.id} {item.topic}", 3),
            f"_{one_line(item.question)}_",
            one_line(item.answer.summary),
            "**Findings**",
            bullets(item.answer.findings),
            "**Recommendations**",
            bullets(item.answer.recommendations),
        ]
    return document("Plan review", *(blocks or ["_No review questions were answered._"]))
