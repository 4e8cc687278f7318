"""The project plan's parts, each written at the same time from the outline (project_plan_outline.py).

Every part is told the outline's figures (duration, budget total) and lists the outline's items
it details by id (deliverables, milestones, budget lines), so that what it writes attaches to
the outline's own items; the merge (project_plan.py) checks what it says against the outline.
A part reads the outline and the few upstream sections its subject needs, condensed, not the
whole plan again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages import select_scenario, strategic_decisions
from planexe_pipeline.stages.condense import outline as condensed
from planexe_pipeline.stages.markdown import user_prompt, one_line
from planexe_pipeline.stages.project_plan_outline import ProjectPlanOutlineAnswer, figures_brief, money
from planexe_pipeline.stages.select_scenario import ScenarioSelection
from planexe_pipeline.stages.vital_few_levers import VitalLevers


# -- scope: what is done and handed over ---------------------------------------------------------
class SmartCriteria(BaseModel):
    specific: str = Field(json_schema_extra=bounded(chars=240), description="Exactly what will be achieved.")
    measurable: str = Field(description="The numbers that show it was achieved.",
                            json_schema_extra=bounded(chars=240))
    achievable: str = Field(description="Why it is within reach with the means assumed.",
                            json_schema_extra=bounded(chars=240))
    relevant: str = Field(json_schema_extra=bounded(chars=240), description="Why it matters to the sponsor.")
    time_bound: str = Field(description="The deadline and the main intermediate dates.",
                            json_schema_extra=bounded(chars=240))


class DeliverableDetail(BaseModel):
    deliverable_id: str = Field(description="The id of the deliverable described, exactly as listed (e.g. D-2).")
    description: str = Field(description="What it contains and who receives it.", json_schema_extra=bounded(chars=400))
    acceptance_criteria: str = Field(description="How the sponsor checks that it is done.",
                                     json_schema_extra=bounded(chars=240))


class ScopePart(BaseModel):
    smart_criteria: SmartCriteria
    scope_in: list[str] = Field(description="What the project does.", json_schema_extra=bounded(8, chars=200, soft=True))
    scope_out: list[str] = Field(description="What it explicitly does not do.",
                                 json_schema_extra=bounded(6, chars=200, soft=True))
    deliverables: list[DeliverableDetail] = Field(description="One entry per listed deliverable.",
                                                  json_schema_extra=bounded(8, soft=True))


# -- schedule: when each milestone counts as reached, and what the work relies on ---------------
class MilestoneCriteria(BaseModel):
    milestone_id: str = Field(description="The id of the milestone, exactly as listed (e.g. MS-3).")
    criteria: str = Field(description="What must be true for the milestone to count as reached.",
                          json_schema_extra=bounded(chars=240))


class Dependency(BaseModel):
    description: str = Field(json_schema_extra=bounded(chars=240), description="What the project depends on.")
    kind: Literal["internal", "external"] = Field(description="external: outside the team's control (permits, suppliers, partners).")


class SchedulePart(BaseModel):
    milestones: list[MilestoneCriteria] = Field(description="One entry per listed milestone.",
                                                json_schema_extra=bounded(8, soft=True))
    dependencies: list[Dependency] = Field(description="What the project relies on, internal and external.",
                                           json_schema_extra=bounded(6, soft=True))


# -- people: who is affected, and how success is seen --------------------------------------------
class Stakeholder(BaseModel):
    name: str = Field(description="Person, role, organisation or group.")
    interest: str = Field(description="What they want from the project or fear from it.",
                          json_schema_extra=bounded(chars=240))
    engagement: str = Field(description="How and how often the project involves them.",
                            json_schema_extra=bounded(chars=240))


class SuccessMetric(BaseModel):
    metric: str = Field(json_schema_extra=bounded(chars=160), description="What is measured.")
    target: str = Field(description="The value that counts as success, with its unit and date.",
                        json_schema_extra=bounded(chars=160))


class PeoplePart(BaseModel):
    stakeholders: list[Stakeholder] = Field(description="The people and organisations that matter, most influential first.",
                                            json_schema_extra=bounded(8, soft=True))
    success_metrics: list[SuccessMetric] = Field(description="Three to six measurable signs of success.",
                                                 json_schema_extra=bounded(6, soft=True))


# -- money and risks: what each cost line covers, where the money comes from, what threatens it ---
class BudgetNote(BaseModel):
    line_id: str = Field(description="The id of the cost line, exactly as listed (e.g. B-4).")
    notes: str = Field(description="What the figure covers and how it was estimated.",
                       json_schema_extra=bounded(chars=240))


class KeyRisk(BaseModel):
    risk: str = Field(json_schema_extra=bounded(chars=200), description="The risk in one sentence.")
    mitigation: str = Field(json_schema_extra=bounded(chars=240), description="The main response.")


class MoneyPart(BaseModel):
    budget_notes: list[BudgetNote] = Field(description="One entry per listed cost line.",
                                           json_schema_extra=bounded(10, soft=True))
    funding_sources: list[str] = Field(description="One to three sources the money comes from.",
                                       json_schema_extra=bounded(3, chars=200, soft=True))
    key_risks: list[KeyRisk] = Field(description="The four to six risks that most threaten the goal.",
                                     json_schema_extra=bounded(6, soft=True))


class PlanPartResult(BaseModel):
    """One part's answer, under its key (one item file of the fan-out)."""

    part: str
    scope: ScopePart | None = None
    schedule: SchedulePart | None = None
    people: PeoplePart | None = None
    money: MoneyPart | None = None

    def answer(self) -> BaseModel | None:
        return getattr(self, self.part, None)


