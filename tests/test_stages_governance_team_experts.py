"""Governance, team, experts and data collection stages: they answer from their inputs
(simulator), and the answers are merged by our ids."""

from __future__ import annotations

import re


from planexe_pipeline.stages import data_collection, expert_criticism, experts, governance, related_resources, swot
from planexe_pipeline.stages import team, team_enrichment, team_review
from planexe_pipeline.stages.team_enrichment import (
    BackgroundAnswer, BackgroundAnswers, ContractTypeAnswer, ContractTypeAnswers, EnvironmentAnswer,
    EnvironmentAnswers, merge_team,
)
from support.stage_checks import simulator

from support.solar_plan import PLAN, PROJECT_PLAN, PROJECT_PLAN_WORDS, assert_section, expert_candidate


# -- stages with the simulator ------------------------------------------------------------
def test_governance_phases_build_on_each_other_and_consolidate_in_order():
    llm = simulator()
    audit = governance.execute_audit(llm, PLAN, PROJECT_PLAN)
    assert isinstance(audit, governance.GovernanceAudit) and audit.audit_procedures
    audit_md = governance.audit_to_markdown(audit)
    bodies = governance.execute_bodies(llm, plan=PLAN, project_plan=PROJECT_PLAN, audit=audit_md)
    assert bodies.bodies and all(b.body_name for b in bodies.bodies)
    bodies_md = governance.bodies_to_markdown(bodies)
    impl = governance.execute_impl_plan(llm, plan=PLAN, project_plan=PROJECT_PLAN, bodies=bodies_md)
    impl_md = governance.impl_plan_to_markdown(impl)
    escalation = governance.execute_escalation(llm, bodies_md, impl_md)
    monitoring = governance.execute_monitoring(llm, bodies_md, impl_md)
    extra = governance.execute_extra(llm, bodies_md, impl_md)
    sections = [audit_md, bodies_md, impl_md, governance.escalation_to_markdown(escalation),
                governance.monitoring_to_markdown(monitoring), governance.extra_to_markdown(extra)]
    titles = ["Governance Audit", "Governance Bodies", "Governance Implementation Plan",
              "Decision Escalation Matrix", "Monitoring Progress", "Governance Review"]
    for md, title in zip(sections, titles):  # phases 4-6 see the plan's words only through 2 and 3
        assert_section(md, title)

    chapter = governance.consolidate(sections)
    assert chapter.startswith("## Governance\n\n")
    positions = [chapter.index(f"\n### {title}\n") for title in titles]
    assert positions == sorted(positions)
    assert "\n#### Corruption risks\n" in chapter  # sub-headings moved one level down too
    assert not re.search(r"^## (?!Governance$)", chapter, re.MULTILINE)


def test_team_stages_assign_member_ids_and_review_the_merged_team():
    llm = simulator()
    resources = related_resources.execute(llm, PLAN, PROJECT_PLAN)
    resources_md = related_resources.to_markdown(resources)
    assert_section(resources_md, "Related Resources")

    roster = team.execute(llm, plan=PLAN, project_plan=PROJECT_PLAN)
    assert [m.id for m in roster.members] == [f"M-{i}" for i in range(1, 7)]  # width 6, ids ours
    roster_md = team.to_markdown(roster)
    assert_section(roster_md, "Team Members")

    contract, background, environment = (p.execute(llm, PLAN, roster_md) for p in team_enrichment.PASSES)
    assert_section(team_enrichment.CONTRACT_TYPE.to_markdown(contract), "Team Contract Types")
    assert_section(team_enrichment.BACKGROUND.to_markdown(background), "Team Backgrounds")
    assert_section(team_enrichment.ENVIRONMENT.to_markdown(environment), "Team Work Environment")

    merged = merge_team(roster, contract, background, environment)
    assert [m.id for m in merged.members] == [m.id for m in roster.members]
    reviewed = team_review.execute(llm, plan=PLAN, project_plan=PROJECT_PLAN, roster=roster, contract=contract,
                                   background=background, environment=environment)
    assert reviewed.team == merged and reviewed.review.omissions
    assert_section(team_review.to_markdown(reviewed), "Team Review")
    chapter = team_review.team_markdown(reviewed)
    assert_section(chapter, "Team")
    assert all(f"### {m.id} " in chapter for m in merged.members)


