"""Every output is written with the record of what it was made from, beside the plan's files."""

from __future__ import annotations

import json

from support.crafted import build_crafted

from planexe_pipeline.records import RECORDS_DIR, file_fingerprint, read_record


def test_each_task_records_the_fingerprints_of_what_it_read_and_wrote(tmp_path):
    assert build_crafted(tmp_path)
    middle = read_record(tmp_path, "102-crafted_middle")
    assert middle.made_from == {name: file_fingerprint(tmp_path / name)
                                for name in ("001-plan.txt", "101-crafted_root.json")}
    assert middle.outputs == {name: file_fingerprint(tmp_path / name)
                              for name in ("102-crafted_middle.json", "102-crafted_middle.md")}
    assert middle.models == ["simulated-instant"] and middle.version.startswith("sha256:")
    assert not middle.stale and middle.edited == [] and middle.remark is None

    item = read_record(tmp_path, "104-crafted_thing_notes/item-001")
    assert item.item == 1 and set(item.made_from) == {"103-crafted_things.json", "102-crafted_middle.json"}
    merge = read_record(tmp_path, "104-crafted_thing_notes")
    assert set(merge.made_from) == {f"104-crafted_thing_notes/item-{i:03d}.json" for i in range(len(
        json.loads((tmp_path / "103-crafted_things.json").read_text())["things"]))}
    assert merge.version is None and merge.models == []  # our own code: no call, no model
    leaf = read_record(tmp_path, "105-crafted_leaf")
    assert set(leaf.made_from) == {"104-crafted_thing_notes.json", "102-crafted_middle.md"}  # the forms it reads


def test_a_stages_version_changes_with_its_instructions_not_with_its_input(tmp_path):
    assert build_crafted(tmp_path / "a")
    assert build_crafted(tmp_path / "b")
    root_a, root_b = (read_record(tmp_path / d, "101-crafted_root") for d in "ab")
    assert root_a.version == root_b.version
    assert root_a.version != read_record(tmp_path / "a", "102-crafted_middle").version


def test_records_name_files_relative_to_the_run_folder(tmp_path):
    assert build_crafted(tmp_path)
    texts = [p.read_text() for p in (tmp_path / RECORDS_DIR).rglob("*.json")]
    assert len(texts) == len(list(tmp_path.glob("1*.json"))) + len(list(tmp_path.glob("10*/item-*.json"))) + 3
    assert not any(str(tmp_path) in text for text in texts)
