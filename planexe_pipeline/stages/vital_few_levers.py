"""VitalFewLevers: the four or five levers that decide most of the plan's outcome.

The model names lever ids in order of importance; our rule keeps known ids once each, in the
order given, up to MAX_VITAL, and tops the list up to MIN_VITAL from the remaining levers in
id order (flagged) when the answer names too few.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.enrich_levers import EnrichedLever, EnrichedLevers
from planexe_pipeline.stages.markdown import user_prompt, document, table
from planexe_pipeline.stages.answer_ids import map_answers, map_id_list
from planexe_pipeline.stages.potential_levers import MAX_LEVERS, levers_brief, options_text

MIN_VITAL = 4
MAX_VITAL = 5


class VitalPickAnswer(BaseModel):
    lever_id: str = Field(description="The id of a chosen lever, exactly as listed (e.g. L-3).")
    why_vital: str = Field(description="Why this choice decides so much of the outcome.")


class VitalPickAnswers(BaseModel):
    # Soft, and one per listed lever rather than five: an answer that ranks every lever is
    # usable (the stage keeps the first MAX_VITAL), and the simulator writes one.
    picks: list[VitalPickAnswer] = Field(description="Four or five levers, the most important first.",
                                         json_schema_extra=bounded(MAX_LEVERS, soft=True))
    summary: str = Field(description="Two sentences: what the chosen levers together decide.")


class VitalLever(BaseModel):
    lever: EnrichedLever
    why_vital: str
    defaulted: bool = Field(default=False, description="True when our rule added this lever, not the model.")


class VitalLevers(BaseModel):
    levers: list[VitalLever] = Field(description="The vital levers, most important first.")
    summary: str


SYSTEM_PROMPT = """You pick the vital few among a project's strategic levers.
Choose the four or five lever ids whose decision changes the outcome most (cost, timeline, risk,
success), most important first. Leave out levers that follow from others or matter only in detail.
Say for each why it is vital, then summarise what the chosen levers decide together."""


def execute(llm: LLMExecutor, plan: str, enriched: EnrichedLevers) -> VitalLevers:
    briefs = "\n\n".join(f"{levers_brief([lv])}\n  At stake: {lv.description}" for lv in enriched.levers)
    answer = llm.structured(VitalPickAnswers, SYSTEM_PROMPT, user_prompt(plan=plan, levers=briefs))
    return apply_picks(enriched, answer)


def apply_picks(enriched: EnrichedLevers, answer: VitalPickAnswers) -> VitalLevers:
    by_id = {lever.id: lever for lever in enriched.levers}
    picked = map_answers(list(by_id), answer.picks, lambda a: a.lever_id).by_id
    in_answer_order = map_id_list(by_id, (a.lever_id for a in answer.picks))  # the model ranks by importance
    chosen = [VitalLever(lever=by_id[i], why_vital=picked[i].why_vital) for i in in_answer_order[:MAX_VITAL]]
    for lever in enriched.levers:
        if len(chosen) >= MIN_VITAL:
            break
        if lever.id not in picked:
            chosen.append(VitalLever(lever=lever, why_vital="Added by rule: the answer named too few vital levers.",
                                     defaulted=True))
    return VitalLevers(levers=chosen, summary=answer.summary)


def to_markdown(result: VitalLevers) -> str:
    rows = [[v.lever.id, v.lever.name, v.why_vital + (" (defaulted)" if v.defaulted else ""), options_text(v.lever.options)]
            for v in result.levers]
    return document("Vital Few Levers", result.summary, table(["Id", "Lever", "Why vital", "Options"], rows))
