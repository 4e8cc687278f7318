"""DeduplicateLevers: keep, merge or remove each potential lever, by its id.

Our rule maps the answer onto the levers we asked about: unknown ids are dropped, a repeated
id keeps its first answer, a lever with no answer is kept (flagged), a merge into an unknown
lever, into itself or into a lever that is not kept counts as keep. If fewer than MIN_KEPT
levers survive, dropped ones come back in id order (flagged) so the later stages have a choice.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import user_prompt, document, heading, table
from planexe_pipeline.stages.answer_ids import map_answers, normalise_id
from planexe_pipeline.stages.potential_levers import MAX_LEVERS, Lever, PotentialLeverList, levers_brief, options_text

MIN_KEPT = 5

Decision = Literal["keep", "merge", "remove"]


class LeverDecisionAnswer(BaseModel):
    lever_id: str = Field(description="The id of the lever judged, exactly as listed (e.g. L-3).")
    decision: Decision = Field(description="keep: distinct and important; merge: overlaps another lever; remove: minor or off-topic.")
    merge_into_id: str | None = Field(default=None, description="For merge only: the id of the kept lever that absorbs this one.")
    justification: str = Field(description="One sentence explaining the decision.")


class LeverDecisionAnswers(BaseModel):
    decisions: list[LeverDecisionAnswer] = Field(description="One decision per listed lever.",
                                                 json_schema_extra=bounded(MAX_LEVERS, soft=True))


class LeverOutcome(BaseModel):
    lever_id: str
    decision: Decision
    merge_into_id: str | None = None
    justification: str
    defaulted: bool = Field(default=False, description="True when our rule, not the model, set this decision.")


class DeduplicatedLevers(BaseModel):
    levers: list[Lever] = Field(description="The levers kept, in id order.")
    outcomes: list[LeverOutcome] = Field(description="One outcome per potential lever, in id order.")


SYSTEM_PROMPT = """You clean up a list of strategic levers before anyone analyses them.
For every lever id decide: keep it (distinct and important), merge it into another lever that
covers the same choice (name that lever's id), or remove it (minor, operational or off-topic).
Prefer merging over keeping near-duplicates. Judge every listed id once and justify briefly."""


def execute(llm: LLMExecutor, plan: str, potential: PotentialLeverList) -> DeduplicatedLevers:
    answer = llm.structured(LeverDecisionAnswers, SYSTEM_PROMPT,
                            user_prompt(plan=plan, levers=levers_brief(potential.levers)))
    return apply_decisions(potential, answer)


def apply_decisions(potential: PotentialLeverList, answer: LeverDecisionAnswers) -> DeduplicatedLevers:
    ids = [lever.id for lever in potential.levers]
    by_id = map_answers(ids, answer.decisions, lambda a: a.lever_id).by_id
    outcomes: dict[str, LeverOutcome] = {}
    for lever_id in ids:
        given = by_id.get(lever_id)
        if given is None:
            outcomes[lever_id] = LeverOutcome(lever_id=lever_id, decision="keep", defaulted=True,
                                              justification="No decision was given; kept by default.")
        else:
            outcomes[lever_id] = LeverOutcome(lever_id=lever_id, decision=given.decision,
                                              merge_into_id=normalise_id(given.merge_into_id),
                                              justification=given.justification)
    for lever_id, outcome in outcomes.items():
        if outcome.decision != "merge":
            outcome.merge_into_id = None
            continue
        target = outcomes.get(outcome.merge_into_id or "")
        if target is None or target.lever_id == lever_id or target.decision != "keep":
            outcome.decision, outcome.merge_into_id, outcome.defaulted = "keep", None, True
            outcome.justification += " (Merge target missing or not kept; kept instead.)"
    kept = [i for i in ids if outcomes[i].decision == "keep"]
    for lever_id in ids:
        if len(kept) >= MIN_KEPT:
            break
        if lever_id not in kept:
            outcome = outcomes[lever_id]
            outcome.decision, outcome.merge_into_id, outcome.defaulted = "keep", None, True
            outcome.justification += " (Restored: too few levers were kept.)"
            kept.append(lever_id)
    kept_set = set(kept)
    return DeduplicatedLevers(levers=[lever for lever in potential.levers if lever.id in kept_set],
                              outcomes=[outcomes[i] for i in ids])


def to_markdown(result: DeduplicatedLevers) -> str:
    decisions = [[o.lever_id, o.decision + (f" into {o.merge_into_id}" if o.merge_into_id else ""),
                  o.justification + (" (defaulted)" if o.defaulted else "")] for o in result.outcomes]
    kept = [[lever.id, lever.name, lever.question, options_text(lever.options)] for lever in result.levers]
    return document(
        "Deduplicated Levers",
        table(["Id", "Decision", "Justification"], decisions),
        heading("Levers kept", 3) + "\n\n" + table(["Id", "Lever", "Question", "Options"], kept),
    )
