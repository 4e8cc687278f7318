"""The project plan as an outline and parts: ids and figures from the outline, details joined by
id in the parts' order, and every statement of a part that contradicts the outline flagged."""

from __future__ import annotations

import pytest

from planexe_pipeline.stages import project_plan, project_plan_outline, project_plan_parts
from planexe_pipeline.stages.outline_checks import amounts, check_part
from planexe_pipeline.stages.project_plan_outline import BudgetFigure, DeliverableName, MilestoneDate, OutlineAnswer
from planexe_pipeline.stages.project_plan_parts import (BudgetNote, DeliverableDetail, KeyRisk, MilestoneCriteria,
                                                        MoneyPart, PeoplePart, PlanPartResult, SchedulePart, ScopePart,
                                                        SmartCriteria, Stakeholder, SuccessMetric)
from support.stage_checks import simulator

PLAN = "Build a 5 MW solar farm near Esbjerg in Denmark, with grid connection and local permits."


def outline(duration: int = 24):
    return project_plan_outline.build_outline(OutlineAnswer(
        title="Esbjerg Solar", goal_statement="Power for 1,500 homes.", duration_months=duration,
        deliverables=[DeliverableName(name="Permit file"), DeliverableName(name="Grid connection")],
        milestones=[MilestoneDate(name="Energised", month=20), MilestoneDate(name="Permits", month=6)],
        currency="DKK (Danish krone)",
        budget_lines=[BudgetFigure(item="Panels", amount=20_000_000), BudgetFigure(item="Works", amount=5_000_000)],
        contingency_percent=20))


def parts(*, scope_text: str = "Deliver the permit file.", deliverables=("D-1", "D-2")) -> list[PlanPartResult]:
    smart = SmartCriteria(specific=scope_text, measurable="m", achievable="a", relevant="r", time_bound="t")
    return [
        PlanPartResult(part="scope", scope=ScopePart(
            smart_criteria=smart, scope_in=["Build"], scope_out=["Storage"],
            deliverables=[DeliverableDetail(deliverable_id=d, description=f"about {d}", acceptance_criteria="ok")
                          for d in deliverables])),
        PlanPartResult(part="schedule", schedule=SchedulePart(
            milestones=[MilestoneCriteria(milestone_id=m, criteria=f"{m} done") for m in ("MS-2", "MS-1")],
            dependencies=[])),
        PlanPartResult(part="people", people=PeoplePart(
            stakeholders=[Stakeholder(name="Municipality", interest="i", engagement="e")],
            success_metrics=[SuccessMetric(metric="MWh", target="6,000 a year")])),
        PlanPartResult(part="money", money=MoneyPart(
            budget_notes=[BudgetNote(line_id="B-2", notes="civil works"), BudgetNote(line_id="B-1", notes="modules")],
            funding_sources=["Cooperative shares"], key_risks=[KeyRisk(risk="Grid delay", mitigation="Early study")])),
    ]


def test_the_outline_fixes_ids_time_order_and_totals():
    o = outline()
    assert [(d.id, d.name) for d in o.deliverables] == [("D-1", "Permit file"), ("D-2", "Grid connection")]
    assert [(m.id, m.month) for m in o.milestones] == [("MS-1", 6), ("MS-2", 20)]
    assert (o.currency, o.subtotal, o.contingency, o.total) == ("DKK", 25_000_000, 5_000_000, 30_000_000)
    assert outline(duration=12).duration_months == 20, "the duration covers the last milestone"


def test_parts_are_joined_to_the_outline_by_id_and_agree_with_it():
    plan = project_plan.build_plan(parts(), outline())
    assert [(d.id, d.description) for d in plan.deliverables] == [("D-1", "about D-1"), ("D-2", "about D-2")]
    assert [(m.id, m.criteria) for m in plan.milestones] == [("MS-1", "MS-1 done"), ("MS-2", "MS-2 done")]
    assert [line.notes for line in plan.budget.lines] == ["modules", "civil works"]
    assert plan.budget.total == 30_000_000 and plan.duration_months == 24
    assert plan.consistency_notes == []
    assert "Consistency with the outline" not in project_plan.to_markdown(plan)


def test_the_merge_takes_each_part_by_its_key_whatever_order_the_items_came_in():
    assert project_plan.build_plan(list(reversed(parts())), outline()) == project_plan.build_plan(parts(), outline())


@pytest.mark.parametrize("said, flagged", [
    ("Finish within 30 months.", "'30 months', beyond the outline's 24 months"),
    ("The total budget is DKK 25 million.", "a total of DKK 25,000,000; the outline's budget total is DKK 30,000,000"),
    ("It costs 45,000,000 DKK.", "DKK 45,000,000, more than the outline's whole budget of DKK 30,000,000"),
    ("We hand over three deliverables.", "'three deliverables'; the outline has 2 deliverables"),
])
def test_a_part_contradicting_its_outline_is_flagged_in_the_plan(said, flagged):
    plan = project_plan.build_plan(parts(scope_text=said), outline())
    assert len(plan.consistency_notes) == 1 and flagged in plan.consistency_notes[0]
    assert "the scope part (smart_criteria.specific) says" in plan.consistency_notes[0]
    markdown = project_plan.to_markdown(plan)
    assert "### Consistency with the outline" in markdown and flagged in markdown


def test_what_agrees_with_the_outline_is_not_flagged():
    for said in ("Finish within 24 months, with permits by month 6.", "The total budget is DKK 30 million.",
                 "Panels take DKK 20,000,000 of it.", "We hand over two deliverables and two milestones."):
        assert check_part("scope", parts(scope_text=said)[0].scope, outline()) == [], said


def test_an_item_a_part_left_out_is_named_not_silently_blank():
    plan = project_plan.build_plan(parts(deliverables=("D-2", "D-9")), outline())
    assert plan.deliverables[0].description == project_plan.NOT_DETAILED
    assert plan.consistency_notes == ["the scope part gave no details for deliverables D-1",
                                      "the scope part answered an unknown id 'D-9'"]


def test_amounts_read_the_forms_people_write():
    found = [value for value, _ in amounts("DKK 1.5m now; 2,000 DKK later; EUR 9 million elsewhere; DKK 3 bn.", "DKK")]
    assert found == [1_500_000, 2_000, 3_000_000_000]


def test_simulated_parts_answer_for_every_outline_item():
    llm = simulator()
    upstream = dict(plan=PLAN, vital=None, selection=None, assumptions="Panels cost DKK 20 million.",
                    assessment="Go with conditions.")
    o = outline()
    results = [project_plan_parts.execute(llm, part, outline=o, **upstream)
               for part in project_plan_parts.PARTS if part.key in ("schedule", "money")]
    money = next(r for r in results if r.part == "money").money
    assert [n.line_id for n in money.budget_notes] == ["B-1", "B-2"]
    schedule = next(r for r in results if r.part == "schedule").schedule
    assert [m.milestone_id for m in schedule.milestones] == ["MS-1", "MS-2"]
