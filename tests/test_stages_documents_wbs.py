"""Documents and WBS stages: id-mapping rules, WBS numbering, duration scaling, task edges, and
Luigi runs of both groups on a run folder whose upstream files are written by hand."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date
from pathlib import Path

import luigi
import pytest

from planexe_pipeline.stages import documents, durations, task_dependencies, wbs, wbs_level3
from planexe_pipeline.stages.answer_ids import map_answers, map_id_list, normalise_id
from planexe_pipeline.stages.documents import (Document, DocumentToCreateAnswer, DocumentToFindAnswer,
                                               DocumentVerdict, FilterAnswer, FilteredDocuments,
                                               IdentifiedDocuments, IdentifiedDocumentsAnswer)
from planexe_pipeline.stages.draft_documents import DraftedDocumentToFind, FindBrief
from planexe_pipeline.stages.durations import DurationAnswer, DurationsAnswer, TaskToEstimate
from planexe_pipeline.stages.task_dependencies import DependenciesAnswer, DependencyAnswer
from planexe_pipeline.stages.wbs import Level1Answer, Level2Answer, Level2TaskAnswer, PhaseAnswer
from planexe_pipeline.stages.wbs_level3 import DecompositionAnswer, SubtaskAnswer
from planexe_pipeline.tasks.documents import (DocumentsMarkdown, DraftDocumentsToCreate, DraftDocumentsToFind,
                                              DraftDocumentToCreate, DraftDocumentToFind, FilterDocumentsToCreate,
                                              FilterDocumentsToFind, IdentifyDocuments)
from planexe_pipeline.tasks.wbs import (DurationEstimates, EstimateDurations, Schedule, TaskDependencies,
                                        WBSLevel1, WBSLevel2, WBSLevel3, WBSProject12, WBSProject123)

PROMPT = ("Open a sourdough bakery with a small cafe in Lyon, France. Budget 300,000 EUR, opening within "
          "nine months, supplying three restaurants with bread every morning.\n")
LLM = "simulated-instant"


class FakeLLM:
    """Stands for LLMExecutor: returns the given answer for each schema, and records the calls."""

    def __init__(self, *answers):
        self.answers = {type(a): a for a in answers}
        self.calls: list[tuple[type, str]] = []

    def structured(self, output_cls, system_prompt, user_prompt):
        self.calls.append((output_cls, user_prompt))
        return self.answers[output_cls]


# -- run folder with hand-written upstream outputs ------------------------------------------------
def upstream_folder(path: Path) -> str:
    """What Setup, ConsolidateAssumptions, ProjectPlan and DataCollection would have written."""
    files = {
        "001-plan.txt": PROMPT,
        "001-plan_fingerprint.json": json.dumps({"prompt_sha256": hashlib.sha256(PROMPT.encode()).hexdigest(),
                                                 "speed": "full", "start_date": "2026-01-05"}),
        "018-consolidate_assumptions.md": "## Assumptions\n\n- The bakery rents a 120 m2 shop in Croix-Rousse.\n",
        "020-project_plan.json": "{}",
        "020-project_plan.md": "## Project plan\n\n- Lease premises, fit out the bakery, hire two bakers.\n",
        "039-data_collection.json": "{}",
        "039-data_collection.md": "## Data collection\n\n- Footfall counts and shop rents in Lyon.\n",
    }
    for name, text in files.items():
        (path / name).write_text(text, encoding="utf-8")
    return str(path)


def write_model(path: Path, model) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(model.model_dump_json(indent=2), encoding="utf-8")


def docs(prefix: str, n: int) -> list[Document]:
    kind = "find" if prefix == "DF" else "create"
    return [Document(id=f"{prefix}-{i}", kind=kind, title=f"Document {prefix}-{i}", description="What it settles.",
                     source_or_owner="City of Lyon") for i in range(1, n + 1)]


def item_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- the id rule -----------------------------------------------------------------------------------
def test_normalise_id_reads_our_id_inside_what_the_model_wrote():
    assert normalise_id(" t-1.2 ") == "T-1.2"
    assert normalise_id("Task T-3.1: permits") == "T-3.1"
    assert normalise_id("no id here") is None
    assert normalise_id(None) is None


def test_map_answers_drops_unknown_keeps_first_duplicate_reports_missing():
    answers = [("T-9", "a"), ("t-1", "b"), ("T-1", "c"), ("garbage", "d"), ("T-3", "e")]
    mapping = map_answers(["T-1", "T-2", "T-3"], answers, lambda a: a[0])
    assert {k: v[1] for k, v in mapping.by_id.items()} == {"T-1": "b", "T-3": "e"}
    assert list(mapping.by_id) == ["T-1", "T-3"]
    assert mapping.missing == ["T-2"]
    assert len(mapping.dropped) == 3
    assert map_id_list(["T-1", "T-2"], ["T-2", "t-2", "T-7", "T-1"], exclude="T-1") == ["T-2"]


# -- documents -----------------------------------------------------------------------------------
def test_identify_numbers_documents_by_position_in_each_list():
    answer = IdentifiedDocumentsAnswer(
        documents_to_find=[DocumentToFindAnswer(title=f"DC-9 census {i}", description="d", likely_source="INSEE")
                           for i in range(3)],
        documents_to_create=[DocumentToCreateAnswer(title="Charter", description="d", responsible_role="PM")])
    result = documents.execute_identify(FakeLLM(answer), plan=PROMPT, assumptions="assumptions",
                                        project_plan="project plan")
    assert [d.id for d in result.documents_to_find] == ["DF-1", "DF-2", "DF-3"]
    assert [d.id for d in result.documents_to_create] == ["DC-1"]
    assert {d.kind for d in result.documents_to_find} == {"find"}


def test_filter_maps_verdicts_by_our_rule():
    listed = docs("DF", 4)
    answer = FilterAnswer(verdicts=[
        DocumentVerdict(document_id="DF-9", keep=True, importance="high", rationale="unknown"),
        DocumentVerdict(document_id="df-2", keep=False, importance="low", rationale="first"),
        DocumentVerdict(document_id="DF-2", keep=True, importance="high", rationale="duplicate"),
        DocumentVerdict(document_id="DF-1", keep=True, importance="critical", rationale="needed"),
        DocumentVerdict(document_id="DF-4", keep=False, importance="low", rationale="later"),
    ])
    result = documents.apply_verdicts(listed, "find", answer)
    assert [d.id for d in result.kept] == ["DF-1", "DF-3"]  # DF-3 had no verdict: kept, flagged
    flagged = {d.document_id for d in result.decisions if d.defaulted}
    assert flagged == {"DF-3"}
    assert len(result.ignored_answers) == 2


def test_filter_with_no_valid_id_keeps_all_and_one_keeping_nothing_keeps_nothing():
    listed = docs("DC", 3)
    junk = FilterAnswer(verdicts=[DocumentVerdict(document_id="X", keep=False, importance="low", rationale="?")])
    assert [d.id for d in documents.apply_verdicts(listed, "create", junk).kept] == ["DC-1", "DC-2", "DC-3"]
    none = FilterAnswer(verdicts=[DocumentVerdict(document_id=d.id, keep=False, importance="low", rationale="no")
                                  for d in listed])
    assert documents.apply_verdicts(listed, "create", none).kept == []


def test_filter_of_an_empty_list_makes_no_call():
    llm = FakeLLM()
    result = documents.execute_filter(llm, PROMPT, [], "find")
    assert result.kept == [] and llm.calls == []


# -- WBS numbering ---------------------------------------------------------------------------------
def wbs_answers():
    level1 = Level1Answer(project_title="Bakery", final_deliverable="An open bakery", phases=[
        PhaseAnswer(title="T-7 Permits", description="Permits granted"),
        PhaseAnswer(title="Fit-out", description="Kitchen ready"),
        PhaseAnswer(title="Launch", description="Doors open"),
    ])
    level2 = Level2Answer(tasks=[
        Level2TaskAnswer(phase_id="T-2", title="T-9.9 Install the oven", description="d"),
        Level2TaskAnswer(phase_id="t-1", title="File the permit", description="d"),
        Level2TaskAnswer(phase_id="Phase X", title="Order flour", description="d"),  # unknown: previous phase (T-1)
        Level2TaskAnswer(phase_id="T-2", title="Paint the shop", description="d"),
        Level2TaskAnswer(phase_id="T-1", title="Meet the inspector", description="d"),
    ])
    return level1, level2


def test_wbs_ids_are_assigned_by_position_and_ignore_llm_ids():
    a1, a2 = wbs_answers()
    level1 = wbs.execute_level1(FakeLLM(a1), PROMPT, "plan")
    assert [p.id for p in level1.phases] == ["T-1", "T-2", "T-3"]
    level2 = wbs.execute_level2(FakeLLM(a2), plan=PROMPT, project_plan="plan", level1=level1, data_collection="data")
    project = wbs.build_project12(level1, level2)
    tree = {p.id: [(t.id, t.title) for t in p.children] for p in project.phases}
    assert tree == {
        "T-1": [("T-1.1", "File the permit"), ("T-1.2", "Order flour"), ("T-1.3", "Meet the inspector")],
        "T-2": [("T-2.1", "T-9.9 Install the oven"), ("T-2.2", "Paint the shop")],
        "T-3": [("T-3.1", "Launch")],  # a phase without tasks is carried out as one task
    }
    assert [t.phase_guessed for t in level2.tasks] == [False, False, True, False, False]
    again = wbs.build_project12(wbs.number_phases(a1), wbs.map_level2(wbs.number_phases(a1), a2))
    assert again.model_dump_json() == project.model_dump_json()


def test_level2_prompt_shows_the_phase_ids():
    a1, a2 = wbs_answers()
    llm = FakeLLM(a2)
    wbs.execute_level2(llm, plan=PROMPT, project_plan="plan", level1=wbs.number_phases(a1), data_collection="data")
    assert "T-1: T-7 Permits" in llm.calls[0][1] and llm.calls[0][1].startswith("# Plan")


def project12():
    a1, a2 = wbs_answers()
    level1 = wbs.number_phases(a1)
    return wbs.build_project12(level1, wbs.map_level2(level1, a2))


# -- dependencies ----------------------------------------------------------------------------------
def test_dependencies_are_mapped_to_known_ids():
    answer = DependenciesAnswer(dependencies=[
        DependencyAnswer(task_id="T-2.1", depends_on_ids=["T-1.1", "T-2.1", "T-42", "t-1.1", "T-2"], rationale="r"),
        DependencyAnswer(task_id="T-2.1", depends_on_ids=["T-1.3"], rationale="duplicate"),
        DependencyAnswer(task_id="T-8", depends_on_ids=["T-1"], rationale="unknown"),
        DependencyAnswer(task_id="T-2", depends_on_ids=["T-1"], rationale="r"),
    ])
    result = task_dependencies.execute(FakeLLM(answer), PROMPT, project12())
    by_id = {d.task_id: d for d in result.dependencies}
    assert list(by_id) == ["T-1", "T-1.1", "T-1.2", "T-1.3", "T-2", "T-2.1", "T-2.2", "T-3", "T-3.1"]
    assert by_id["T-2.1"].depends_on == ["T-1.1"]  # self, unknown, repeat and own phase dropped
    assert by_id["T-1.2"].defaulted and by_id["T-1.2"].depends_on == []
    assert result.edges() == [("T-2", "T-1"), ("T-2.1", "T-1.1")]


# -- durations -------------------------------------------------------------------------------------
def test_duration_mapping_with_wrong_duplicate_and_missing_ids():
    chunk = [TaskToEstimate(id=f"T-1.{i}", title=f"Task {i}", description="", phase_title="P") for i in (1, 2, 3)]
    answer = DurationsAnswer(estimates=[
        DurationAnswer(task_id="T-9.9", duration_days=99, rationale="not asked"),
        DurationAnswer(task_id="t-1.2", duration_days=4.6, rationale="first"),
        DurationAnswer(task_id="T-1.2", duration_days=50, rationale="duplicate"),
        DurationAnswer(task_id="T-1.1", duration_days=-3, rationale="unusable"),
    ])
    llm = FakeLLM(answer)
    result = durations.execute(llm, PROMPT, chunk)
    got = [(e.task_id, e.duration_days, e.defaulted) for e in result.estimates]
    assert got == [("T-1.1", durations.DEFAULT_DURATION_DAYS, True), ("T-1.2", 5, False),
                   ("T-1.3", durations.DEFAULT_DURATION_DAYS, True)]
    assert len(result.ignored_answers) == 3
    prompt = llm.calls[0][1]
    assert all(t.id in prompt for t in chunk) and "T-2" not in prompt


def test_duration_chunks_cover_every_level2_task_three_at_a_time():
    chunks = durations.chunk_tasks(project12())
    assert [[t.id for t in c] for c in chunks] == [["T-1.1", "T-1.2", "T-1.3"], ["T-2.1", "T-2.2", "T-3.1"]]
    assert durations.map_estimates(chunks[0], DurationsAnswer(estimates=[
        DurationAnswer(task_id="T-1.1", duration_days=1e12, rationale="")])).estimates[0].duration_days == 1000


# -- level 3 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("proposed,total,expected", [
    ([1, 9], 10, [1, 9]),
    ([2, 2, 4], 16, [4, 4, 8]),
    ([5, 5, 5], 10, [4, 3, 3]),
    ([100, 1, 1], 3, [1, 1, 1]),
    ([None, float("nan"), -1, 3], 8, [2, 2, 2, 2]),
])
def test_rescale_whole_days(proposed, total, expected):
    assert wbs_level3.rescale_durations(proposed, total) == expected


def test_rescale_sums_to_total_even_with_fewer_days_than_subtasks():
    for proposed, total in [([1] * 5, 3), ([3, 1, 1, 7], 2), ([1e308, 1e308], 4), ([0.5, 30, 2], 17)]:
        days = wbs_level3.rescale_durations(proposed, total)
        assert math.isclose(sum(days), total) and all(d > 0 for d in days)


def test_decomposition_scales_subtasks_and_merge_numbers_them():
    project = project12()
    estimates = durations.merge([durations.map_estimates(c, DurationsAnswer(estimates=[
        DurationAnswer(task_id=t.id, duration_days=12, rationale="") for t in c])) for c in durations.chunk_tasks(project)[:1]])
    todo = wbs_level3.tasks_to_decompose(project, estimates)
    assert [(t.id, t.duration_days, t.duration_defaulted) for t in todo][:1] == [("T-1.1", 12, False)]
    assert todo[-1].duration_defaulted  # not estimated (e.g. --speed fast): default, flagged
    answer = DecompositionAnswer(subtasks=[SubtaskAnswer(title=f"Step {j}", description="", duration_days=d)
                                           for j, d in enumerate([1, 2, 3], 1)])
    llm = FakeLLM(answer)
    dec = wbs_level3.execute(llm, PROMPT, todo[0])
    assert [s.duration_days for s in dec.subtasks] == [2, 4, 6] and "12 working days" in llm.calls[0][1]
    full = wbs_level3.build_project123(project, estimates, [dec])
    t11 = full.phases[0].children[0]
    assert [c.id for c in t11.children] == ["T-1.1.1", "T-1.1.2", "T-1.1.3"] and t11.duration_days == 12
    assert full.phases[0].children[1].children == []  # no decomposition: stays a leaf


def test_schedule_runs_subtasks_one_after_another():
    project = project12()
    answer = DecompositionAnswer(subtasks=[SubtaskAnswer(title="a", description="", duration_days=1)] * 3)
    todo = wbs_level3.tasks_to_decompose(project, durations.merge([]))
    decs = [wbs_level3.decompose_answer(t, answer) for t in todo]
    full = wbs_level3.build_project123(project, durations.merge([]), decs)
    schedule = wbs.plan_schedule(full, [("T-2", "T-1")], date(2026, 1, 5))
    by_id = {t.id: t for t in schedule.tasks}
    assert by_id["T-1.1"].duration_days == durations.DEFAULT_DURATION_DAYS
    assert by_id["T-1.1.2"].depends_on == ["T-1.1.1"]
    assert by_id["T-2"].start == by_id["T-1"].end and schedule.warnings == []


# -- task edges ------------------------------------------------------------------------------------
EDGES = {
    IdentifyDocuments: {"Setup", "ConsolidateAssumptions", "ProjectPlan"},
    FilterDocumentsToFind: {"Setup", "IdentifyDocuments"},
    FilterDocumentsToCreate: {"Setup", "IdentifyDocuments"},
    DraftDocumentToFind: {"FilterDocumentsToFind", "Setup", "ProjectPlan"},
    DraftDocumentsToFind: {"FilterDocumentsToFind"},
    DraftDocumentToCreate: {"FilterDocumentsToCreate", "Setup", "ProjectPlan"},
    DraftDocumentsToCreate: {"FilterDocumentsToCreate"},
    DocumentsMarkdown: {"DraftDocumentsToFind", "DraftDocumentsToCreate"},
    WBSLevel1: {"Setup", "ProjectPlan"},
    WBSLevel2: {"Setup", "ProjectPlan", "WBSLevel1", "DataCollection"},
    WBSProject12: {"WBSLevel1", "WBSLevel2"},
    TaskDependencies: {"Setup", "WBSProject12"},
    EstimateDurations: {"WBSProject12", "Setup"},
    DurationEstimates: {"WBSProject12"},
    WBSLevel3: {"WBSProject12", "Setup", "EstimateDurations"},  # its own chunk, not the merge
    WBSProject123: {"WBSProject12"},  # DurationEstimates is yielded with the items (merge_requires)
    Schedule: {"Setup", "WBSProject123", "TaskDependencies"},
}


@pytest.mark.parametrize("task_class", list(EDGES), ids=lambda c: c.__name__)
def test_requires_matches_the_spec(task_class):
    params = {"index": 0} if task_class in (DraftDocumentToFind, DraftDocumentToCreate, EstimateDurations,
                                            WBSLevel3) else {}
    task = task_class(run_dir="/nonexistent", **params)
    families = [t.task_family for t in luigi.task.flatten(task.requires())]
    assert len(families) == len(set(families))
    assert set(families) == EDGES[task_class]


def test_each_decomposition_waits_only_for_the_chunk_holding_its_task():
    for index in range(9):
        chunk = WBSLevel3(run_dir="/x", index=index).context_requires()["durations"]
        assert chunk.task_family == "EstimateDurations" and chunk.index == index // 3


def test_each_fan_out_item_takes_its_list_from_the_right_task():
    assert set(DraftDocumentToFind(run_dir="/x", index=0).list_requires()) == {"filtered"}
    assert DraftDocumentToFind(run_dir="/x", index=0).list_requires()["filtered"].task_family == "FilterDocumentsToFind"
    assert DraftDocumentToCreate(run_dir="/x", index=0).list_requires()["filtered"].task_family == "FilterDocumentsToCreate"
    assert EstimateDurations(run_dir="/x", index=0).list_requires()["wbs12"].task_family == "WBSProject12"
    assert WBSLevel3(run_dir="/x", index=0).list_requires()["wbs12"].task_family == "WBSProject12"


def test_task_modules_export_their_tasks():
    from planexe_pipeline.tasks import documents as doc_tasks, wbs as wbs_tasks

    assert set(doc_tasks.__all__) | set(wbs_tasks.__all__) == {c.__name__ for c in EDGES}


def test_merge_yields_every_item_in_one_batch(tmp_path):
    run_dir = upstream_folder(tmp_path)
    write_model(tmp_path / "041-filter_documents_to_find.json", FilteredDocuments(kind="find", kept=docs("DF", 3)))
    batch = next(DraftDocumentsToFind(run_dir=run_dir).run())
    assert [(type(t), t.index) for t in batch] == [(DraftDocumentToFind, i) for i in range(3)]


# -- Luigi runs ------------------------------------------------------------------------------------
def test_luigi_runs_documents_and_schedule_with_every_item_file(tmp_path):
    run_dir = upstream_folder(tmp_path)
    tasks = [DocumentsMarkdown(run_dir=run_dir, llm=LLM), Schedule(run_dir=run_dir, llm=LLM)]
    assert luigi.build(tasks, workers=4, local_scheduler=True)

    for kind, number in (("find", "041"), ("create", "042")):
        kept = json.loads(next(tmp_path.glob(f"{number}-*.json")).read_text())["kept"]
        stage_dir = DraftDocumentToFind.stage_dir if kind == "find" else DraftDocumentToCreate.stage_dir
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
    assert luigi.build([DraftDocumentToFind(run_dir=run_dir, index=1, llm=LLM)], local_scheduler=True)
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
