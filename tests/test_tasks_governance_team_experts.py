"""Governance, team and expert tasks: their edges, the independent branches, and Luigi runs over a
pre-populated upstream."""

from __future__ import annotations

import json

import luigi
import luigi.execution_summary

from planexe_pipeline.settings import pipeline
from planexe_pipeline.stages import expert_criticism, experts
from planexe_pipeline.tasks.fanout import FanOutItem
from planexe_pipeline.tasks.data_collection import DataCollection
from planexe_pipeline.tasks.experts import ExpertCriticismItem, ExpertReview, ExpertsFound, FindExpertsItem
from planexe_pipeline.tasks.governance import (
    ConsolidateGovernance, GovernancePhase2Bodies, GovernancePhase3ImplPlan,
    GovernancePhase4DecisionEscalation, GovernancePhase5Monitoring, GovernancePhase6Extra,
)
from planexe_pipeline.tasks.team import (
    EnrichBackground, EnrichContractType, EnrichEnvironment, ReviewTeam,
)

from support.files import items_dir, plan_file, plan_files
from support.solar_plan import PLAN, PROJECT_PLAN, PROJECT_PLAN_WORDS, assert_section, expert_candidate


# -- the task graph -----------------------------------------------------------------------
PHASES_2_3 = {GovernancePhase2Bodies, GovernancePhase3ImplPlan}


def _task(cls, run_dir="/nonexistent-run", **kwargs):
    if issubclass(cls, FanOutItem):
        kwargs.setdefault("index", 0)
    return cls(run_dir=run_dir, **kwargs)


def test_every_input_is_a_task_of_the_same_run_and_speed():
    for task_cls in (GovernancePhase3ImplPlan, ReviewTeam, ExpertCriticismItem, DataCollection):
        task = _task(task_cls, speed="fast")
        assert all(d.run_dir == task.run_dir and d.speed == "fast" for d in task.requires().values())


def test_parallel_branches_stay_independent():
    for phase in (GovernancePhase4DecisionEscalation, GovernancePhase5Monitoring, GovernancePhase6Extra):
        assert {type(d) for d in _task(phase).requires().values()} == PHASES_2_3
    passes = {EnrichContractType, EnrichBackground, EnrichEnvironment}
    for enrichment in passes:
        assert not {type(d) for d in _task(enrichment).requires().values()} & passes
    assert ExpertsFound.item_task is FindExpertsItem and ExpertReview.item_task is ExpertCriticismItem
    assert [type(t) for t in _task(ExpertsFound).item_tasks()] == [FindExpertsItem, FindExpertsItem]
    assert [t.index for t in _task(ExpertsFound).item_tasks()] == [0, 1]


# -- Luigi runs over a pre-populated upstream ---------------------------------------------
def _prepopulate(run_dir) -> None:
    """Setup's and ProjectPlan's files: Luigi takes existing outputs as done."""
    (run_dir / plan_file("Setup", "plan")).write_text(PLAN + "\n", encoding="utf-8")
    (run_dir / plan_file("Setup", "fingerprint")).write_text(
        json.dumps({"prompt_sha256": "0" * 64, "speed": "full", "start_date": "2025-03-03"}), encoding="utf-8")
    (run_dir / plan_file("ProjectPlan", "md")).write_text(PROJECT_PLAN, encoding="utf-8")
    (run_dir / plan_file("ProjectPlan")).write_text("{}\n", encoding="utf-8")


def _build(tasks, workers: int = 4) -> None:
    result = luigi.build(tasks, workers=workers, local_scheduler=True, detailed_summary=True)
    assert result.status == luigi.execution_summary.LuigiStatusCode.SUCCESS, result.summary_text


