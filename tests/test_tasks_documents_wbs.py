"""Documents and WBS tasks: their edges, and Luigi runs of both groups on a run folder whose
upstream files are written by hand."""

from __future__ import annotations

import json
import math

import luigi

from planexe_pipeline.tasks.base import PLAN_TASKS

from planexe_pipeline.stages.documents import FilteredDocuments, IdentifiedDocuments
from planexe_pipeline.stages.draft_documents import DraftedDocumentToFind, FindBrief
from planexe_pipeline.tasks.documents import (DocumentsMarkdown, DraftDocumentsToCreate, DraftDocumentsToFind,
                                              DraftDocumentToCreateItem, DraftDocumentToFindItem)
from planexe_pipeline.tasks.wbs import (DurationEstimates, Schedule, WBSLevel3Item, WBSProject123)
from support.documents_wbs import LLM, docs, item_files, upstream_folder, write_model
from support.files import items_dir, plan_file


# -- task edges ------------------------------------------------------------------------------------
def test_each_decomposition_waits_only_for_the_chunk_holding_its_task():
    for index in range(9):
        chunk = WBSLevel3Item(run_dir="/x", index=index).requires()["durations"]
        assert chunk.task_family == "EstimateDurationsItem" and chunk.index == index // 3


def test_each_merge_requires_only_the_list_its_items_come_from():
    for merge, listed in ((DraftDocumentsToFind, "FilterDocumentsToFind"),
                          (DraftDocumentsToCreate, "FilterDocumentsToCreate"),
                          (DurationEstimates, "WBSProject12"), (WBSProject123, "WBSProject12")):
        assert [t.task_family for t in merge(run_dir="/x").requires().values()] == [listed], merge


def test_task_modules_export_their_tasks():
    from planexe_pipeline.tasks import documents as doc_tasks, wbs as wbs_tasks

    assert set(doc_tasks.__all__) | set(wbs_tasks.__all__) == {
        name for name, cls in PLAN_TASKS.items() if cls.__module__ in (doc_tasks.__name__, wbs_tasks.__name__)}


def test_merge_yields_every_item_in_one_batch(tmp_path):
    run_dir = upstream_folder(tmp_path)
    write_model(tmp_path / plan_file("FilterDocumentsToFind", "json"), FilteredDocuments(kind="find", kept=docs("DF", 3)))
    batch = next(DraftDocumentsToFind(run_dir=run_dir).run())
    assert [(type(t), t.index) for t in batch] == [(DraftDocumentToFindItem, i) for i in range(3)]


# -- Luigi runs ------------------------------------------------------------------------------------
def test_luigi_runs_documents_and_schedule_with_every_item_file(tmp_path):
    run_dir = upstream_folder(tmp_path)
    tasks = [DocumentsMarkdown(run_dir=run_dir, llm=LLM), Schedule(run_dir=run_dir, llm=LLM)]
    assert luigi.build(tasks, workers=4, local_scheduler=True)

    for kind, family in (("find", "FilterDocumentsToFind"), ("create", "FilterDocumentsToCreate")):
        kept = json.loads((tmp_path / plan_file(family)).read_text())["kept"]
        stage_dir = DraftDocumentToFindItem.stage_dir if kind == "find" else DraftDocumentToCreateItem.stage_dir
        assert item_files(tmp_path / stage_dir) == [f"item-{i:03d}.json" for i in range(len(kept))]
        merged = json.loads((tmp_path / f"{stage_dir}.json").read_text())
        assert [d["document"]["id"] for d in merged["documents"]] == [d["id"] for d in kept]
    documents_md = (tmp_path / plan_file("DocumentsMarkdown", "md")).read_text()
    assert "### Documents to find" in documents_md and "### Documents to create" in documents_md

    project12_json = json.loads((tmp_path / plan_file("WBSProject12", "json")).read_text())
    n_tasks = sum(len(p["children"]) for p in project12_json["phases"])
    assert item_files(tmp_path / items_dir("EstimateDurationsItem")) == [f"item-{i:03d}.json" for i in range(math.ceil(n_tasks / 3))]
    assert item_files(tmp_path / items_dir("WBSLevel3Item")) == [f"item-{i:03d}.json" for i in range(n_tasks)]

    schedule = json.loads((tmp_path / plan_file("Schedule", "json")).read_text())
    assert schedule["start_date"] == "2026-01-05"
    assert (tmp_path / plan_file("Schedule", "mmd")).read_text().startswith("gantt\n")
    assert (tmp_path / plan_file("Schedule", "csv")).read_text().startswith("id,title,parent_id")
    assert "# Schedule" in (tmp_path / plan_file("Schedule", "md")).read_text()
    full = json.loads((tmp_path / plan_file("WBSProject123", "json")).read_text())
    for phase in full["phases"]:
        for task in phase["children"]:
            assert math.isclose(sum(c["duration_days"] for c in task["children"]), task["duration_days"])


