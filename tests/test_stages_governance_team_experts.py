"""Governance, team, experts and data collection: stages answer from their inputs (simulator),
answers are merged by our ids, the task graph has exactly the specified edges, and a Luigi run
over a pre-populated project plan writes every file, fan-out items included, in index order."""

from __future__ import annotations

import json
import re

import luigi
import luigi.execution_summary
import pytest

from planexe_pipeline.llm.executor import LLMExecutor, NamedModel
from planexe_pipeline.llm.simulator import SimulatedLLM
from planexe_pipeline.settings import pipeline
from planexe_pipeline.stages import data_collection, expert_criticism, experts, governance, related_resources, swot
from planexe_pipeline.stages import team, team_enrichment, team_review
from planexe_pipeline.stages.team_enrichment import (
    BackgroundAnswer, BackgroundAnswers, ContractTypeAnswer, ContractTypeAnswers, EnvironmentAnswer,
    EnvironmentAnswers, merge_team,
)
from planexe_pipeline.tasks.base import FanOutItem
from planexe_pipeline.tasks.context import DataCollection
from planexe_pipeline.tasks.experts import ExpertCriticism, ExpertReview, ExpertsFound, FindExperts, SWOTAnalysis
from planexe_pipeline.tasks.framing import IdentifyPurpose
from planexe_pipeline.tasks.governance import (
    ConsolidateGovernance, GovernancePhase1Audit, GovernancePhase2Bodies, GovernancePhase3ImplPlan,
    GovernancePhase4DecisionEscalation, GovernancePhase5Monitoring, GovernancePhase6Extra,
)
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import Setup
from planexe_pipeline.tasks.team import (
    EnrichBackground, EnrichContractType, EnrichEnvironment, FindTeamMembers, RelatedResources, ReviewTeam,
    TeamMarkdown,
)

PLAN = ("Build a 5 MW solar farm near Aarhus in Denmark, owned by a local energy cooperative, "
        "with grid connection and battery storage ready by 2027.")
# "local" is left out: the simulator's sentence templates use it whatever the input.
PLAN_WORDS = {"solar", "farm", "aarhus", "denmark", "owned", "energy", "cooperative", "grid",
              "connection", "battery", "storage", "ready"}
PROJECT_PLAN = ("## Project Plan\n\nGoal: commission photovoltaic panels and inverters on leased farmland, "
                "sign the grid connection agreement, and raise member equity.\n")
PROJECT_PLAN_WORDS = {"commission", "photovoltaic", "panels", "inverters", "leased", "farmland", "agreement",
                      "raise", "member", "equity"}


def simulator() -> LLMExecutor:
    return LLMExecutor([NamedModel.of("simulated", SimulatedLLM(seed=42))])


def words(markdown: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z\-]+", markdown)}


def assert_section(markdown: str, title: str, source_words: set[str] | None = None) -> None:
    assert markdown.startswith(f"## {title}\n\n"), markdown[:80]
    used = words(markdown) & (PLAN_WORDS | PROJECT_PLAN_WORDS if source_words is None else source_words)
    assert len(used) >= 3, f"{title}: markdown does not use the input's words: {sorted(used)}"


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

    roster = team.execute(llm, plan=PLAN, project_plan=PROJECT_PLAN, related_resources=resources_md)
    assert [m.id for m in roster.members] == [f"M-{i}" for i in range(1, 7)]  # width 6, ids ours
    roster_md = team.to_markdown(roster)
    assert_section(roster_md, "Team Members")

    contract = team_enrichment.execute_contract_type(llm, PLAN, roster_md)
    background = team_enrichment.execute_background(llm, PLAN, roster_md)
    environment = team_enrichment.execute_environment(llm, PLAN, roster_md)
    assert_section(team_enrichment.contract_type_to_markdown(contract), "Team Contract Types")
    assert_section(team_enrichment.background_to_markdown(background), "Team Backgrounds")
    assert_section(team_enrichment.environment_to_markdown(environment), "Team Work Environment")

    merged = merge_team(roster, contract, background, environment)
    assert [m.id for m in merged.members] == [m.id for m in roster.members]
    reviewed = team_review.execute(llm, PLAN, PROJECT_PLAN, merged)
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

    results = [experts.execute(llm, angle, plan=PLAN, project_plan=PROJECT_PLAN, swot=swot_md) for angle in experts.QUERY_ANGLES]
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

    collection = data_collection.execute(llm, project_plan=PROJECT_PLAN,
                                         related_resources="## Related Resources\n\nnone", swot=swot_md,
                                         team="## Team", expert_review=review_md)
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


def _candidate(title: str) -> experts.ExpertCandidate:
    return experts.ExpertCandidate(expert_title=title, expertise="x", why_relevant="y", questions_to_ask=["q"],
                                   how_to_find="z")


