"""The shape of the whole task graph, walked from FullPlan: the edges that set the wall time."""

from __future__ import annotations

import luigi
import pytest

from planexe_pipeline.pipeline import REMAINING_SECONDS, FullPlan
from planexe_pipeline.tasks.base import FanOutItem, FanOutMerge, LLMTask

RUN = "/nonexistent-graph-run"


def walk() -> dict[str, set[str]]:
    """family -> families it requires, static edges plus the dynamic ones of every fan-out."""
    edges: dict[str, set[str]] = {}
    stack = [FullPlan(run_dir=RUN)]
    while stack:
        task = stack.pop()
        if task.task_family in edges:
            continue
        deps = list(luigi.task.flatten(task.requires()))
        if isinstance(task, FanOutMerge):
            deps += [task.clone(task.item_task, index=0), *task.merge_requires().values()]
        edges[task.task_family] = {d.task_family for d in deps}
        stack.extend(deps)
    return edges


GRAPH = walk()


def upstream(family: str) -> set[str]:
    seen, stack = set(), [family]
    while stack:
        for dep in GRAPH[stack.pop()]:
            if dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return seen


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
    classes = {f: luigi.task_register.Register.get_task_cls(f) for f in GRAPH}
    fan_outs = {f: cls for f, cls in classes.items() if issubclass(cls, FanOutMerge)}
    assert len(fan_outs) == 7, sorted(fan_outs)
    for family, merge in fan_outs.items():
        item = merge.item_task
        assert item.task_family in GRAPH[family], f"{family} must wait for its items"
        probe = item(run_dir=RUN, index=0)
        assert set(GRAPH[family]) >= {t.task_family for t in luigi.task.flatten(probe.list_requires())}
        assert {t.task_family for t in luigi.task.flatten(probe.list_requires())} <= GRAPH[item.task_family]
        assert issubclass(item, FanOutItem) and issubclass(item, LLMTask)


def test_each_decomposition_waits_for_its_own_duration_chunk_not_the_merge():
    assert "DurationEstimates" not in GRAPH["WBSLevel3"]
    assert "EstimateDurations" in GRAPH["WBSLevel3"]


def test_pitch_and_review_stay_off_the_level_3_chain():
    for family in ("CreatePitch", "PitchMarkdown", "ReviewPlan", "PlanReview"):
        assert not ({"WBSLevel3", "WBSProject123", "EstimateDurations", "Schedule"} & upstream(family)), family


def test_review_questions_do_not_read_drafted_documents():
    assert not ({"DraftDocumentToFind", "DraftDocumentToCreate", "DocumentsMarkdown"} & upstream("ReviewPlan"))


def test_every_llm_task_holds_one_llm_slot():
    llm_tasks = [luigi.task_register.Register.get_task_cls(f) for f in GRAPH]
    llm_tasks = [cls for cls in llm_tasks if issubclass(cls, LLMTask)]
    assert len(llm_tasks) == 48  # LLM stages; a fan-out counts once
    for cls in llm_tasks:
        assert cls.resources == {"llm": 1}, cls.task_family


def test_priorities_follow_the_remaining_critical_path():
    remaining = REMAINING_SECONDS
    # Down the opening chain each step has less left to do.
    chain = ["IdentifyPurpose", "PlanType", "PotentialLevers", "DeduplicateLevers", "EnrichLevers",
             "VitalFewLevers", "CandidateScenarios", "SelectScenario", "PhysicalLocations", "ProjectPlan",
             "SWOTAnalysis", "FindExperts", "ExpertCriticism", "DataCollection", "WBSLevel2"]
    assert [remaining[f] for f in chain] == sorted((remaining[f] for f in chain), reverse=True)
    # Where slots are scarce, the long chains go first: experts and team before drafting documents.
    assert remaining["ExpertCriticism"] > remaining["DraftDocumentToFind"]
    assert remaining["EnrichBackground"] > remaining["GovernancePhase4DecisionEscalation"]
    assert FullPlan(run_dir=RUN).clone(luigi.task_register.Register.get_task_cls("ExpertCriticism"),
                                       index=0).priority > 0
