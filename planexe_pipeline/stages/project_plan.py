"""ProjectPlan: the plan itself: goal, SMART criteria, scope, deliverables, milestones, people, risks, money.

Governance, team, WBS and the report are built from it. Our code numbers deliverables D-1..
and milestones MS-1.., and computes the budget total from its lines so the figures agree.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import FEWEST_ITEMS, SOFT, bounded
from planexe_pipeline.stages.markdown import bullets, context, document, heading, table


class SmartCriteria(BaseModel):
    specific: str = Field(json_schema_extra=bounded(chars=240), description="Exactly what will be achieved.")
    measurable: str = Field(description="The numbers that show it was achieved.",
                            json_schema_extra=bounded(chars=240))
    achievable: str = Field(description="Why it is within reach with the means assumed.",
                            json_schema_extra=bounded(chars=240))
    relevant: str = Field(json_schema_extra=bounded(chars=240), description="Why it matters to the sponsor.")
    time_bound: str = Field(description="The deadline and the main intermediate dates.",
                            json_schema_extra=bounded(chars=240))


class DeliverableAnswer(BaseModel):
    name: str = Field(description="What is handed over, in a few words.")
    description: str = Field(description="What it contains and who receives it.",
                             json_schema_extra=bounded(chars=400))
    acceptance_criteria: str = Field(description="How the sponsor checks that it is done.",
                                     json_schema_extra=bounded(chars=240))


class MilestoneAnswer(BaseModel):
    name: str = Field(description="The event, e.g. 'Permits granted'.")
    month: int = Field(ge=1, le=120, json_schema_extra=SOFT, description="Months after the start at which it is due.")
    criteria: str = Field(description="What must be true for the milestone to count as reached.",
                          json_schema_extra=bounded(chars=240))


class Stakeholder(BaseModel):
    name: str = Field(description="Person, role, organisation or group.")
    interest: str = Field(description="What they want from the project or fear from it.",
                          json_schema_extra=bounded(chars=240))
    engagement: str = Field(description="How and how often the project involves them.",
                            json_schema_extra=bounded(chars=240))


class KeyRisk(BaseModel):
    risk: str = Field(json_schema_extra=bounded(chars=200), description="The risk in one sentence.")
    mitigation: str = Field(json_schema_extra=bounded(chars=240), description="The main response.")


class BudgetLine(BaseModel):
    item: str = Field(description="Cost item, e.g. 'Equipment', 'Staff', 'Permits'.",
                      json_schema_extra=bounded(chars=80))
    amount: float = Field(ge=0, description="Estimated cost in the budget currency.")
    notes: str = Field(description="What the figure covers and how it was estimated.",
                       json_schema_extra=bounded(chars=240))


class BudgetAnswer(BaseModel):
    currency: str = Field(description="ISO 4217 code of the budget currency.",
                          json_schema_extra=bounded(chars=8))
    lines: list[BudgetLine] = Field(description="Five to ten cost lines covering the whole project.",
                                    json_schema_extra=bounded(10, soft=True))
    contingency_percent: float = Field(ge=0, le=50, json_schema_extra=SOFT, description="Reserve added on top of the lines, in percent.")
    funding_sources: list[str] = Field(description="Where the money comes from.",
                                       json_schema_extra=bounded(FEWEST_ITEMS, chars=200, soft=True))


class SuccessMetric(BaseModel):
    metric: str = Field(json_schema_extra=bounded(chars=160), description="What is measured.")
    target: str = Field(description="The value that counts as success, with its unit and date.",
                        json_schema_extra=bounded(chars=160))


class Dependency(BaseModel):
    description: str = Field(json_schema_extra=bounded(chars=240), description="What the project depends on.")
    kind: Literal["internal", "external"] = Field(description="external: outside the team's control (permits, suppliers, partners).")


class ProjectPlanAnswer(BaseModel):
    title: str = Field(description="The project's name.")
    goal_statement: str = Field(description="One sentence: what the project achieves, for whom, by when.",
                                json_schema_extra=bounded(chars=300))
    smart_criteria: SmartCriteria
    duration_months: int = Field(ge=1, le=120, json_schema_extra=SOFT, description="Total duration from start to handover, in months.")
    scope_in: list[str] = Field(description="What the project does.",
                                json_schema_extra=bounded(8, chars=200, soft=True))
    scope_out: list[str] = Field(description="What it explicitly does not do.",
                                 json_schema_extra=bounded(6, chars=200, soft=True))
    deliverables: list[DeliverableAnswer] = Field(description="Four to eight deliverables.",
                                                  json_schema_extra=bounded(8, soft=True))
    milestones: list[MilestoneAnswer] = Field(description="Four to eight milestones in time order.",
                                              json_schema_extra=bounded(8, soft=True))
    stakeholders: list[Stakeholder] = Field(description="The people and organisations that matter, most influential first.",
                                            json_schema_extra=bounded(8, soft=True))
    key_risks: list[KeyRisk] = Field(description="The four to six risks that most threaten the goal.",
                                     json_schema_extra=bounded(6, soft=True))
    budget: BudgetAnswer
    success_metrics: list[SuccessMetric] = Field(description="Three to six measurable signs of success.",
                                                 json_schema_extra=bounded(6, soft=True))
    dependencies: list[Dependency] = Field(description="What the project relies on, internal and external.",
                                           json_schema_extra=bounded(6, soft=True))


class Deliverable(DeliverableAnswer):
    id: str = Field(description="D-1.. assigned by our code.")


class Milestone(MilestoneAnswer):
    id: str = Field(description="MS-1.. assigned by our code, in time order.")


class Budget(BudgetAnswer):
    subtotal: float = Field(description="Sum of the lines, by our code.")
    contingency: float = Field(description="subtotal x contingency_percent, by our code.")
    total: float = Field(description="subtotal + contingency, by our code.")


class ProjectPlanDocument(BaseModel):
    title: str
    goal_statement: str
    smart_criteria: SmartCriteria
    duration_months: int
    scope_in: list[str]
    scope_out: list[str]
    deliverables: list[Deliverable]
    milestones: list[Milestone]
    stakeholders: list[Stakeholder]
    key_risks: list[KeyRisk]
    budget: Budget
    success_metrics: list[SuccessMetric]
    dependencies: list[Dependency]


SYSTEM_PROMPT = """You write the core project plan that a sponsor signs and a team executes.
Follow the chosen scenario and strategic decisions, respect the reviewed assumptions and act on
the pre-project assessment. State the goal with SMART criteria, draw the scope both ways, list
deliverables with acceptance criteria, dated milestones (months from start), stakeholders, key
risks, a budget in lines with contingency, success metrics and dependencies. Use the figures
already assumed; keep everything specific to this project."""


def execute(llm: LLMExecutor, *, plan: str, strategic_decisions_md: str, scenarios_md: str, assumptions_md: str,
            assessment_md: str) -> ProjectPlanDocument:
    answer = llm.structured(ProjectPlanAnswer, SYSTEM_PROMPT, context(
        plan=plan, strategic_decisions=strategic_decisions_md, scenarios=scenarios_md, assumptions=assumptions_md,
        pre_project_assessment=assessment_md))
    return build_plan(answer)


_CURRENCY_CODE = re.compile(r"\b[A-Z]{3}\b")


def currency_code(text: str) -> str:
    """The ISO code in what the model wrote ('EUR (euro)' -> 'EUR'); the text itself if it has none."""
    match = _CURRENCY_CODE.search(text)
    return match.group(0) if match else text.strip()


def build_plan(answer: ProjectPlanAnswer) -> ProjectPlanDocument:
    data = answer.model_dump(exclude={"deliverables", "milestones", "budget", "duration_months"})
    in_time_order = sorted(answer.milestones, key=lambda m: m.month)  # stable: ties keep the answer's order
    # A milestone after the end would contradict the plan: the duration stretches to cover it.
    duration = max([answer.duration_months, *(m.month for m in answer.milestones)])
    subtotal = round(sum(line.amount for line in answer.budget.lines), 2)
    contingency = round(subtotal * answer.budget.contingency_percent / 100, 2)
    return ProjectPlanDocument(
        **data,
        duration_months=duration,
        deliverables=[Deliverable(id=f"D-{n}", **d.model_dump()) for n, d in enumerate(answer.deliverables, start=1)],
        milestones=[Milestone(id=f"MS-{n}", **m.model_dump()) for n, m in enumerate(in_time_order, start=1)],
        budget=Budget(**answer.budget.model_dump(exclude={"currency"}), currency=currency_code(answer.budget.currency),
                      subtotal=subtotal, contingency=contingency,
                      total=round(subtotal + contingency, 2)),
    )


def money(amount: float, currency: str) -> str:
    code = currency if _CURRENCY_CODE.fullmatch(currency) else ""
    return f"{code} {amount:,.0f}".strip()


def to_markdown(p: ProjectPlanDocument) -> str:
    s, b = p.smart_criteria, p.budget
    smart = table(["Criterion", ""], [["Specific", s.specific], ["Measurable", s.measurable],
                                      ["Achievable", s.achievable], ["Relevant", s.relevant], ["Time-bound", s.time_bound]])
    budget_rows = [[line.item, money(line.amount, b.currency), line.notes] for line in b.lines]
    budget_rows += [["Subtotal", money(b.subtotal, b.currency), ""],
                    [f"Contingency ({b.contingency_percent:g}%)", money(b.contingency, b.currency), ""],
                    ["Total", money(b.total, b.currency), ""]]

    def section(title: str, body: str) -> str:
        return heading(title, 3) + "\n\n" + body

    return document(
        f"Project Plan: {p.title}",
        f"**Goal:** {p.goal_statement}",
        f"**Duration:** {p.duration_months} months",
        f"**Budget:** {money(b.total, b.currency)} including contingency",
        section("SMART criteria", smart),
        section("Scope", "**In scope**\n\n" + bullets(p.scope_in) + "\n\n**Out of scope**\n\n" + bullets(p.scope_out)),
        section("Deliverables", table(["Id", "Deliverable", "Description", "Acceptance criteria"],
                                      [[d.id, d.name, d.description, d.acceptance_criteria] for d in p.deliverables])),
        section("Milestones", table(["Id", "Milestone", "Month", "Criteria"],
                                    [[m.id, m.name, m.month, m.criteria] for m in p.milestones])),
        section("Stakeholders", table(["Stakeholder", "Interest", "Engagement"],
                                      [[h.name, h.interest, h.engagement] for h in p.stakeholders])),
        section("Key risks", table(["Risk", "Mitigation"], [[r.risk, r.mitigation] for r in p.key_risks])),
        section("Budget", table(["Item", "Amount", "Notes"], budget_rows)
                + "\n\n**Funding:**\n\n" + bullets(b.funding_sources)),
        section("Success metrics", table(["Metric", "Target"], [[m.metric, m.target] for m in p.success_metrics])),
        section("Dependencies", table(["Dependency", "Kind"], [[d.description, d.kind] for d in p.dependencies])),
    )
