"""ReviewAssumptions: a sceptical check of each key assumption, flagging the weak ones.

One check per key assumption id by our rule: unknown ids dropped, a repeated id keeps its
first check, an assumption left unchecked gets verdict "not reviewed", flagged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.distill_assumptions import KEY_ASSUMPTIONS, DistilledAssumptions
from planexe_pipeline.stages.markdown import bullets, user_prompt, document, heading, table
from planexe_pipeline.stages.answer_ids import map_answers

Verdict = Literal["sound", "questionable", "unrealistic"]


class AssumptionCheckAnswer(BaseModel):
    assumption_id: str = Field(description="The id of the key assumption checked, exactly as listed (e.g. KA-2).")
    verdict: Verdict = Field(description="sound: plausible as stated; questionable: needs evidence; unrealistic: likely wrong.")
    issue: str = Field(description="What is wrong or unproven; 'none' if sound.")
    recommendation: str = Field(description="How to fix or verify it, with a corrected figure where possible.")


class ReviewAnswer(BaseModel):
    checks: list[AssumptionCheckAnswer] = Field(description="One check per listed key assumption.",
                                                json_schema_extra=bounded(KEY_ASSUMPTIONS, soft=True))
    missing_assumptions: list[str] = Field(description="Two to four important assumptions the list leaves out.",
                                           json_schema_extra=bounded(4, chars=240, soft=True))
    overall_assessment: str = Field(description="Two or three sentences: how far the plan can rely on these assumptions.")


class AssumptionCheck(BaseModel):
    assumption_id: str
    statement: str
    verdict: Verdict | Literal["not reviewed"]
    issue: str
    recommendation: str
    defaulted: bool = False


class AssumptionReview(BaseModel):
    checks: list[AssumptionCheck]
    missing_assumptions: list[str]
    overall_assessment: str


SYSTEM_PROMPT = """You review a project's key assumptions the way a sceptical investor would.
For every listed id, judge whether the figure is sound, questionable or unrealistic for this
project and place, name the issue and say how to verify or correct it (give a better figure
when you can). Then list important assumptions that are missing and give an overall verdict."""


def execute(llm: LLMExecutor, plan: str, distilled: DistilledAssumptions) -> AssumptionReview:
    brief = "\n".join(f"- {k.id} {k.statement} Value: {k.value}. Confidence {k.confidence_percent}%."
                      for k in distilled.key_assumptions)
    answer = llm.structured(ReviewAnswer, SYSTEM_PROMPT, user_prompt(plan=plan, key_assumptions=brief))
    return apply_review(distilled, answer)


def apply_review(distilled: DistilledAssumptions, answer: ReviewAnswer) -> AssumptionReview:
    by_id = map_answers([k.id for k in distilled.key_assumptions], answer.checks, lambda c: c.assumption_id).by_id
    checks = []
    for k in distilled.key_assumptions:
        given = by_id.get(k.id)
        if given is None:
            checks.append(AssumptionCheck(assumption_id=k.id, statement=k.statement, verdict="not reviewed",
                                          issue="The review gave no check for this assumption.",
                                          recommendation="Verify it before relying on it.", defaulted=True))
        else:
            checks.append(AssumptionCheck(assumption_id=k.id, statement=k.statement, verdict=given.verdict,
                                          issue=given.issue, recommendation=given.recommendation))
    return AssumptionReview(checks=checks, missing_assumptions=answer.missing_assumptions,
                            overall_assessment=answer.overall_assessment)


def to_markdown(result: AssumptionReview) -> str:
    flagged = [c for c in result.checks if c.verdict != "sound"]
    rows = [[c.assumption_id, c.statement, c.verdict, c.issue, c.recommendation] for c in result.checks]
    return document(
        "Assumption Review",
        result.overall_assessment,
        f"{len(flagged)} of {len(result.checks)} key assumptions are flagged.",
        table(["Id", "Assumption", "Verdict", "Issue", "Recommendation"], rows),
        heading("Missing assumptions", 3) + "\n\n" + bullets(result.missing_assumptions),
    )
