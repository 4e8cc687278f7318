"""Premortem: imagine the project has failed a year from now and explain why.

Looking back from a failure that is taken as certain finds risks that a forward-looking risk
list misses, because nobody has to argue that the plan might fail. Each failure mode gets a
likelihood, the early warning signs to watch and the mitigations to start now.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import SOFT, bounded
from planexe_pipeline.stages.markdown import bullets, condensed_user_prompt, document, heading, one_line, table

Level = Literal["low", "medium", "high"]


class FailureModeAnswer(BaseModel):
    failure_title: str = Field(description="What went wrong, in a few words.")
    failure_story: str = Field(description="Two or three sentences, in the past tense, on how it unfolded.")
    category: Literal["market", "financial", "technical", "operational", "regulatory", "people", "external"] = Field(
        description="The kind of failure.")
    likelihood: Level = Field(json_schema_extra=SOFT, description="How likely this failure is, given the plan as written.")
    impact: Level = Field(json_schema_extra=SOFT, description="How badly it would hurt the project.")
    early_warning_signs: list[str] = Field(description="Two to four observable signals that it is starting to happen.",
                                           json_schema_extra=bounded(4, chars=200, soft=True))
    mitigations: list[str] = Field(description="Two to four actions, starting now, that make it less likely or less harmful.",
                                   json_schema_extra=bounded(4, chars=200, soft=True))


class PremortemAnswer(BaseModel):
    failure_narrative: str = Field(
        description="It is a year later and the project failed: three or four sentences telling what happened.")
    failure_modes: list[FailureModeAnswer] = Field(description="Four to seven distinct failure modes, most likely first.",
                                                   json_schema_extra=bounded(7, soft=True))


class FailureMode(FailureModeAnswer):
    id: str = Field(description="Our id, FM-1.., in the order the failure modes were given.")


class PremortemResult(BaseModel):
    failure_narrative: str
    failure_modes: list[FailureMode] = Field(default_factory=list)


SYSTEM_PROMPT = """You run a premortem. It is one year later, and this project has failed.
Write the short story of the failure, then list the distinct ways it failed, drawing on the
plan's assumptions and its project plan: causes specific to this project, not generic ones.
For each give how likely and how harmful it is, the early warning signs someone could watch for
month by month, and the mitigations to start now."""


def execute(llm: LLMExecutor, *, plan: str, assumptions: str, project_plan: str) -> PremortemResult:
    user = condensed_user_prompt(plan=plan, assumptions=assumptions, project_plan=project_plan)
    answer = llm.structured(PremortemAnswer, SYSTEM_PROMPT, user)
    modes = [FailureMode(id=f"FM-{i}", **mode.model_dump()) for i, mode in enumerate(answer.failure_modes, 1)]
    return PremortemResult(failure_narrative=answer.failure_narrative, failure_modes=modes)


def to_markdown(result: PremortemResult) -> str:
    overview = table(["ID", "Failure mode", "Category", "Likelihood", "Impact"],
                     [[m.id, m.failure_title, m.category, m.likelihood, m.impact] for m in result.failure_modes])
    blocks = ["_It is a year later and the project has failed._", one_line(result.failure_narrative), overview]
    for mode in result.failure_modes:
        blocks += [
            heading(f"{mode.id} {mode.failure_title}", 3),
            f"Likelihood: **{mode.likelihood}**, impact: **{mode.impact}**. {one_line(mode.failure_story)}",
            "**Early warning signs**",
            bullets(mode.early_warning_signs),
            "**Mitigations**",
            bullets(mode.mitigations),
        ]
    return document("Premortem", *blocks)
