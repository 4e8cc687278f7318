"""ProjectPlan: the plan itself: goal, SMART criteria, scope, deliverables, milestones, people, risks, money.

Governance, team, WBS and the report are built from it. It is written as an outline and four
parts at the same time (project_plan_outline.py, project_plan_parts.py); this module joins them
into one plan in the parts' order: the outline's ids and figures, each item's details from the
part that describes it by id, and a line for every statement of a part that contradicts the
outline (outline_checks.py) or an item a part left without details.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.stages.answer_ids import map_answers
from planexe_pipeline.stages.markdown import bullets, document, heading, table
from planexe_pipeline.stages.outline_checks import check_part
from planexe_pipeline.stages.project_plan_outline import ProjectPlanOutlineAnswer, money
from planexe_pipeline.stages.project_plan_parts import (PARTS, Dependency, KeyRisk, MoneyPart, PeoplePart,
                                                        PlanPartResult, SchedulePart, ScopePart, SmartCriteria,
                                                        Stakeholder, SuccessMetric)

NOT_DETAILED = "Not detailed: the part that describes it gave no answer for this id."


class Deliverable(BaseModel):
    id: str = Field(description="D-1.. from the outline.")
    name: str
    description: str
    acceptance_criteria: str


class Milestone(BaseModel):
    id: str = Field(description="MS-1.. from the outline, in time order.")
    name: str
    month: int
    criteria: str


class BudgetLine(BaseModel):
    item: str
    amount: float
    notes: str


class Budget(BaseModel):
    currency: str
    lines: list[BudgetLine]
    contingency_percent: float
    funding_sources: list[str]
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
    consistency_notes: list[str] = Field(default_factory=list,
                                         description="Where a part disagrees with the outline, or left an item out.")


def _unanswered(part: str, kind: str, missing: list[str], dropped: list[str]) -> list[str]:
    notes = [f"the {part} part gave no details for {kind} {', '.join(missing)}"] if missing else []
    return notes + [f"the {part} part answered an {d}" for d in dropped]


def build_plan(results: list[PlanPartResult], outline: ProjectPlanOutlineAnswer) -> ProjectPlanDocument:
    """The outline and its parts as one plan, with every disagreement between them noted."""
    answers = {r.part: r.answer() for r in results}
    missing = [p.key for p in PARTS if answers.get(p.key) is None]
    if missing:
        raise ValueError(f"the project plan's parts {missing} have no answer")
    scope: ScopePart = answers["scope"]
    schedule: SchedulePart = answers["schedule"]
    people: PeoplePart = answers["people"]
    money_part: MoneyPart = answers["money"]
    notes = [note for p in PARTS for note in check_part(p.key, answers[p.key], outline)]

    details = map_answers([d.id for d in outline.deliverables], scope.deliverables, lambda a: a.deliverable_id)
    criteria = map_answers([m.id for m in outline.milestones], schedule.milestones, lambda a: a.milestone_id)
    explained = map_answers([b.id for b in outline.budget_lines], money_part.budget_notes, lambda a: a.line_id)
    notes += _unanswered("scope", "deliverables", details.missing, details.dropped)
    notes += _unanswered("schedule", "milestones", criteria.missing, criteria.dropped)
    notes += _unanswered("money", "cost lines", explained.missing, explained.dropped)

    deliverables = []
    for d in outline.deliverables:
        given = details.get(d.id)
        deliverables.append(Deliverable(id=d.id, name=d.name, description=given.description if given else NOT_DETAILED,
                                        acceptance_criteria=given.acceptance_criteria if given else NOT_DETAILED))
    milestones = [Milestone(id=m.id, name=m.name, month=m.month,
                            criteria=criteria.get(m.id).criteria if criteria.get(m.id) else NOT_DETAILED)
                  for m in outline.milestones]
    lines = [BudgetLine(item=b.item, amount=b.amount,
                        notes=explained.get(b.id).notes if explained.get(b.id) else NOT_DETAILED)
             for b in outline.budget_lines]
    return ProjectPlanDocument(
        title=outline.title, goal_statement=outline.goal_statement, smart_criteria=scope.smart_criteria,
        duration_months=outline.duration_months, scope_in=scope.scope_in, scope_out=scope.scope_out,
        deliverables=deliverables, milestones=milestones, stakeholders=people.stakeholders,
        key_risks=money_part.key_risks,
        budget=Budget(currency=outline.currency, lines=lines, contingency_percent=outline.contingency_percent,
                      funding_sources=money_part.funding_sources, subtotal=outline.subtotal,
                      contingency=outline.contingency, total=outline.total),
        success_metrics=people.success_metrics, dependencies=schedule.dependencies, consistency_notes=notes)


def to_markdown(p: ProjectPlanDocument) -> str:
    s, b = p.smart_criteria, p.budget
    smart = table(["", ""], [["Specific", s.specific], ["Measurable", s.measurable],  # keys and values: no header
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
        section("Consistency with the outline", bullets(p.consistency_notes)) if p.consistency_notes else "",
    )