def test_experts_are_deduplicated_by_normalised_name_first_one_wins():
    results = [
        experts.ExpertQueryResult(angle="technical", experts=[_candidate("Grid Interconnection Engineer"),
                                                              _candidate("PV Yield Analyst"),
                                                              _candidate("grid interconnection  engineer")]),
        experts.ExpertQueryResult(angle="business", experts=[_candidate("Energy-Cooperative Lawyer"),
                                                             _candidate("GRID INTERCONNECTION ENGINEER!"),
                                                             _candidate("energy cooperative lawyer")]),
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


# -- the task graph -----------------------------------------------------------------------
PHASES_2_3 = {GovernancePhase2Bodies, GovernancePhase3ImplPlan}
SPEC_EDGES = {
    GovernancePhase1Audit: {Setup, ProjectPlan},
    GovernancePhase2Bodies: {Setup, ProjectPlan, GovernancePhase1Audit},
    GovernancePhase3ImplPlan: {Setup, ProjectPlan, GovernancePhase2Bodies},
    GovernancePhase4DecisionEscalation: PHASES_2_3,
    GovernancePhase5Monitoring: PHASES_2_3,
    GovernancePhase6Extra: PHASES_2_3,
    ConsolidateGovernance: {GovernancePhase1Audit, GovernancePhase2Bodies, GovernancePhase3ImplPlan,
                            GovernancePhase4DecisionEscalation, GovernancePhase5Monitoring, GovernancePhase6Extra},
    RelatedResources: {Setup, ProjectPlan},
    FindTeamMembers: {Setup, ProjectPlan, RelatedResources},
    EnrichContractType: {Setup, FindTeamMembers},
    EnrichBackground: {Setup, FindTeamMembers},
    EnrichEnvironment: {Setup, FindTeamMembers},
    ReviewTeam: {Setup, ProjectPlan, FindTeamMembers, EnrichContractType, EnrichBackground, EnrichEnvironment},
    TeamMarkdown: {ReviewTeam},
    SWOTAnalysis: {Setup, IdentifyPurpose, ProjectPlan},
    FindExperts: {Setup, ProjectPlan, SWOTAnalysis},
    ExpertsFound: set(),  # a fixed list of query angles: the items are its only (dynamic) inputs
    ExpertCriticism: {ExpertsFound, Setup, ProjectPlan, SWOTAnalysis},
    ExpertReview: {ExpertsFound},
    DataCollection: {ProjectPlan, RelatedResources, SWOTAnalysis, TeamMarkdown, ExpertReview},
}


def _task(cls, run_dir="/nonexistent-run", **kwargs):
    if issubclass(cls, FanOutItem):
        kwargs.setdefault("index", 0)
    return cls(run_dir=run_dir, **kwargs)


@pytest.mark.parametrize("task_cls", list(SPEC_EDGES), ids=lambda c: c.__name__)
def test_requires_is_exactly_the_spec(task_cls):
    task = _task(task_cls, speed="fast")
    deps = list(task.requires().values())
    assert [type(d) for d in deps if type(d) not in SPEC_EDGES[task_cls]] == []
    assert {type(d) for d in deps} == SPEC_EDGES[task_cls]
    assert len(deps) == len(SPEC_EDGES[task_cls])
    assert all(d.run_dir == task.run_dir and d.speed == "fast" for d in deps)  # same run, same speed


def test_parallel_branches_stay_independent():
    for phase in (GovernancePhase4DecisionEscalation, GovernancePhase5Monitoring, GovernancePhase6Extra):
        assert {type(d) for d in _task(phase).requires().values()} == PHASES_2_3
    passes = {EnrichContractType, EnrichBackground, EnrichEnvironment}
    for enrichment in passes:
        assert not {type(d) for d in _task(enrichment).requires().values()} & passes
    assert ExpertsFound.item_task is FindExperts and ExpertReview.item_task is ExpertCriticism
    assert [type(t) for t in _task(ExpertsFound).item_tasks()] == [FindExperts, FindExperts]
    assert [t.index for t in _task(ExpertsFound).item_tasks()] == [0, 1]


# -- Luigi runs over a pre-populated upstream ---------------------------------------------
def _prepopulate(run_dir) -> None:
    """Setup's and ProjectPlan's files: Luigi takes existing outputs as done."""
    (run_dir / "001-plan.txt").write_text(PLAN + "\n", encoding="utf-8")
    (run_dir / "001-plan_fingerprint.json").write_text(
        json.dumps({"prompt_sha256": "0" * 64, "speed": "full", "start_date": "2025-03-03"}), encoding="utf-8")
    (run_dir / "020-project_plan.md").write_text(PROJECT_PLAN, encoding="utf-8")
    (run_dir / "020-project_plan.json").write_text("{}\n", encoding="utf-8")


def _build(tasks, workers: int = 4) -> None:
    result = luigi.build(tasks, workers=workers, local_scheduler=True, detailed_summary=True)
    assert result.status == luigi.execution_summary.LuigiStatusCode.SUCCESS, result.summary_text


def test_luigi_run_writes_every_file_of_governance_team_experts_and_data_collection(tmp_path):
    _prepopulate(tmp_path)
    _build([DataCollection(run_dir=str(tmp_path), llm="simulated-instant"),
            ConsolidateGovernance(run_dir=str(tmp_path), llm="simulated-instant")])

    pairs = ["021-governance_phase1_audit", "022-governance_phase2_bodies", "023-governance_phase3_impl_plan",
             "024-governance_phase4_decision_escalation", "025-governance_phase5_monitoring",
             "026-governance_phase6_extra", "028-related_resources", "029-find_team_members",
             "030-enrich_team_contract_type", "031-enrich_team_background", "032-enrich_team_environment",
             "033-review_team", "035-swot_analysis", "036-find_experts", "038-expert_review", "039-data_collection"]
    found = json.loads((tmp_path / "036-find_experts.json").read_text())["experts"]
    criticised = min(len(found), pipeline().experts_to_criticise)
    expected = ({f"{p}.{ext}" for p in pairs for ext in ("json", "md")} | {"027-governance.md", "034-team.md"}
                | {f"036-find_experts/item-{i:03d}.json" for i in range(2)}
                | {f"037-expert_criticism/item-{i:03d}.json" for i in range(criticised)})
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert expected <= written
    assert {w for w in written if w.startswith("037-expert_criticism/")} == {
        e for e in expected if e.startswith("037-expert_criticism/")}

    assert criticised == 4 and [e["id"] for e in found] == [f"E-{i}" for i in range(1, len(found) + 1)]
    review = json.loads((tmp_path / "038-expert_review.json").read_text())
    assert [c["expert_id"] for c in review["criticisms"]] == [e["id"] for e in found[:criticised]]
    team_json = json.loads((tmp_path / "033-review_team.json").read_text())
    assert [m["id"] for m in team_json["team"]["members"]] == [f"M-{i}" for i in range(1, 7)]
    assert_section((tmp_path / "027-governance.md").read_text(), "Governance")
    assert_section((tmp_path / "034-team.md").read_text(), "Team")
    assert_section((tmp_path / "039-data_collection.md").read_text(), "Data Collection", PROJECT_PLAN_WORDS)


def _critique(expert_id: str) -> expert_criticism.ExpertCriticismResult:
    return expert_criticism.ExpertCriticismResult(
        expert_id=expert_id, expert_title=f"Title of {expert_id}",
        critique=expert_criticism.ExpertCritique(assessment=f"Verdict of {expert_id}.", questions=["Why?"], issues=[
            expert_criticism.CritiqueIssue(issue="Gap.", why_it_matters="Cost.", recommendation="Fix.")]))


def test_merges_keep_index_order_whatever_order_the_items_finished(tmp_path):
    run = str(tmp_path)
    # FindExperts items finished last-first; the first query's expert wins a repeated title.
    (tmp_path / "036-find_experts").mkdir()
    items = [experts.ExpertQueryResult(angle="technical",
                                       experts=[_candidate("Grid Engineer"), _candidate("Hydrologist")]),
             experts.ExpertQueryResult(angle="business",
                                       experts=[_candidate("Tax Adviser"), _candidate("grid engineer")])]
    for index in reversed(range(len(items))):
        (tmp_path / "036-find_experts" / f"item-{index:03d}.json").write_text(items[index].model_dump_json())
    _build([ExpertsFound(run_dir=run, llm="simulated-instant")], workers=2)
    found = experts.ExpertList.model_validate_json((tmp_path / "036-find_experts.json").read_text())
    assert [(e.id, e.expert_title, e.angle) for e in found.experts] == [
        ("E-1", "Grid Engineer", "technical"), ("E-2", "Hydrologist", "technical"), ("E-3", "Tax Adviser", "business")]

    (tmp_path / "037-expert_criticism").mkdir()
    for index in reversed(range(3)):
        (tmp_path / "037-expert_criticism" / f"item-{index:03d}.json").write_text(
            _critique(f"E-{index + 1}").model_dump_json())
    _build([ExpertReview(run_dir=run, llm="simulated-instant")], workers=2)
    review = json.loads((tmp_path / "038-expert_review.json").read_text())
    assert [c["expert_id"] for c in review["criticisms"]] == ["E-1", "E-2", "E-3"]
    markdown = (tmp_path / "038-expert_review.md").read_text()
    assert markdown.index("### E-1 ") < markdown.index("### E-2 ") < markdown.index("### E-3 ")
