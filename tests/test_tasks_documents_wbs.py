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
    write_model(tmp_path / "041-filter_documents_to_find.json", FilteredDocuments(kind="find", kept=docs("DF", 3)))
    batch = next(DraftDocumentsToFind(run_dir=run_dir).run())
    assert [(type(t), t.index) for t in batch] == [(DraftDocumentToFindItem, i) for i in range(3)]


# -- Luigi runs ------------------------------------------------------------------------------------
def test_luigi_runs_documents_and_schedule_with_every_item_file(tmp_path):
    run_dir = upstream_folder(tmp_path)
    tasks = [DocumentsMarkdown(run_dir=run_dir, llm=LLM), Schedule(run_dir=run_dir, llm=LLM)]
    assert luigi.build(tasks, workers=4, local_scheduler=True)

    for kind, number in (("find", "041"), ("create", "042")):
        kept = json.loads(next(tmp_path.glob(f"{number}-*.json")).read_text())["kept"]
        stage_dir = DraftDocumentToFindItem.stage_dir if kind == "find" else DraftDocumentToCreateItem.stage_dir
        assert item_files(tmp_path / stage_dir) == [f"item-{i:03d}.json" for i in range(len(kept))]
        merged = json.loads((tmp_path / f"{stage_dir}.json").read_text())
        assert [d["document"]["id"] for d in merged["documents"]] == [d["id"] for d in kept]
    documents_md = (tmp_path / "045-documents.md").read_text()
    assert "### Documents to find" in documents_md and "### Documents to create" in documents_md

    project12_json = json.loads((tmp_path / "048-wbs_project_level1_and_level2.json").read_text())
    n_tasks = sum(len(p["children"]) for p in project12_json["phases"])
    assert item_files(tmp_path / "050-estimate_durations") == [f"item-{i:03d}.json" for i in range(math.ceil(n_tasks / 3))]
    assert item_files(tmp_path / "051-wbs_level3") == [f"item-{i:03d}.json" for i in range(n_tasks)]

    schedule = json.loads((tmp_path / "053-schedule.json").read_text())
    assert schedule["start_date"] == "2026-01-05"
    assert (tmp_path / "053-schedule.mmd").read_text().startswith("gantt\n")
    assert (tmp_path / "053-schedule.csv").read_text().startswith("id,title,parent_id")
    assert "# Schedule" in (tmp_path / "053-schedule.md").read_text()
    full = json.loads((tmp_path / "052-wbs_project_level1_level2_level3.json").read_text())
    for phase in full["phases"]:
        for task in phase["children"]:
            assert math.isclose(sum(c["duration_days"] for c in task["children"]), task["duration_days"])


def test_width_zero_writes_empty_sections(tmp_path):
    run_dir = upstream_folder(tmp_path)
    write_model(tmp_path / "040-identify_documents.json", IdentifiedDocuments(documents_to_create=docs("DC", 2)))
    (tmp_path / "040-identify_documents.md").write_text("## Documents needed\n")
    # A filter that kept nothing, and (for documents to find) an empty list filtered with no call.
    write_model(tmp_path / "042-filter_documents_to_create.json", FilteredDocuments(kind="create"))
    (tmp_path / "042-filter_documents_to_create.md").write_text("## Triage\n")
    assert luigi.build([DocumentsMarkdown(run_dir=run_dir, llm=LLM)], workers=4, local_scheduler=True)
    assert json.loads((tmp_path / "043-draft_documents_to_find.json").read_text()) == {"documents": []}
    assert json.loads((tmp_path / "044-draft_documents_to_create.json").read_text()) == {"documents": []}
    assert item_files(tmp_path / "043-draft_documents_to_find") == []
    text = (tmp_path / "045-documents.md").read_text()
    assert "No documents to find were kept" in text and "No documents to create were kept" in text


def test_single_item_run_alone_writes_only_its_file(tmp_path):
    run_dir = upstream_folder(tmp_path)
    write_model(tmp_path / "041-filter_documents_to_find.json", FilteredDocuments(kind="find", kept=docs("DF", 3)))
    (tmp_path / "041-filter_documents_to_find.md").write_text("## Triage\n")
    before = set(p.name for p in tmp_path.iterdir())
    assert luigi.build([DraftDocumentToFindItem(run_dir=run_dir, index=1, llm=LLM)], local_scheduler=True)
    assert item_files(tmp_path / "043-draft_documents_to_find") == ["item-001.json"]
    assert set(p.name for p in tmp_path.iterdir()) - before == {"043-draft_documents_to_find", "telemetry"}
    item = DraftedDocumentToFind.model_validate_json((tmp_path / "043-draft_documents_to_find/item-001.json").read_text())
    assert item.document.id == "DF-2"


def test_merge_is_in_index_order_whatever_order_items_finished(tmp_path):
    run_dir = upstream_folder(tmp_path)
    kept = docs("DF", 3)
    write_model(tmp_path / "041-filter_documents_to_find.json", FilteredDocuments(kind="find", kept=kept))
    (tmp_path / "041-filter_documents_to_find.md").write_text("## Triage\n")
    brief = FindBrief(where_to_find=["INSEE"], what_to_look_for=["x"], steps=["ask"], access_difficulty="easy",
                      fallback="none")
    for i in (2, 0, 1):  # finished out of order
        write_model(tmp_path / f"043-draft_documents_to_find/item-{i:03d}.json",
                    DraftedDocumentToFind(document=kept[i], brief=brief))
    assert luigi.build([DraftDocumentsToFind(run_dir=run_dir, llm=LLM)], workers=4, local_scheduler=True)
    merged = json.loads((tmp_path / "043-draft_documents_to_find.json").read_text())
    assert [d["document"]["id"] for d in merged["documents"]] == ["DF-1", "DF-2", "DF-3"]
    md = (tmp_path / "043-draft_documents_to_find.md").read_text()
    assert md.index("DF-1") < md.index("DF-2") < md.index("DF-3")
