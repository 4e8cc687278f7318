"""Asking one stage again: with a remark in its prompt, another model, then what depends on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.crafted import CRAFTED_GRAPH as GRAPH
from support.crafted import copy_of, crafted_files, finished_crafted, revise_crafted
from support.executor_fakes import VALID, Answer, ScriptedLLM, make

from planexe_pipeline.errors import InputError
from planexe_pipeline.llm.executor import REMARK_HEADING
from planexe_pipeline.records import read_record
from planexe_pipeline.tasks import revision

NOTE = "Keep the budget under 2 M EUR"


class Listening(ScriptedLLM):
    def chat(self, messages, **kwargs):
        self.heard = [m.content for m in messages]
        return super().chat(messages, **kwargs)


def test_a_remark_is_added_last_to_every_prompt_of_the_step(tmp_path):
    llm = Listening(VALID)
    executor, _ = make([("m", llm)], tmp_path)
    executor.remark = NOTE
    executor.structured(Answer, "system", "# Plan\nA bakery.")
    assert llm.heard[-1].endswith(f"# Plan\nA bakery.\n\n{REMARK_HEADING}\n{NOTE}\n")
    executor.remark = None
    executor.structured(Answer, "system", "# Plan\nA bakery.")
    assert REMARK_HEADING not in llm.heard[-1]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    return finished_crafted(tmp_path_factory, "crafted-redo")


@pytest.fixture
def plan(finished, tmp_path) -> Path:
    return copy_of(finished, tmp_path)


def redo(run_dir: Path, stage: str, item: int | None = None, note: str | None = None) -> tuple[list, set, int]:
    keys = revision.redo_targets(GRAPH, str(run_dir), stage, item)
    revision.ask_again(GRAPH, str(run_dir), keys, remark=note, model=None)
    found, ran, calls = revise_crafted(run_dir)
    return found.redo, ran, calls


def test_one_fan_out_item_with_a_note_redoes_that_item_its_merge_and_what_follows_nothing_else(plan, finished):
    planned, ran, calls = redo(plan, "crafted_thing_notes", item=0, note=NOTE)
    expected = {("CraftedThingItem", 0), ("CraftedThingNotes", None), ("CraftedLeaf", None),
                ("CraftedSummary", None), ("CraftedEnd", None)}
    assert set(planned) == ran == expected and calls == 2  # the item's call and the leaf's
    record = read_record(plan, "104-crafted_thing_notes/item-000")
    assert record.remark == NOTE and not record.stale
    before, after = crafted_files(finished), crafted_files(plan)
    assert before["104-crafted_thing_notes/item-000.json"] != after["104-crafted_thing_notes/item-000.json"]
    assert before["104-crafted_thing_notes/item-001.json"] == after["104-crafted_thing_notes/item-001.json"]
    assert {n for n in before if before[n] != after[n]} <= {"104-crafted_thing_notes/item-000.json",
                                                          "104-crafted_thing_notes.json", "104-crafted_thing_notes.md",
                                                          "105-crafted_leaf.json", "105-crafted_leaf.md",
                                                          "106-crafted_summary.md"}


def test_the_remark_stays_with_the_stage_when_it_is_made_again_later(plan):
    redo(plan, "CraftedMiddle", note=NOTE)
    (plan / "101-crafted_root.json").write_text(json.dumps({"title": "Another idea", "points": ["x"]}) + "\n")
    planned, ran, _ = redo(plan, "crafted_root")  # asked again without a note: its own remark goes
    assert ("CraftedMiddle", None) in ran and read_record(plan, "102-crafted_middle").remark == NOTE
    assert read_record(plan, "101-crafted_root").remark is None and read_record(plan, "101-crafted_root").edited == []


def test_a_stage_is_named_by_task_stem_or_number_and_a_wrong_name_says_how(plan):
    assert revision.redo_targets(GRAPH, str(plan), "CraftedLeaf", None) == [("CraftedLeaf", None)]
    assert revision.redo_targets(GRAPH, str(plan), "crafted_leaf", None) == [("CraftedLeaf", None)]
    assert revision.redo_targets(GRAPH, str(plan), "105", None) == [("CraftedLeaf", None)]
    width = len(json.loads((plan / "103-crafted_things.json").read_text())["things"])
    assert revision.redo_targets(GRAPH, str(plan), "CraftedThingNotes", None) == [("CraftedThingItem", i)
                                                                                   for i in range(width)]
    with pytest.raises(InputError, match="no stage 'swot' in this plan"):
        revision.redo_targets(GRAPH, str(plan), "swot", None)
    with pytest.raises(InputError, match=f"CraftedThingItem has {width} items"):
        revision.redo_targets(GRAPH, str(plan), "crafted_thing_notes", width)
    with pytest.raises(InputError, match="CraftedLeaf is not a fan-out"):
        revision.redo_targets(GRAPH, str(plan), "crafted_leaf", 0)
    with pytest.raises(InputError, match="CraftedSummary makes no LLM call"):
        revision.ask_again(GRAPH, str(plan), [("CraftedSummary", None)], remark=NOTE, model=None)
