"""CandidateScenarios: three coherent strategies, each picking one option per vital lever.

Our code numbers the scenarios S-1..S-3 and maps each scenario's choices onto the vital lever
ids: unknown lever ids are dropped, a repeated one keeps its first choice, a lever left out gets
the option matching the scenario's stance (cautious 1, balanced 2, bold 3), flagged. A missing
scenario is filled in the same way for a stance not yet covered.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import user_prompt, document, heading, table
from planexe_pipeline.stages.answer_ids import map_answers
from planexe_pipeline.stages.potential_levers import levers_brief
from planexe_pipeline.stages.vital_few_levers import MAX_VITAL, VitalLevers

SCENARIO_COUNT = 3
Stance = Literal["ambitious", "balanced", "conservative"]
STANCE_OPTION = {"conservative": 1, "balanced": 2, "ambitious": 3}


class LeverChoiceAnswer(BaseModel):
    lever_id: str = Field(description="The id of a vital lever, exactly as listed (e.g. L-3).")
    # Bounds are a hint, not a check: an out-of-range answer is clamped by our code rather than
    # failing validation and costing a retry.
    option_number: int = Field(json_schema_extra={"minimum": 1, "maximum": 3},
                               description="The option chosen for that lever: 1, 2 or 3.")


class ScenarioAnswer(BaseModel):
    name: str = Field(description="A short, telling name for the scenario.")
    stance: Stance = Field(description="The scenario's overall appetite for risk and ambition.")
    summary: str = Field(description="Two or three sentences: the strategy and what it trades off.")
    choices: list[LeverChoiceAnswer] = Field(description="One choice for every listed lever.",
                                             json_schema_extra=bounded(MAX_VITAL, soft=True))


class ScenarioAnswers(BaseModel):
    scenarios: list[ScenarioAnswer] = Field(description="Exactly three scenarios: ambitious, balanced, conservative.",
                                            json_schema_extra=bounded(3, soft=True))


class ChosenOption(BaseModel):
    lever_id: str
    lever_name: str
    option_number: int
    option: str
    defaulted: bool = False


class Scenario(BaseModel):
    id: str = Field(description="S-1.. assigned by our code.")
    name: str
    stance: Stance
    summary: str
    choices: list[ChosenOption]


class CandidateScenarioSet(BaseModel):
    scenarios: list[Scenario]


SYSTEM_PROMPT = """You turn a project's vital strategic levers into three candidate scenarios.
Make one ambitious, one balanced and one conservative scenario. Each picks exactly one option
(1, 2 or 3) for every listed lever id, and the picks must hang together as one strategy.
Give each a telling name and summarise what it gains and what it gives up."""


def execute(llm: LLMExecutor, plan: str, vital: VitalLevers) -> CandidateScenarioSet:
    answer = llm.structured(ScenarioAnswers, SYSTEM_PROMPT,
                            user_prompt(plan=plan, vital_levers=levers_brief(v.lever for v in vital.levers)))
    return build_scenarios(vital, answer)


def build_scenarios(vital: VitalLevers, answer: ScenarioAnswers) -> CandidateScenarioSet:
    drafts = list(answer.scenarios[:SCENARIO_COUNT])
    for stance in ("balanced", "ambitious", "conservative"):
        if len(drafts) >= SCENARIO_COUNT:
            break
        if all(d.stance != stance for d in drafts):
            drafts.append(ScenarioAnswer(name=f"{stance.capitalize()} path", stance=stance, choices=[],
                                         summary=f"Built by rule: option {STANCE_OPTION[stance]} of every lever."))
    scenarios = [Scenario(id=f"S-{n}", name=d.name, stance=d.stance, summary=d.summary, choices=_choices(vital, d))
                 for n, d in enumerate(drafts, start=1)]
    return CandidateScenarioSet(scenarios=scenarios)


def _choices(vital: VitalLevers, draft: ScenarioAnswer) -> list[ChosenOption]:
    levers = [v.lever for v in vital.levers]
    by_id = map_answers([lever.id for lever in levers], draft.choices, lambda c: c.lever_id).by_id
    chosen = []
    for lever in levers:
        given = by_id.get(lever.id)
        number = given.option_number if given else STANCE_OPTION[draft.stance]
        number = min(max(number, 1), len(lever.options))
        chosen.append(ChosenOption(lever_id=lever.id, lever_name=lever.name, option_number=number,
                                   option=lever.options[number - 1], defaulted=given is None))
    return chosen


def choices_table(scenario: Scenario) -> str:
    return table(["Lever", "Option"], [[f"{c.lever_id} {c.lever_name}",
                                        f"{c.option_number}. {c.option}" + (" (defaulted)" if c.defaulted else "")]
                                       for c in scenario.choices])


def scenario_section(scenario: Scenario, level: int = 3) -> str:
    return "\n\n".join([heading(f"{scenario.id} {scenario.name} ({scenario.stance})", level), scenario.summary,
                        choices_table(scenario)])


def to_markdown(result: CandidateScenarioSet) -> str:
    return document("Candidate Scenarios", *[scenario_section(s) for s in result.scenarios])
