"""IdentifyPurpose: what the plan is for, and whether it is business, personal or other."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.stages.markdown import document, table


class PlanPurpose(BaseModel):
    purpose: Literal["business", "personal", "other"] = Field(
        description="business: earns or saves money for an organisation; personal: an individual's life goal; other: public, research or community work."
    )
    topic: str = Field(description="The subject of the plan in a few words.")
    goal_statement: str = Field(description="One sentence: what success looks like.")
    reasoning: str = Field(description="Why this purpose fits the prompt.")


SYSTEM_PROMPT = """You classify a project idea before anyone plans it.
Read the idea and decide whether it is a business plan, a personal plan, or something else
(public, research or community work). Name its topic in a few words, state the goal as one
sentence a sponsor could sign, and give the reasoning in two or three sentences."""


def execute(llm: LLMExecutor, plan: str) -> PlanPurpose:
    return llm.structured(PlanPurpose, SYSTEM_PROMPT, plan)


def to_markdown(result: PlanPurpose) -> str:
    return document(
        "Purpose",
        table(["", ""], [["Purpose", result.purpose], ["Topic", result.topic], ["Goal", result.goal_statement]]),
        result.reasoning,
    )
