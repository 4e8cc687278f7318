"""PlanType: does the plan happen in the physical world, or only on computers?"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import NAME_CHARS, bounded
from planexe_pipeline.stages.markdown import bullets, user_prompt, document, heading, table


class PlanTypeDecision(BaseModel):
    plan_type: Literal["physical", "digital"] = Field(
        description="physical: needs a place, equipment, travel or materials; digital: can be done entirely online or in software."
    )
    reasoning: str = Field(description="Why this type fits, in two or three sentences.")
    physical_needs: list[str] = Field(json_schema_extra=bounded(8, chars=NAME_CHARS, soft=True),
        description="Places, equipment or materials the plan needs in the physical world; empty for a purely digital plan."
    )


SYSTEM_PROMPT = """You decide whether a project needs the physical world.
Answer "physical" when any part of the work needs a site, a building, equipment, materials,
shipping or people meeting in person; answer "digital" only when everything can be done in
software or online. Most real projects are physical: an office, a test lab or a launch event counts.
List the concrete physical needs you see and explain your reasoning briefly."""


def execute(llm: LLMExecutor, plan: str) -> PlanTypeDecision:
    return llm.structured(PlanTypeDecision, SYSTEM_PROMPT, user_prompt(plan=plan))


def to_markdown(result: PlanTypeDecision) -> str:
    return document(
        "Plan Type",
        table(["", ""], [["Type", result.plan_type]]),
        result.reasoning,
        heading("Physical needs", 3) + "\n\n" + bullets(result.physical_needs),
    )