def test_swot_experts_criticism_and_data_collection_answer_from_their_inputs():
    llm = simulator()
    analysis = swot.execute(llm, plan=PLAN, purpose="## Purpose\n\nbusiness", project_plan=PROJECT_PLAN)
    assert analysis.strengths and analysis.threats
    swot_md = swot.to_markdown(analysis)
    assert_section(swot_md, "SWOT Analysis")

    results = [experts.execute(llm, angle, plan=PLAN, project_plan=PROJECT_PLAN) for angle in experts.QUERY_ANGLES]
    assert [len(r.experts) for r in results] == [4, 4]
    assert [r.angle for r in results] == [a.key for a in experts.QUERY_ANGLES]
    found = experts.merge_experts(results)
    assert [e.id for e in found.experts] == [f"E-{i}" for i in range(1, len(found.experts) + 1)]
    assert_section(experts.to_markdown(found), "Experts")

    critiques = [expert_criticism.execute(llm, e, plan=PLAN, project_plan=PROJECT_PLAN, swot=swot_md) for e in found.experts[:2]]
    assert [c.expert_id for c in critiques] == ["E-1", "E-2"]
    assert all(c.critique.issues and c.critique.questions for c in critiques)
    review_md = expert_criticism.to_markdown(expert_criticism.merge(critiques))
    assert_section(review_md, "Expert Review")

    outline = data_collection.execute_outline(llm, project_plan=PROJECT_PLAN,
                                              related_resources="## Related Resources\n\nnone", swot=swot_md,
                                              team="## Team", expert_review=review_md)
    areas = [data_collection.execute_area(llm, area, project_plan=PROJECT_PLAN, team="## Team")
             for area in outline.areas]
    collection = data_collection.merge(areas, outline)
    assert [a.title for a in collection.areas] == [a.title for a in outline.areas]
    assert collection.areas and all(a.data_to_collect for a in collection.areas)
    # DataCollection reads the project plan, not the prompt: its words must come from there.
    assert_section(data_collection.to_markdown(collection), "Data Collection", PROJECT_PLAN_WORDS)


def test_expert_criticism_prompt_carries_the_experts_own_angle():
    seen: list[str] = []

    class Recorder:
        def structured(self, output_cls, system_prompt, user_prompt):
            seen.append(user_prompt)
            return simulator().structured(output_cls, system_prompt, user_prompt)

    expert = experts.Expert(id="E-3", angle="business", expert_title="Danish energy cooperative lawyer",
                            expertise="Cooperative statutes and member equity rules.",
                            why_relevant="Ownership model.", questions_to_ask=["Who may join?"],
                            how_to_find="Danish bar association.")
    result = expert_criticism.execute(Recorder(), expert, plan=PLAN, project_plan=PROJECT_PLAN,
                                      swot="## SWOT Analysis")
    assert (result.expert_id, result.expert_title) == ("E-3", "Danish energy cooperative lawyer")
    assert seen[0].startswith("# Plan\n\n" + PLAN) and "# Expert\n\nDanish energy cooperative lawyer." in seen[0]


# -- merging answers by our ids -----------------------------------------------------------
def _roster(n: int) -> team.TeamRoster:
    return team.TeamRoster(members=[
        team.TeamMember(id=f"M-{i}", job_category_title=f"Role {i}", short_explanation="Needed.", people_needed=1,
                        consequences_of_not_having="Delay.") for i in range(1, n + 1)])


