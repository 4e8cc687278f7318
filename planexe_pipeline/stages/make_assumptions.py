"""MakeAssumptions: the concrete figures the plan rests on (costs, dates, rates), each with a confidence."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import SOFT, bounded
from planexe_pipeline.stages.markdown import user_prompt, document, table

Category = Literal["budget", "timeline", "resources", "market", "regulatory", "technical", "location", "financing",
                   "operations"]

MAX_ASSUMPTIONS = 15  # the prompt asks for eight to fifteen


class AssumptionAnswer(BaseModel):
    category: Category = Field(json_schema_extra=SOFT)
    statement: str = Field(description="The assumption as one sentence including its figure.")
    value: str = Field(description="The concrete figure with its unit or date, e.g. 'EUR 450,000', '2026-03-01', '7 % a year'; 'n/a' only if no figure makes sense.")
    confidence_percent: int = Field(ge=0, le=100, json_schema_extra=SOFT, description="How sure we are that the figure holds, 0-100.")
    basis: str = Field(description="Where the figure comes from and how to verify it.")


class AssumptionAnswers(BaseModel):
    assumptions: list[AssumptionAnswer] = Field(json_schema_extra=bounded(MAX_ASSUMPTIONS, soft=True, minItems=8),
                                                description="Eight to fifteen assumptions covering budget, timeline, resources and rules.")


class Assumption(AssumptionAnswer):
    id: str = Field(description="A-1.. assigned by our code.")


class AssumptionList(BaseModel):
    assumptions: list[Assumption]


SYSTEM_PROMPT = """You write down the assumptions a project plan rests on, as concrete figures.
Cover budget (costs in the plan's currency), timeline (dates and durations), resources (people,
equipment), market, financing, regulation and location. Give every assumption a number, amount,
rate or date wherever one makes sense, a confidence from 0 to 100 and the basis for it, so each
can be checked. Use the risks and locations given; do not invent a different project."""


def execute(llm: LLMExecutor, *, plan: str, locations_md: str, currency_md: str, risks_md: str) -> AssumptionList:
    answer = llm.structured(AssumptionAnswers, SYSTEM_PROMPT, user_prompt(plan=plan, physical_locations=locations_md,
                                                                       currency=currency_md, risks=risks_md))
    return AssumptionList(assumptions=[Assumption(id=f"A-{n}", **a.model_dump())
                                       for n, a in enumerate(answer.assumptions, start=1)])


def to_markdown(result: AssumptionList) -> str:
    rows = [[a.id, a.category, a.statement, a.value, f"{a.confidence_percent}%", a.basis] for a in result.assumptions]
    return document("Assumptions", table(["Id", "Category", "Assumption", "Value", "Confidence", "Basis"], rows))