def test_width_zero_writes_empty_sections(tmp_path):
    run_dir = upstream_folder(tmp_path)
    write_model(tmp_path / plan_file("IdentifyDocuments", "json"), IdentifiedDocuments(documents_to_create=docs("DC", 2)))
    (tmp_path / plan_file("IdentifyDocuments", "md")).write_text("## Documents needed\n")
    # A filter that kept nothing, and (for documents to find) an empty list filtered with no call.
    write_model(tmp_path / plan_file("FilterDocumentsToCreate", "json"), FilteredDocuments(kind="create"))
    (tmp_path / plan_file("FilterDocumentsToCreate", "md")).write_text("## Triage\n")
    assert luigi.build([DocumentsMarkdown(run_dir=run_dir, llm=LLM)], workers=4, local_scheduler=True)
    assert json.loads((tmp_path / plan_file("DraftDocumentsToFind", "json")).read_text()) == {"documents": []}
    assert json.loads((tmp_path / plan_file("DraftDocumentsToCreate", "json")).read_text()) == {"documents": []}
    assert item_files(tmp_path / items_dir("DraftDocumentToFindItem")) == []
    text = (tmp_path / plan_file("DocumentsMarkdown", "md")).read_text()
    assert "No documents to find were kept" in text and "No documents to create were kept" in text


def test_single_item_run_alone_writes_only_its_file(tmp_path):
    run_dir = upstream_folder(tmp_path)
    write_model(tmp_path / plan_file("FilterDocumentsToFind", "json"), FilteredDocuments(kind="find", kept=docs("DF", 3)))
    (tmp_path / plan_file("FilterDocumentsToFind", "md")).write_text("## Triage\n")
    before = set(p.name for p in tmp_path.iterdir())
    assert luigi.build([DraftDocumentToFindItem(run_dir=run_dir, index=1, llm=LLM)], local_scheduler=True)
    assert item_files(tmp_path / items_dir("DraftDocumentToFindItem")) == ["item-001.json"]
    assert set(p.name for p in tmp_path.iterdir()) - before == {items_dir("DraftDocumentToFindItem"), "telemetry", "records"}
    item = DraftedDocumentToFind.model_validate_json((tmp_path / f"{items_dir('DraftDocumentToFindItem')}/item-001.json").read_text())
    assert item.document.id == "DF-2"


def test_merge_is_in_index_order_whatever_order_items_finished(tmp_path):
    run_dir = upstream_folder(tmp_path)
    kept = docs("DF", 3)
    write_model(tmp_path / plan_file("FilterDocumentsToFind", "json"), FilteredDocuments(kind="find", kept=kept))
    (tmp_path / plan_file("FilterDocumentsToFind", "md")).write_text("## Triage\n")
    brief = FindBrief(where_to_find=["INSEE"], what_to_look_for=["x"], steps=["ask"], access_difficulty="easy",
                      fallback="none")
    for i in (2, 0, 1):  # finished out of order
        write_model(tmp_path / f"{items_dir('DraftDocumentToFindItem')}/item-{i:03d}.json",
                    DraftedDocumentToFind(document=kept[i], brief=brief))
    assert luigi.build([DraftDocumentsToFind(run_dir=run_dir, llm=LLM)], workers=4, local_scheduler=True)
    merged = json.loads((tmp_path / plan_file("DraftDocumentsToFind", "json")).read_text())
    assert [d["document"]["id"] for d in merged["documents"]] == ["DF-1", "DF-2", "DF-3"]
    md = (tmp_path / plan_file("DraftDocumentsToFind", "md")).read_text()
    assert md.index("DF-1") < md.index("DF-2") < md.index("DF-3")