def test_enrichment_merge_drops_unknown_keeps_first_of_duplicates_and_flags_missing():
    roster = _roster(3)
    contract = ContractTypeAnswers(answers=[
        ContractTypeAnswer(member_id="M-2", contract_type="independent_contractor", justification="first"),
        ContractTypeAnswer(member_id=" m-2 ", contract_type="volunteer", justification="second"),
        ContractTypeAnswer(member_id="M-9", contract_type="other", justification="unknown"),
        ContractTypeAnswer(member_id="m-1", contract_type="full_time_employee", justification="lower case"),
    ])
    background = BackgroundAnswers(answers=[BackgroundAnswer(member_id="M-3", background_story="Engineer.")])
    environment = EnvironmentAnswers(answers=[
        EnvironmentAnswer(member_id=f"M-{i}", equipment_needs=f"kit {i}", facility_needs="site") for i in (3, 2, 1)])

    merged = merge_team(roster, contract, background, environment)
    by_id = {m.id: m for m in merged.members}
    assert list(by_id) == ["M-1", "M-2", "M-3"]  # roster order, whatever order the answers came in
    assert (by_id["M-1"].contract.contract_type, by_id["M-1"].contract.defaulted) == ("full_time_employee", False)
    assert (by_id["M-2"].contract.justification, by_id["M-2"].contract.defaulted) == ("first", False)
    assert by_id["M-3"].contract.defaulted and by_id["M-3"].contract.contract_type == "undecided"
    assert [m.background.defaulted for m in merged.members] == [True, True, False]
    assert by_id["M-3"].background.background_story == "Engineer."
    assert [m.environment.equipment_needs for m in merged.members] == ["kit 1", "kit 2", "kit 3"]
    assert not any(m.environment.defaulted for m in merged.members)
    assert len(merged.dropped_answers) == 2
    assert any("M-9" in d and "unknown" in d for d in merged.dropped_answers)
    assert any(d.startswith("contract type") and "M-2" in d and "first" in d for d in merged.dropped_answers)
    assert "default" in team_review.team_markdown(
        team_review.ReviewedTeam(team=merged, review=team_review.TeamReviewFindings(
            summary="ok", omissions=[], potential_improvements=[])))


def test_enrichment_merge_survives_empty_answers():
    merged = merge_team(_roster(2), ContractTypeAnswers(answers=[]), BackgroundAnswers(answers=[]),
                        EnvironmentAnswers(answers=[]))
    assert all(m.contract.defaulted and m.background.defaulted and m.environment.defaulted for m in merged.members)
    assert merge_team(team.TeamRoster(members=[]), ContractTypeAnswers(answers=[
        ContractTypeAnswer(member_id="M-1", contract_type="other", justification="x")]),
        BackgroundAnswers(answers=[]), EnvironmentAnswers(answers=[])).members == []


def test_experts_are_deduplicated_by_normalised_name_first_one_wins():
    results = [
        experts.ExpertQueryResult(angle="technical", experts=[expert_candidate("Grid Interconnection Engineer"),
                                                              expert_candidate("PV Yield Analyst"),
                                                              expert_candidate("grid interconnection  engineer")]),
        experts.ExpertQueryResult(angle="business", experts=[expert_candidate("Energy-Cooperative Lawyer"),
                                                             expert_candidate("GRID INTERCONNECTION ENGINEER!"),
                                                             expert_candidate("energy cooperative lawyer")]),
    ]
    found = experts.merge_experts(results)
    assert [(e.id, e.expert_title, e.angle) for e in found.experts] == [
        ("E-1", "Grid Interconnection Engineer", "technical"),
        ("E-2", "PV Yield Analyst", "technical"),
        ("E-3", "Energy-Cooperative Lawyer", "business"),
    ]
    assert found.duplicates_removed == ["grid interconnection  engineer", "GRID INTERCONNECTION ENGINEER!",
                                        "energy cooperative lawyer"]
    assert experts.merge_experts([]).experts == []
