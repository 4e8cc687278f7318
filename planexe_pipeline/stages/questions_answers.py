"""QuestionsAnswers: what a newcomer to the project asks first, answered from the plan."""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.stages.markdown import condensed_user_prompt, document, heading, one_line

MIN_QUESTIONS = 5
MAX_QUESTIONS = 8


class QuestionAnswer(BaseModel):
    question: str = Field(description="A question a capable newcomer to the project would ask, in their words.")
    answer: str = Field(description="Two to four sentences answering it from the plan; say so if the plan is silent.")


class QuestionsAnswersResult(BaseModel):
    # The bounds are in the schema the model sees, not enforced by validation: one question
    # too many is trimmed by our code rather than costing a retry.
    questions: list[QuestionAnswer] = Field(
        description=f"{MIN_QUESTIONS} to {MAX_QUESTIONS} questions with answers, most basic first.",
        json_schema_extra={"minItems": MIN_QUESTIONS, "maxItems": MAX_QUESTIONS},
    )


SYSTEM_PROMPT = f"""You prepare the Q&A page for someone joining a project after its plan was written.
Ask the {MIN_QUESTIONS} to {MAX_QUESTIONS} questions a capable newcomer would ask first (what exactly are we
building, who decides, what does it cost, when is it done, what could go wrong, what do I do first),
and answer each in plain words from the plan and its executive summary. Where the plan does not
answer a question, say what is unknown rather than guessing."""


def execute(llm: LLMExecutor, *, plan: str, project_plan: str, executive_summary: str) -> QuestionsAnswersResult:
    user = condensed_user_prompt(plan=plan, project_plan=project_plan, executive_summary=executive_summary)
    result = llm.structured(QuestionsAnswersResult, SYSTEM_PROMPT, user)
    return QuestionsAnswersResult(questions=result.questions[:MAX_QUESTIONS])


def to_markdown(result: QuestionsAnswersResult) -> str:
    blocks: list[str] = []
    for number, qa in enumerate(result.questions, 1):
        blocks += [heading(f"{number}. {one_line(qa.question)}", 3), one_line(qa.answer)]
    return document("Questions and answers", *(blocks or ["_No questions._"]))
