"""Revising a finished plan on a crafted graph: an edit is kept, exactly what depends on it is redone.

The crafted plan (support/crafted.py): Setup -> Root -> Middle; Setup -> Things -> ThingItem i
(reads Middle) -> Things merge; Leaf (reads the merge, and Middle's text) -> Summary (Root's and
Leaf's text) -> End.
"""

from __future__ import annotations

import json
from pathlib import Path

import luigi
import pytest
from support.crafted import CRAFTED_GRAPH as GRAPH
from support.crafted import copy_of, crafted_files, finished_crafted, revise_crafted

from planexe_pipeline.errors import InputError
from planexe_pipeline.records import read_record
from planexe_pipeline.tasks import revision

EVERY_TASK_AFTER_THE_NOTES = {("CraftedThingNotes", None), ("CraftedLeaf", None), ("CraftedSummary", None),
                              ("CraftedEnd", None)}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    return finished_crafted(tmp_path_factory, "crafted")


@pytest.fixture
def plan(finished, tmp_path) -> Path:
    return copy_of(finished, tmp_path)


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data, indent=2) + "\n")


def check(plan: Path, finished: Path, edited: set[str], expected: set) -> revision.Revision:
    found, ran, calls = revise_crafted(plan)
    assert set(found.redo) == expected == ran
    assert calls == found.llm_calls == sum(1 for family, _ in expected if GRAPH.nodes[family].llm)
    before, after = crafted_files(finished), crafted_files(plan)
    redone = {name for family, item in expected for name in _outputs(plan, family, item)}
    unchanged = {name for name in before if name not in redone | edited}
    assert {name for name in unchanged if before[name] != after[name]} == set()
    assert all(after[name] != before[name] for name in edited)  # the person's edit is kept
    assert revision.plan_revision(GRAPH, str(plan)).line() is None  # and all is current again
    return found


def _outputs(run_dir: Path, family: str, item) -> set[str]:
    task = GRAPH.instances(str(run_dir)).task((family, item), str(run_dir))
    return {Path(t.path).relative_to(run_dir).as_posix() for t in luigi.task.flatten(task.output())}


def items(run_dir: Path) -> int:
    return len(json.loads((run_dir / "103-crafted_things.json").read_text())["things"])


def test_an_edit_at_the_root_redoes_what_reads_it_and_not_its_sibling(plan, finished):
    edit_json(plan / "101-crafted_root.json", title="A bakery with a reading corner")
    found = check(plan, finished, {"101-crafted_root.json", "101-crafted_root.md"},
                  {("CraftedMiddle", None), *(("CraftedThingItem", i) for i in range(items(plan))),
                   *EVERY_TASK_AFTER_THE_NOTES})
    assert "A bakery with a reading corner" in (plan / "101-crafted_root.md").read_text()  # its text follows
    record = read_record(plan, "101-crafted_root")
    assert record.edited == ["101-crafted_root.json"] and not record.stale
    assert found.line() == (f"Revising {plan}: edited 101-crafted_root.json; redoing {len(found.redo)} tasks and "
                            f"{found.llm_calls} LLM calls")


def test_an_edit_in_the_middle(plan, finished):
    edit_json(plan / "102-crafted_middle.json", title="Refined: a bakery and a school")
    check(plan, finished, {"102-crafted_middle.json", "102-crafted_middle.md"},
          {*(("CraftedThingItem", i) for i in range(items(plan))), *EVERY_TASK_AFTER_THE_NOTES})


def test_an_edit_at_a_leaf(plan, finished):
    edit_json(plan / "105-crafted_leaf.json", title="Open in spring")
    check(plan, finished, {"105-crafted_leaf.json", "105-crafted_leaf.md"},
          {("CraftedSummary", None), ("CraftedEnd", None)})


def test_an_edit_of_one_fan_out_item_redoes_its_merge_and_what_follows_not_the_other_items(plan, finished):
    edit_json(plan / "104-crafted_thing_notes" / "item-001.json", note="The oven comes from Italy.")
    check(plan, finished, {"104-crafted_thing_notes/item-001.json"}, EVERY_TASK_AFTER_THE_NOTES)


def test_an_edit_of_a_merge_keeps_its_items(plan, finished):
    path = plan / "104-crafted_thing_notes.json"
    data = json.loads(path.read_text())
    data["notes"][0]["note"] = "Merged by hand."
    path.write_text(json.dumps(data, indent=2) + "\n")
    check(plan, finished, {"104-crafted_thing_notes.json", "104-crafted_thing_notes.md"},
          EVERY_TASK_AFTER_THE_NOTES - {("CraftedThingNotes", None)})


def test_an_edit_of_a_markdown_file_alone_redoes_what_reads_that_text(plan, finished):
    path = plan / "102-crafted_middle.md"
    path.write_text(path.read_text() + "\nA note added by hand.\n")
    found = check(plan, finished, {"102-crafted_middle.md"},  # the leaf reads it; the items read the JSON
                  {("CraftedLeaf", None), ("CraftedSummary", None), ("CraftedEnd", None)})
    assert found.notes() == ["102-crafted_middle.md was edited, but later stages read 102-crafted_middle.json: "
                             "edit that file for them to see the change"]


def test_an_edit_that_no_longer_fits_names_the_file_and_field_and_changes_nothing(plan):
    edit_json(plan / "102-crafted_middle.json", title=["not", "a", "title"])
    before = {p: p.read_bytes() for p in plan.rglob("*") if p.is_file()}
    with pytest.raises(InputError, match=r"102-crafted_middle.json was edited and no longer fits CraftedMiddle's "
                                         r"answer: field 'title': Input should be a valid string"):
        revision.plan_revision(GRAPH, str(plan))
    assert {p: p.read_bytes() for p in plan.rglob("*") if p.is_file()} == before


def test_a_deleted_output_is_made_again_with_what_depends_on_it(plan, finished):
    (plan / "103-crafted_things.md").unlink()
    found, ran, _ = revise_crafted(plan)
    assert ("CraftedThings", None) in ran and set(found.redo) == ran
    assert crafted_files(plan) == crafted_files(finished)  # the same inputs make the same files


def test_an_unchanged_plan_redoes_nothing(plan, finished):
    found, ran, calls = revise_crafted(plan)
    assert found.line() is None and ran == set() and calls == 0 and crafted_files(plan) == crafted_files(finished)
