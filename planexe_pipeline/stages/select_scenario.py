"""SelectScenario: which candidate scenario the plan follows, and why.

An answer naming an unknown scenario id falls back, by our rule, to the balanced scenario
(or the first one), flagged as defaulted.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.stages.candidate_scenarios import CandidateScenarioSet, Scenario, choices_table
from planexe_pipeline.stages.markdown import user_prompt, document, heading, table
from planexe_pipeline.stages.answer_ids import normalise_id


class SelectionAnswer(BaseModel):
    scenario_id: str = Field(description="The id of the chosen scenario, exactly as listed (e.g. S-2).")
    justification: str = Field(description="Why this scenario fits the plan's goal, means and constraints best.")
    why_not_others: str = Field(description="Why the other scenarios were not chosen.")


class ScenarioSelection(BaseModel):
    scenario: Scenario
    justification: str
    why_not_others: str
    defaulted: bool = Field(default=False, description="True when the answer named no listed scenario.")


SYSTEM_PROMPT = """You choose the strategy a project will follow.
Compare the candidate scenarios against the plan's goal, budget, time and appetite for risk,
pick exactly one scenario id, justify the choice in a few sentences, and say briefly why the
others lose. Prefer the scenario that is realistic for whoever is behind the plan."""


def scenarios_brief(candidates: CandidateScenarioSet) -> str:
    parts = []
    for s in candidates.scenarios:
        picks = "; ".join(f"{c.lever_name}: {c.option}" for c in s.choices)
        parts.append(f"- {s.id} {s.name} ({s.stance}): {s.summary} Choices: {picks}")
    return "\n".join(parts)


def execute(llm: LLMExecutor, plan: str, candidates: CandidateScenarioSet) -> ScenarioSelection:
    prompt = user_prompt(plan=plan, scenarios=scenarios_brief(candidates))
    answer = llm.structured(SelectionAnswer, SYSTEM_PROMPT, prompt)
    return apply_selection(candidates, answer)


def apply_selection(candidates: CandidateScenarioSet, answer: SelectionAnswer) -> ScenarioSelection:
    if not candidates.scenarios:
        raise ValueError("SelectScenario needs at least one candidate scenario")
    by_id = {s.id: s for s in candidates.scenarios}
    chosen = by_id.get(normalise_id(answer.scenario_id) or "")
    if chosen is not None:
        return ScenarioSelection(scenario=chosen, justification=answer.justification, why_not_others=answer.why_not_others)
    fallback = next((s for s in candidates.scenarios if s.stance == "balanced"), candidates.scenarios[0])
    return ScenarioSelection(scenario=fallback, defaulted=True, why_not_others=answer.why_not_others,
                             justification=f"The answer named no listed scenario; {fallback.id} was taken by rule. "
                                           + answer.justification)


def to_markdown(result: ScenarioSelection) -> str:
    s = result.scenario
    return document(
        "Selected Scenario",
        table(["", ""], [["Scenario", f"{s.id} {s.name}"], ["Stance", s.stance]]),
        s.summary,
        heading("Strategic choices", 3) + "\n\n" + choices_table(s),
        heading("Why this scenario", 3) + "\n\n" + result.justification,
        heading("Why not the others", 3) + "\n\n" + result.why_not_others,
    )
