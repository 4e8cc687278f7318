"""PotentialLevers: the strategic choices that shape the plan, each with three options.

The LLM names the levers; our code numbers them L-1, L-2, ... so later stages can refer to
them. The id-matching rule every lever stage uses lives here too.
"""

from __future__ import annotations

from typing import Iterable

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import user_prompt, document, one_line, table

MAX_LEVERS = 12  # the prompt asks for eight to twelve
OPTIONS_PER_LEVER = 3


class LeverDraft(BaseModel):
    name: str = Field(description="Short name of the strategic choice, e.g. 'Financing model'.",
                      json_schema_extra=bounded(chars=60))
    question: str = Field(description="The decision as one question the sponsor must answer.",
                          json_schema_extra=bounded(chars=130))
    options: list[str] = Field(min_length=OPTIONS_PER_LEVER,
                               json_schema_extra=bounded(OPTIONS_PER_LEVER, chars=90, soft=True),
                               description="Exactly three distinct, realistic options, ordered from most cautious to boldest.")
    consequences: str = Field(description="What changes for cost, time, risk or outcome depending on the option chosen.",
                              json_schema_extra=bounded(chars=180))


class LeverDrafts(BaseModel):
    levers: list[LeverDraft] = Field(json_schema_extra=bounded(MAX_LEVERS, soft=True, minItems=8),
                                     description="Eight to twelve levers that genuinely differ from each other.")


class Lever(BaseModel):
    id: str = Field(description="L-1, L-2, ... assigned by our code.")
    name: str
    question: str
    options: list[str]
    consequences: str


class PotentialLeverList(BaseModel):
    levers: list[Lever]


SYSTEM_PROMPT = """You find the strategic levers of a project: the few big choices whose answer changes
its cost, speed, risk or result (scope, financing, sourcing, technology, partnerships, location,
pace, governance). Ignore routine tasks. For each lever ask one clear question and give exactly
three realistic options, from the most cautious to the boldest, specific to this project.
Say what each choice changes. Offer eight to twelve levers that do not overlap."""


def execute(llm: LLMExecutor, plan: str) -> PotentialLeverList:
    drafts = llm.structured(LeverDrafts, SYSTEM_PROMPT, user_prompt(plan=plan))
    return PotentialLeverList(levers=[
        Lever(id=f"L-{n}", name=d.name, question=d.question, options=d.options[:OPTIONS_PER_LEVER],
              consequences=d.consequences)
        for n, d in enumerate(drafts.levers[:MAX_LEVERS], start=1)
    ])


def lever_brief(lever: Lever) -> str:
    """One lever as the next LLM call sees it, its id first so the answer can name it."""
    options = " ".join(f"({n}) {one_line(o)}" for n, o in enumerate(lever.options, start=1))
    return f"- {lever.id} {one_line(lever.name)}: {one_line(lever.question)} Options: {options}"


def levers_brief(levers: Iterable[Lever]) -> str:
    return "\n".join(lever_brief(lever) for lever in levers)


def options_text(options: list[str]) -> str:
    return " / ".join(f"{n}. {one_line(o)}" for n, o in enumerate(options, start=1))


def to_markdown(result: PotentialLeverList) -> str:
    rows = [[lever.id, lever.name, lever.question, options_text(lever.options), lever.consequences]
            for lever in result.levers]
    return document("Potential Levers", table(["Id", "Lever", "Question", "Options", "Consequences"], rows))

