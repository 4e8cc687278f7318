"""PreProjectAssessment: is the plan ready to start, and what must happen in the first weeks?"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import bullets, user_prompt, document, heading, table

Verdict = Literal["go", "go_with_conditions", "not_yet"]


class ImmediateAction(BaseModel):
    action: str = Field(description="A concrete step, starting with a verb.")
    owner_role: str = Field(description="The role that does it.")
    due_within_days: int = Field(ge=0, description="Days from the start by which it must be done.")
    why: str = Field(description="What goes wrong if it is skipped.")


class PreProjectAssessmentAnswer(BaseModel):
    model_config = ConfigDict(title="PreProjectAssessment")  # the name models know it by

    verdict: Verdict = Field(description="go: start now; go_with_conditions: start once the preconditions hold; not_yet: fix the blocking issues first.")
    summary: str = Field(description="Two or three sentences: how ready the plan is and why.")
    immediate_actions: list[ImmediateAction] = Field(description="Four to eight actions for the first weeks, most urgent first.",
                                                     json_schema_extra=bounded(8, soft=True))
    preconditions: list[str] = Field(description="What must be true before money or people are committed.",
                                     json_schema_extra=bounded(6, chars=240, soft=True))
    blocking_issues: list[str] = Field(description="At most three problems that would stop the project as planned; empty if none.",
                                       json_schema_extra=bounded(3, chars=240, soft=True))
    feasibility: str = Field(description="Whether the budget, timeline and resources assumed are realistic together.")


SYSTEM_PROMPT = """You assess a project just before it starts, like an experienced programme manager.
Read the plan and its assumptions, decide whether it is ready (go, go with conditions, not yet),
and list the concrete actions for the first weeks with an owner role and a deadline in days.
Name the preconditions for committing money and people, any blocking issues, and say plainly
whether the budget, timeline and resources fit together."""


def execute(llm: LLMExecutor, plan: str, assumptions_md: str) -> PreProjectAssessmentAnswer:
    return llm.structured(PreProjectAssessmentAnswer, SYSTEM_PROMPT, user_prompt(plan=plan, assumptions=assumptions_md))


def to_markdown(result: PreProjectAssessmentAnswer) -> str:
    actions = table(["Action", "Owner", "Due (days)", "Why"],
                    [[a.action, a.owner_role, a.due_within_days, a.why]
                     for a in sorted(result.immediate_actions, key=lambda a: a.due_within_days)])
    return document(
        "Pre-Project Assessment",
        table(["", ""], [["Verdict", result.verdict.replace("_", " ")]]),
        result.summary,
        heading("Immediate actions", 3) + "\n\n" + actions,
        heading("Preconditions", 3) + "\n\n" + bullets(result.preconditions),
        heading("Blocking issues", 3) + "\n\n" + bullets(result.blocking_issues),
        heading("Feasibility", 3) + "\n\n" + result.feasibility,
    )
