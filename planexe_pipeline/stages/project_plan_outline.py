"""ProjectPlanOutline: what every part of the project plan must agree on, in one short call.

The plan itself is long (scope, deliverables, milestones, people, risks, money): written as one
answer, it is the slowest call of the run. The outline fixes the figures and names the parts
share (title, goal, duration, the deliverables, the dated milestones, the budget in lines), and
the parts are then written at the same time, each from the outline (project_plan_parts.py).
Our code numbers deliverables D-1.., milestones MS-1.. in time order and budget lines B-1..,
stretches the duration over the last milestone, and computes the budget's totals, so the
figures agree by construction.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import SOFT, bounded
from planexe_pipeline.stages import select_scenario, strategic_decisions
from planexe_pipeline.stages.markdown import bullets, user_prompt, document, table
from planexe_pipeline.stages.select_scenario import ScenarioSelection
from planexe_pipeline.stages.vital_few_levers import VitalLevers

_CURRENCY_CODE = re.compile(r"\b[A-Z]{3}\b")


class MilestoneDate(BaseModel):
    name: str = Field(description="The event, e.g. 'Permits granted'.")
    month: int = Field(ge=1, le=120, json_schema_extra=SOFT, description="Months after the start at which it is due.")


class DeliverableName(BaseModel):
    name: str = Field(description="What is handed over, in a few words.", json_schema_extra=bounded(chars=120))


class BudgetFigure(BaseModel):
    item: str = Field(description="Cost item, e.g. 'Equipment', 'Staff', 'Permits'.", json_schema_extra=bounded(chars=80))
    amount: float = Field(ge=0, description="Estimated cost in the budget currency.")


class OutlineAnswer(BaseModel):
    title: str = Field(description="The project's name.")
    goal_statement: str = Field(description="One sentence: what the project achieves, for whom, by when.",
                                json_schema_extra=bounded(chars=300))
    duration_months: int = Field(ge=1, le=120, json_schema_extra=SOFT,
                                 description="Total duration from start to handover, in months.")
    deliverables: list[DeliverableName] = Field(description="Four to eight deliverables.",
                                                json_schema_extra=bounded(8, soft=True))
    milestones: list[MilestoneDate] = Field(description="Four to eight milestones in time order.",
                                            json_schema_extra=bounded(8, soft=True))
    currency: str = Field(description="ISO 4217 code of the budget currency.", json_schema_extra=bounded(chars=8))
    budget_lines: list[BudgetFigure] = Field(description="Five to ten cost lines covering the whole project.",
                                             json_schema_extra=bounded(10, soft=True))
    contingency_percent: float = Field(ge=0, le=50, json_schema_extra=SOFT,
                                       description="Reserve added on top of the lines, in percent.")


class NamedDeliverable(BaseModel):
    id: str = Field(description="D-1.. assigned by our code.")
    name: str


class DatedMilestone(MilestoneDate):
    id: str = Field(description="MS-1.. assigned by our code, in time order.")


class BudgetLineFigure(BudgetFigure):
    id: str = Field(description="B-1.. assigned by our code.")


class ProjectPlanOutlineAnswer(BaseModel):
    model_config = ConfigDict(title="ProjectPlanOutline")  # the name models know it by

    title: str
    goal_statement: str
    duration_months: int
    deliverables: list[NamedDeliverable]
    milestones: list[DatedMilestone]
    currency: str
    budget_lines: list[BudgetLineFigure]
    contingency_percent: float
    subtotal: float = Field(description="Sum of the lines, by our code.")
    contingency: float = Field(description="subtotal x contingency_percent, by our code.")
    total: float = Field(description="subtotal + contingency, by our code.")


SYSTEM_PROMPT = """You outline the core plan of a project, which others will then write in full.
Follow the chosen scenario and strategic decisions, respect the reviewed assumptions and act on
the pre-project assessment. Fix only what every part of the plan must agree on: the project's
name and goal, its total duration, the deliverables by name, the milestones with their month,
and the budget as cost lines in one currency with a contingency. Use the figures already
assumed; keep everything specific to this project."""


def currency_code(text: str) -> str:
    """The ISO code in what the model wrote ('EUR (euro)' -> 'EUR'); the text itself if it has none."""
    match = _CURRENCY_CODE.search(text)
    return match.group(0) if match else text.strip()


def money(amount: float, currency: str) -> str:
    code = currency if _CURRENCY_CODE.fullmatch(currency) else ""
    return f"{code} {amount:,.0f}".strip()


def execute(llm: LLMExecutor, *, plan: str, vital: VitalLevers, selection: ScenarioSelection, assumptions: str,
            assessment: str) -> ProjectPlanOutlineAnswer:
    answer = llm.structured(OutlineAnswer, SYSTEM_PROMPT, user_prompt(
        plan=plan, strategic_decisions=strategic_decisions.to_markdown(vital),
        selected_scenario=select_scenario.to_markdown(selection), assumptions=assumptions,
        pre_project_assessment=assessment))
    return build_outline(answer)


def build_outline(answer: OutlineAnswer) -> ProjectPlanOutlineAnswer:
    in_time_order = sorted(answer.milestones, key=lambda m: m.month)  # stable: ties keep the answer's order
    # A milestone after the end would contradict the plan: the duration stretches to cover it.
    duration = max([answer.duration_months, *(m.month for m in answer.milestones)])
    subtotal = round(sum(line.amount for line in answer.budget_lines), 2)
    contingency = round(subtotal * answer.contingency_percent / 100, 2)
    return ProjectPlanOutlineAnswer(
        title=answer.title, goal_statement=answer.goal_statement, duration_months=duration,
        deliverables=[NamedDeliverable(id=f"D-{n}", name=d.name) for n, d in enumerate(answer.deliverables, 1)],
        milestones=[DatedMilestone(id=f"MS-{n}", **m.model_dump()) for n, m in enumerate(in_time_order, 1)],
        currency=currency_code(answer.currency),
        budget_lines=[BudgetLineFigure(id=f"B-{n}", **line.model_dump()) for n, line in enumerate(answer.budget_lines, 1)],
        contingency_percent=answer.contingency_percent, subtotal=subtotal, contingency=contingency,
        total=round(subtotal + contingency, 2))


def figures_brief(outline: ProjectPlanOutlineAnswer) -> str:
    """The outline's figures in a few lines: what every part is told it must agree with."""
    return "\n".join([f"Project: {outline.title}. Goal: {outline.goal_statement}",
                      f"Duration: {outline.duration_months} months. Budget: {money(outline.total, outline.currency)} "
                      f"including {outline.contingency_percent:g}% contingency."])


def to_markdown(outline: ProjectPlanOutlineAnswer) -> str:
    return document(
        f"Project Plan Outline: {outline.title}",
        figures_brief(outline),
        table(["Id", "Deliverable"], [[d.id, d.name] for d in outline.deliverables]),
        table(["Id", "Milestone", "Month"], [[m.id, m.name, m.month] for m in outline.milestones]),
        table(["Id", "Cost item", "Amount"], [[b.id, b.item, money(b.amount, outline.currency)]
                                               for b in outline.budget_lines]),
        bullets([f"Subtotal {money(outline.subtotal, outline.currency)}",
                 f"Contingency {money(outline.contingency, outline.currency)}",
                 f"Total {money(outline.total, outline.currency)}"]),
    )