def test_luigi_run_writes_every_file_of_governance_team_experts_and_data_collection(tmp_path):
    _prepopulate(tmp_path)
    _build([DataCollection(run_dir=str(tmp_path), llm="simulated-instant"),
            ConsolidateGovernance(run_dir=str(tmp_path), llm="simulated-instant")])

    stages = ["GovernancePhase1Audit", "GovernancePhase2Bodies", "GovernancePhase3ImplPlan",
              "GovernancePhase4DecisionEscalation", "GovernancePhase5Monitoring", "GovernancePhase6Extra",
              "RelatedResources", "FindTeamMembers", "EnrichContractType", "EnrichBackground", "EnrichEnvironment",
              "ReviewTeam", "SWOTAnalysis", "ExpertsFound", "ExpertReview", "DataCollectionOutline", "DataCollection"]
    found = json.loads((tmp_path / plan_file("ExpertsFound")).read_text())["experts"]
    criticised = min(len(found), pipeline().experts_to_criticise)
    areas = json.loads((tmp_path / plan_file("DataCollectionOutline")).read_text())["areas"]
    critiques = items_dir("ExpertCriticismItem")
    expected = ({name for family in stages for name in plan_files(family)}
                | {plan_file("ConsolidateGovernance", "md"), plan_file("TeamMarkdown", "md")}
                | {f"{items_dir('FindExpertsItem')}/item-{i:03d}.json" for i in range(2)}
                | {f"{critiques}/item-{i:03d}.json" for i in range(criticised)}
                | {f"{items_dir('DataAreaItem')}/item-{i:03d}.json" for i in range(len(areas))})
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert expected <= written
    assert {w for w in written if w.startswith(critiques + "/")} == {e for e in expected if e.startswith(critiques + "/")}

    assert criticised == 4 and [e["id"] for e in found] == [f"E-{i}" for i in range(1, len(found) + 1)]
    review = json.loads((tmp_path / plan_file("ExpertReview")).read_text())
    assert [c["expert_id"] for c in review["criticisms"]] == [e["id"] for e in found[:criticised]]
    team_json = json.loads((tmp_path / plan_file("ReviewTeam")).read_text())
    assert [m["id"] for m in team_json["team"]["members"]] == [f"M-{i}" for i in range(1, 7)]
    assert_section((tmp_path / plan_file("ConsolidateGovernance", "md")).read_text(), "Governance")
    assert_section((tmp_path / plan_file("TeamMarkdown", "md")).read_text(), "Team")
    collection = json.loads((tmp_path / plan_file("DataCollection")).read_text())
    assert [a["title"] for a in collection["areas"]] == [a["title"] for a in areas]
    assert_section((tmp_path / plan_file("DataCollection", "md")).read_text(), "Data Collection", PROJECT_PLAN_WORDS)


def _critique(expert_id: str) -> expert_criticism.ExpertCriticismResult:
    return expert_criticism.ExpertCriticismResult(
        expert_id=expert_id, expert_title=f"Title of {expert_id}",
        critique=expert_criticism.ExpertCritique(assessment=f"Verdict of {expert_id}.", questions=["Why?"], issues=[
            expert_criticism.CritiqueIssue(issue="Gap.", why_it_matters="Cost.", recommendation="Fix.")]))


def test_merges_keep_index_order_whatever_order_the_items_finished(tmp_path):
    run = str(tmp_path)
    # FindExpertsItem items finished last-first; the first query's expert wins a repeated title.
    (tmp_path / items_dir("FindExpertsItem")).mkdir()
    items = [experts.ExpertQueryResult(angle="technical",
                                       experts=[expert_candidate("Grid Engineer"), expert_candidate("Hydrologist")]),
             experts.ExpertQueryResult(angle="business",
                                       experts=[expert_candidate("Tax Adviser"), expert_candidate("grid engineer")])]
    for index in reversed(range(len(items))):
        (tmp_path / items_dir("FindExpertsItem") / f"item-{index:03d}.json").write_text(items[index].model_dump_json())
    _build([ExpertsFound(run_dir=run, llm="simulated-instant")], workers=2)
    found = experts.ExpertList.model_validate_json((tmp_path / plan_file("ExpertsFound")).read_text())
    assert [(e.id, e.expert_title, e.angle) for e in found.experts] == [
        ("E-1", "Grid Engineer", "technical"), ("E-2", "Hydrologist", "technical"), ("E-3", "Tax Adviser", "business")]

    (tmp_path / items_dir("ExpertCriticismItem")).mkdir()
    for index in reversed(range(3)):
        (tmp_path / items_dir("ExpertCriticismItem") / f"item-{index:03d}.json").write_text(
            _critique(f"E-{index + 1}").model_dump_json())
    _build([ExpertReview(run_dir=run, llm="simulated-instant")], workers=2)
    review = json.loads((tmp_path / plan_file("ExpertReview")).read_text())
    assert [c["expert_id"] for c in review["criticisms"]] == ["E-1", "E-2", "E-3"]
    markdown = (tmp_path / plan_file("ExpertReview", "md")).read_text()
    assert markdown.index("### E-1 ") < markdown.index("### E-2 ") < markdown.index("### E-3 ")
