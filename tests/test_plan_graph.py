"""The plan's graph is built once from the declarations, and refuses the ones it cannot build on."""

from __future__ import annotations

import pytest
from support.crafted import (CraftedEnd, CraftedLeaf, CraftedMiddle, CraftedRoot, CraftedThingItem,
                             CraftedThingNotes, CraftedThings, Idea, ThingList, _text)

from planexe_pipeline.pipeline import PLAN, FullPlan
from planexe_pipeline.tasks.base import PLAN_TASKS, LLMStage
from planexe_pipeline.tasks.graph import GraphError, PlanGraph
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.setup import IDEA


def declared(*classes: type) -> None:
    for cls in classes:  # crafted here: kept out of the real plan's registry
        PLAN_TASKS.pop(cls.task_family, None)


def test_a_stage_reading_an_input_as_another_type_than_its_producer_writes_fails_naming_both():
    def reads_a_list(llm, *, plan: str, middle: ThingList) -> Idea:
        raise AssertionError("never called")

    class MisreadsMiddle(LLMStage):
        number, stem = 150, "misreads_middle"
        inputs = {"plan": IDEA, "middle": Input(CraftedMiddle, "its points")}
        execute, to_markdown = reads_a_list, _text

    declared(MisreadsMiddle)
    with pytest.raises(GraphError, match="MisreadsMiddle reads 'middle' from CraftedMiddle as ThingList, "
                                         "but CraftedMiddle writes Idea"):
        PlanGraph.build(MisreadsMiddle)


def _stage(name: str, number: int, stem: str) -> type:
    def execute(llm, *, plan: str) -> Idea:
        raise AssertionError("never called")

    cls = type(name, (LLMStage,), {"number": number, "stem": stem, "inputs": {"plan": IDEA},
                                   "execute": execute, "to_markdown": _text, "__module__": __name__})
    declared(cls)
    return cls


def _reading(name: str, *upstream: type) -> type:
    cls = type(name, (CraftedEnd,), {"number": 997, "files": {"done": f"997-{name}.txt"},
                                     "inputs": {u.__name__: Input(u, "it") for u in upstream}, "__module__": __name__})
    declared(cls)
    return cls


def test_two_stages_sharing_a_number_fail_naming_both():
    first, second = _stage("SharesNumberA", 160, "shares_number_a"), _stage("SharesNumberB", 160, "shares_number_b")
    with pytest.raises(GraphError, match="SharesNumberA and SharesNumberB share the number 160"):
        PlanGraph.build(_reading("ReadsBothNumbers", first, second))


def test_two_stages_sharing_a_stem_fail_naming_both():
    first, second = _stage("SharesStemA", 161, "shared_stem"), _stage("SharesStemB", 162, "shared_stem")
    with pytest.raises(GraphError, match="SharesStemA and SharesStemB share the stem 'shared_stem'"):
        PlanGraph.build(_reading("ReadsBothStems", first, second))


def test_a_fan_outs_items_and_merge_are_one_stage_and_its_edges_are_known():
    graph = PlanGraph.build(CraftedEnd)
    assert graph.deps["CraftedThingNotes"] == ("CraftedThings", "CraftedThingItem")
    assert graph.downstream_of("CraftedMiddle") == {"CraftedThingItem", "CraftedThingNotes", "CraftedLeaf",
                                                    "CraftedSummary", "CraftedEnd"}
    assert graph.upstream_of("CraftedLeaf") >= {"Setup", "CraftedRoot", "CraftedThings", "CraftedThingItem"}
    node = graph.nodes["CraftedThingItem"]
    assert node.answer is CraftedThingItem.result_model and node.kind == "LLM, one per item"
    assert graph.nodes["CraftedLeaf"].answer is Idea
    assert [f for f in graph.nodes][:2] == ["Setup", "CraftedRoot"]  # in file-number order


def test_requires_is_read_from_the_graph():
    task = CraftedLeaf(run_dir="/nonexistent")
    assert {name: t.task_family for name, t in task.requires().items()} == \
           {"notes": "CraftedThingNotes", "middle": "CraftedMiddle"}


def test_the_run_graph_expands_each_fan_out_to_its_list(tmp_path):
    (tmp_path / "103-crafted_things.json").write_text(ThingList(things=[{"name": "a"}, {"name": "b"},
                                                                         {"name": "c"}]).model_dump_json())
    run = PlanGraph.build(CraftedEnd).instances(str(tmp_path))
    assert run.deps[("CraftedThingNotes", None)] == (("CraftedThings", None), ("CraftedThingItem", 0),
                                                      ("CraftedThingItem", 1), ("CraftedThingItem", 2))
    assert run.downstream_of([("CraftedThingItem", 1)]) == {("CraftedThingNotes", None), ("CraftedLeaf", None),
                                                            ("CraftedSummary", None), ("CraftedEnd", None)}
    assert ("CraftedThingItem", 0) in run.downstream_of([("CraftedRoot", None)])


def test_the_plans_graph_is_every_registered_task_and_its_priorities_are_its_remaining_path():
    assert set(PLAN.nodes) == set(PLAN_TASKS)
    remaining = PLAN.remaining_seconds()
    assert remaining["FullPlan"] == 0.0 and remaining["Setup"] == max(remaining.values())
    assert FullPlan.priorities == {f: int(round(s)) for f, s in remaining.items()}
    for family, node in PLAN.nodes.items():  # each task has at least its own call plus the longest after it
        after = max((remaining[d] for d in PLAN.dependents[family]), default=0.0)
        assert remaining[family] == pytest.approx(node.expected_s + after), family


def test_the_crafted_graph_is_not_part_of_the_plan():
    assert not {c.task_family for c in (CraftedRoot, CraftedThings, CraftedThingItem, CraftedThingNotes)} & set(PLAN.nodes)
