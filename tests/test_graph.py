"""The shape of the whole task graph, walked from FullPlan: the edges that set the wall time."""

from __future__ import annotations

from pathlib import Path

import pytest

from planexe_pipeline.pipeline import PLAN, REMAINING_SECONDS, FullPlan
from planexe_pipeline.tasks.base import PLAN_TASKS, LLMTask
from planexe_pipeline.tasks.edges import edge_lines, edges_markdown
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge
from support.graph import TEMPLATE_RUN as RUN
from support.graph import declared_files, task_class, walk
from support.graph import upstream as upstream_of

GRAPH = walk()
REPO = Path(__file__).resolve().parent.parent
STALE = "{} is stale: review the change of edges, then run `make docs`"


def test_the_walked_graph_is_the_reviewed_snapshot():
    # The edges the scheduler follows (requires(), the merges' items and merge-only inputs),
    # against tests/data/edges.txt: an edge added or dropped shows up in review as a diff there.
    walked = sorted(f"{task} <- {dep}" for task, deps in GRAPH.items() for dep in deps)
    snapshot = (REPO / "tests" / "data" / "edges.txt").read_text().splitlines()
    assert walked == sorted(line.split(" (")[0] for line in snapshot), STALE.format("tests/data/edges.txt")
    assert snapshot == edge_lines(PLAN), STALE.format("tests/data/edges.txt")


def test_the_edge_table_in_the_docs_is_current():
    assert (REPO / "docs" / "edges.md").read_text() == edges_markdown(PLAN), STALE.format("docs/edges.md")


@pytest.mark.parametrize("family", sorted(GRAPH))
def test_requires_is_the_declaration(family):
    cls = task_class(family)
    task = cls(run_dir=RUN, index=3) if issubclass(cls, FanOutItem) else cls(run_dir=RUN)
    declared = cls.declared_inputs()
    required = task.requires()
    assert list(required) == list(declared)
    assert [t.task_family for t in required.values()] == [spec.task.task_family for spec in declared.values()]
    assert all(spec.uses.strip() for spec in declared.values()), "every edge says what it is for"


def test_every_task_of_the_plan_is_registered_and_every_registered_task_is_in_the_plan():
    assert set(GRAPH) == set(PLAN_TASKS)


def upstream(family: str) -> set[str]:
    return upstream_of(GRAPH, family)


def test_governance_phases_4_to_6_need_phases_2_and_3_only():
    for phase in ("GovernancePhase4DecisionEscalation", "GovernancePhase5Monitoring", "GovernancePhase6Extra"):
        assert GRAPH[phase] == {"GovernancePhase2Bodies", "GovernancePhase3ImplPlan"}
    others = {"GovernancePhase4DecisionEscalation", "GovernancePhase5Monitoring", "GovernancePhase6Extra"}
    for phase in others:
        assert not (upstream(phase) & (others - {phase}))


@pytest.mark.parametrize("a, b", [("FilterDocumentsToFind", "FilterDocumentsToCreate"),
                                  ("EnrichContractType", "EnrichBackground"),
                                  ("EnrichContractType", "EnrichEnvironment"),
                                  ("EnrichBackground", "EnrichEnvironment"),
                                  ("DraftDocumentsToFind", "DraftDocumentsToCreate")])
def test_parallel_branches_do_not_wait_for_each_other(a, b):
    assert a not in upstream(b) and b not in upstream(a)


def test_every_fan_out_item_depends_on_its_list_and_its_merge_on_the_items():
    fan_outs = {f: task_class(f) for f in GRAPH if issubclass(task_class(f), FanOutMerge)}
    assert fan_outs, "the walk must see the fan-outs"
    for family, merge in fan_outs.items():
        item = merge.item_task
        assert item.task_family in GRAPH[family], f"{family} must wait for its items"
        listed = {item.inputs[item.items_input].task.task_family} if item.items_input else set()
        assert set(GRAPH[family]) >= listed and listed <= GRAPH[item.task_family]
        assert issubclass(item, FanOutItem) and issubclass(item, LLMTask)


def test_file_numbers_follow_dependency_order():
    # A task's files are numbered after everything it reads; a fan-out's items share their
    # merge's number (the merge waits for them, they wait for the lower-numbered list), and the
    # tasks of one step (the exports and the sections printed for them) share the step's.
    for family, deps in GRAPH.items():
        for dep in deps:
            mine, theirs = task_class(family), task_class(dep)
            one_step = getattr(mine, "step", None) and getattr(mine, "step", None) == getattr(theirs, "step", None)
            if issubclass(mine, FanOutMerge) and theirs is mine.item_task or one_step:
                assert theirs.number <= mine.number, (family, dep)
            else:
                assert theirs.number < mine.number, f"{family} ({mine.number}) reads {dep} ({theirs.number})"


