"""Directives: what the user's prompt tells the plan to do, keep or avoid, each with its weight.

One call at the very start, from the prompt alone: the constraints, stated facts, requirements,
banned items and intent, each as one statement with its importance. Our code numbers them
(DIR-1, ...), so that the adherence checks later (directive_adherence.py) and the report refer
to the same directive by the same id.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import document, table

Kind = Literal["constraint", "stated fact", "requirement", "banned", "intent"]
Importance = Literal["critical", "high", "medium", "low"]


class DirectiveAnswer(BaseModel):
    kind: Kind = Field(description="constraint: a limit (budget, date, size); stated fact: something the user says is "
                                   "true; requirement: something the plan must include; banned: something it must "
                                   "not use or do; intent: what the user wants to achieve.")
    statement: str = Field(description="The directive in one sentence, in the user's own words where possible.",
                           json_schema_extra=bounded(chars=240))
    importance: Importance = Field(description="critical: the plan is worthless without it; low: a preference.")


class DirectivesAnswer(BaseModel):
    directives: list[DirectiveAnswer] = Field(
        description="Every directive the prompt states, most important first; up to twelve, none if it states none.",
        json_schema_extra=bounded(12, soft=True))


class Directive(BaseModel):
    id: str = Field(description="Our id of the directive, DIR-1.., in the order extracted.")
    kind: Kind
    statement: str
    importance: Importance


class DirectiveList(BaseModel):
    directives: list[Directive] = Field(default_factory=list)


SYSTEM_PROMPT = """You read a request for a project plan and list what it tells the planners.
List each constraint (budget, deadline, size, place), stated fact, requirement, banned item
and intent the prompt states, one per entry, in one sentence that keeps the user's own words
where possible. Rate how much each one matters to the user. List only what the prompt says;
add nothing a planner would merely find sensible."""


def execute(llm: LLMExecutor, plan: str) -> DirectiveList:
    answer = llm.structured(DirectivesAnswer, SYSTEM_PROMPT, plan)
    return DirectiveList(directives=[Directive(id=f"DIR-{i}", **d.model_dump())
                                     for i, d in enumerate(answer.directives, start=1)])


def to_markdown(result: DirectiveList) -> str:
    rows = [[d.id, d.kind, d.importance, d.statement] for d in result.directives]
    return document("Directives", table(["Id", "Kind", "Importance", "Directive"], rows))
