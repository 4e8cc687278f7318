"""DistillAssumptions: the handful of key assumptions that matter, numbered KA-1.. by our code.

Each key assumption names the assumption ids it condenses; unknown ids are dropped and a
repeated id is kept once.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import SOFT, bounded
from planexe_pipeline.stages.make_assumptions import MAX_ASSUMPTIONS, AssumptionList
from planexe_pipeline.stages.markdown import user_prompt, document, table
from planexe_pipeline.stages.answer_ids import map_id_list

KEY_ASSUMPTIONS = 8  # the most the prompt asks for


class KeyAssumptionAnswer(BaseModel):
    statement: str = Field(description="The key assumption as one plain sentence with its figure.")
    value: str = Field(description="The figure with its unit or date; 'n/a' if none.")
    confidence_percent: int = Field(ge=0, le=100, json_schema_extra=SOFT, description="Confidence 0-100 that it holds.")
    source_ids: list[str] = Field(description="Ids of the listed assumptions this one condenses (e.g. A-2, A-5).",
                                  json_schema_extra=bounded(MAX_ASSUMPTIONS, soft=True))


class KeyAssumptionAnswers(BaseModel):
    key_assumptions: list[KeyAssumptionAnswer] = Field(description="Five to eight key assumptions, the most decisive first.",
                                                       json_schema_extra=bounded(KEY_ASSUMPTIONS, soft=True))


class KeyAssumption(KeyAssumptionAnswer):
    id: str = Field(description="KA-1.. assigned by our code.")


class DistilledAssumptions(BaseModel):
    key_assumptions: list[KeyAssumption]


SYSTEM_PROMPT = """You distil a long list of project assumptions into the few that decide success.
Merge overlapping ones, drop trivial ones, keep every figure that matters (amounts, dates, rates)
and a confidence for each. Say which listed assumption ids each key assumption comes from.
Write each as one sentence a sponsor can agree or disagree with."""


def assumptions_brief(assumptions: AssumptionList) -> str:
    return "\n".join(f"- {a.id} [{a.category}] {a.statement} Value: {a.value}. Confidence {a.confidence_percent}%."
                     for a in assumptions.assumptions)


def execute(llm: LLMExecutor, plan: str, assumptions: AssumptionList) -> DistilledAssumptions:
    answer = llm.structured(KeyAssumptionAnswers, SYSTEM_PROMPT,
                            user_prompt(plan=plan, assumptions=assumptions_brief(assumptions)))
    known = [a.id for a in assumptions.assumptions]
    key = []
    for n, draft in enumerate(answer.key_assumptions, start=1):
        key.append(KeyAssumption(id=f"KA-{n}", statement=draft.statement, value=draft.value,
                                 confidence_percent=draft.confidence_percent,
                                 source_ids=map_id_list(known, draft.source_ids)))
    return DistilledAssumptions(key_assumptions=key)


def to_markdown(result: DistilledAssumptions) -> str:
    rows = [[k.id, k.statement, k.value, f"{k.confidence_percent}%", ", ".join(k.source_ids) or "-"]
            for k in result.key_assumptions]
    return document("Key Assumptions", table(["Id", "Assumption", "Value", "Confidence", "From"], rows))