# -- the parts ---------------------------------------------------------------------------------
def _deliverables(o: ProjectPlanOutlineAnswer) -> str:
    return "\n".join(f"- {d.id} {one_line(d.name)}" for d in o.deliverables)


def _milestones(o: ProjectPlanOutlineAnswer) -> str:
    return "\n".join(f"- {m.id} {one_line(m.name)} (month {m.month})" for m in o.milestones)


def _budget_lines(o: ProjectPlanOutlineAnswer) -> str:
    return "\n".join(f"- {b.id} {one_line(b.item)}: {money(b.amount, o.currency)}" for b in o.budget_lines)


@dataclass(frozen=True)
class PlanPart:
    key: str
    answer: type[BaseModel]
    ask: str  # what the part writes, in the system prompt's words
    listing: tuple[str, Callable[[ProjectPlanOutlineAnswer], str]] | None  # the outline's items it details, by id
    reads: tuple[str, ...]  # the upstream sections its subject needs, beside the outline


PARTS: tuple[PlanPart, ...] = (
    PlanPart("scope", ScopePart,
             "the SMART criteria of the goal, the scope drawn both ways, and for every listed deliverable what it "
             "contains, who receives it and how the sponsor accepts it",
             ("deliverables_to_describe", _deliverables), ("strategic_decisions", "selected_scenario")),
    PlanPart("schedule", SchedulePart,
             "for every listed milestone what must be true for it to count as reached, and what the project "
             "depends on, inside and outside the team's control",
             ("milestones_to_define", _milestones), ("assumptions", "pre_project_assessment")),
    PlanPart("people", PeoplePart,
             "the stakeholders, most influential first, with what each wants and how the project involves "
             "them, and the measurable signs of success with their dates",
             None, ("selected_scenario",)),
    PlanPart("money", MoneyPart,
             "for every listed cost line what it covers and how it was estimated, where the money comes from, "
             "and the risks that most threaten the goal with the main response to each",
             ("cost_lines_to_explain", _budget_lines), ("assumptions", "pre_project_assessment")),
)

SYSTEM_PROMPT = """You write one part of a project plan whose outline is fixed.
Keep to the outline: its duration, its budget total, its deliverables, milestones and cost lines
by their ids. Do not restate or change its figures, and add no deliverable, milestone or cost
line of your own. Write for this project only, in short concrete sentences. This part: {ask}."""


def execute(llm: LLMExecutor, part: PlanPart, *, plan: str, outline: ProjectPlanOutlineAnswer, vital: VitalLevers,
            selection: ScenarioSelection, assumptions: str, assessment: str) -> PlanPartResult:
    available = {"strategic_decisions": lambda: strategic_decisions.to_markdown(vital),
                 "selected_scenario": lambda: select_scenario.to_markdown(selection),
                 "assumptions": lambda: assumptions, "pre_project_assessment": lambda: assessment}
    # Right after the idea, the part's own list: the ids it answers are the first its prompt shows.
    listing = {part.listing[0]: part.listing[1](outline)} if part.listing else {}
    user = user_prompt(plan=plan, **listing, outline=figures_brief(outline),
                   **{name: condensed(available[name]()) for name in part.reads})
    answer = llm.structured(part.answer, SYSTEM_PROMPT.format(ask=part.ask), user)
    return PlanPartResult(part=part.key, **{part.key: answer})
