"""IdentifyRisks: the risks of the idea, numbered R-1.. by our code.

It reads the idea alone, at the same time as the strategy and the places are worked out: the
idea names the place, the scale and the money, and the assumptions meet all three later."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import SOFT, bounded
from planexe_pipeline.stages.markdown import user_prompt, document, table

Level = Literal["low", "medium", "high"]
Category = Literal["regulatory", "financial", "technical", "operational", "market", "environmental",
                   "social", "security", "supply_chain"]


class RiskAnswer(BaseModel):
    title: str = Field(description="The risk in a few words.")
    category: Category = Field(json_schema_extra=SOFT)
    description: str = Field(description="What could happen, and what it would cost in money or time.",
                             json_schema_extra=bounded(chars=300))
    likelihood: Level = Field(json_schema_extra=SOFT)
    impact: Level = Field(json_schema_extra=SOFT)
    mitigation: str = Field(description="What to do now to make it less likely or less harmful.")
    early_warning: str = Field(description="The sign that shows the risk is starting to happen.")


class RiskAnswers(BaseModel):
    risks: list[RiskAnswer] = Field(description="Six to ten risks, the most serious first.",
                                    json_schema_extra=bounded(10, soft=True, minItems=6))
    summary: str = Field(description="Two sentences on the overall risk picture.")


class Risk(RiskAnswer):
    id: str = Field(description="R-1.. assigned by our code.")


class RiskRegister(BaseModel):
    risks: list[Risk]
    summary: str


SYSTEM_PROMPT = """You identify the risks of a project from the idea its sponsor describes.
Name six to ten specific risks (regulatory, financial, technical, operational, market,
environmental, social, security, supply chain), the most serious first. For each say what could
happen and what it would cost, rate likelihood and impact, give a mitigation that can start now
and the early warning sign to watch. Avoid generic risks that fit any project."""


def execute(llm: LLMExecutor, plan: str) -> RiskRegister:
    answer = llm.structured(RiskAnswers, SYSTEM_PROMPT, user_prompt(plan=plan))
    return RiskRegister(risks=[Risk(id=f"R-{n}", **r.model_dump()) for n, r in enumerate(answer.risks, start=1)],
                        summary=answer.summary)


def to_markdown(result: RiskRegister) -> str:
    rows = [[r.id, r.title, r.category.replace("_", " "), r.likelihood, r.impact, r.description, r.mitigation, r.early_warning]
            for r in result.risks]
    return document("Risks", result.summary,
                    table(["Id", "Risk", "Category", "Likelihood", "Impact", "What could happen", "Mitigation",
                           "Early warning"], rows))