def test_every_file_name_is_declared_once():
    names = [name for f in GRAPH if not issubclass(task_class(f), FanOutItem) for name in task_class(f).files.values()]
    assert len(names) == len(set(names))
    dirs = [task_class(f).stage_dir for f in GRAPH if issubclass(task_class(f), FanOutItem)]
    assert len(dirs) == len(set(dirs))
    assert all(name.split("-", 1)[0].isdigit() and len(name.split("-", 1)[0]) == 3
               for name in declared_files(GRAPH, 1)), "every file starts with its three-digit number"


def test_each_decomposition_waits_for_its_own_duration_chunk_not_the_merge():
    assert "DurationEstimates" not in GRAPH["WBSLevel3Item"]
    assert "EstimateDurationsItem" in GRAPH["WBSLevel3Item"]


def test_pitch_and_review_stay_off_the_level_3_chain():
    for family in ("Pitch", "ReviewPlanItem", "PlanReview"):
        assert not ({"WBSLevel3Item", "WBSProject123", "EstimateDurationsItem", "Schedule"} & upstream(family)), family


def test_the_opening_stages_read_the_idea_alone_and_start_together():
    for family in ("IdentifyPurpose", "PlanType", "PotentialLevers", "IdentifyRisks"):
        assert GRAPH[family] == {"Setup"}, family


def test_the_assumptions_do_not_wait_for_the_strategy():
    levers = {"PotentialLevers", "DeduplicateLevers", "EnrichLevers", "VitalFewLevers", "CandidateScenarios",
              "SelectScenario"}
    for family in ("PhysicalLocations", "CurrencyStrategy", "MakeAssumptions", "ReviewAssumptions",
                   "PreProjectAssessment"):
        assert not (levers & upstream(family)), family
    assert {"VitalFewLevers", "SelectScenario", "PreProjectAssessment"} <= upstream("ProjectPlanOutline")


def test_the_premortem_and_the_experts_do_not_wait_for_the_end_of_the_plan():
    assert "ExecutiveSummary" not in upstream("Premortem")
    assert "SWOTAnalysis" not in upstream("FindExpertsItem") and "SWOTAnalysis" in GRAPH["ExpertCriticismItem"]


def llm_depth(family: str, memo: dict[str, int] = {}) -> int:
    """LLM calls on the longest chain that ends with `family` (a fan-out's items count once)."""
    if family not in memo:
        own = 1 if issubclass(task_class(family), LLMTask) else 0
        memo[family] = own + max((llm_depth(dep) for dep in GRAPH[family]), default=0)
    return memo[family]


def test_no_chain_of_the_plan_is_more_than_18_llm_calls_deep():
    assert llm_depth("FullPlan") <= 18


def test_review_questions_do_not_read_drafted_documents():
    assert not ({"DraftDocumentToFindItem", "DraftDocumentToCreateItem", "DocumentsMarkdown"} & upstream("ReviewPlanItem"))


def test_every_llm_task_holds_one_llm_slot_and_no_other_task_holds_one():
    for family in GRAPH:
        cls = task_class(family)
        printing = getattr(cls, "process_kind", "") == "print"  # the PDF and Word files and their parts
        assert cls.resources == ({"llm": 1} if issubclass(cls, LLMTask) else {"print": 1} if printing else {}), family
    assert any(issubclass(task_class(f), LLMTask) for f in GRAPH)


def test_priorities_follow_the_remaining_critical_path():
    remaining = REMAINING_SECONDS
    # Down each long chain every step has less left to do.
    for chain in (["PotentialLevers", "DeduplicateLevers", "EnrichLeverItem", "EnrichLevers", "VitalFewLevers",
                   "CandidateScenarios", "SelectScenario", "ProjectPlanOutline", "ProjectPlanPartItem", "ProjectPlan",
                   "SWOTAnalysis", "ExpertCriticismItem", "DataCollectionOutline", "DataAreaItem"],
                  ["PlanType", "PhysicalLocations", "CurrencyStrategy", "MakeAssumptions", "DistillAssumptions",
                   "ReviewAssumptions", "PreProjectAssessment", "ProjectPlanOutline"]):
        assert [remaining[f] for f in chain] == sorted((remaining[f] for f in chain), reverse=True), chain
    # Where slots are scarce, the long chains go first: experts and team before drafting documents.
    assert remaining["ExpertCriticismItem"] > remaining["DraftDocumentToFindItem"]
    assert remaining["GovernancePhase1Audit"] > remaining["GovernancePhase4DecisionEscalation"]
    assert FullPlan(run_dir=RUN).clone(task_class("ExpertCriticismItem"), index=0).priority > 0
