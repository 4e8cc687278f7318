"""Documents and WBS stages: id-mapping rules, WBS numbering, duration scaling and level 3."""

from __future__ import annotations

import math
from datetime import date

import pytest

from planexe_pipeline.stages import documents, durations, task_dependencies, wbs, wbs_level3
from planexe_pipeline.stages.answer_ids import map_answers, map_id_list, normalise_id
from planexe_pipeline.stages.documents import (DocumentToCreateAnswer, DocumentToFindAnswer, DocumentVerdict,
                                               FilterAnswer, IdentifiedDocumentsAnswer)
from planexe_pipeline.stages.durations import DurationAnswer, DurationsAnswer, TaskToEstimate
from planexe_pipeline.stages.task_dependencies import DependenciesAnswer, DependencyAnswer
from planexe_pipeline.stages.wbs_level3 import DecompositionAnswer, SubtaskAnswer
from support.documents_wbs import PROMPT, FakeLLM, docs, wbs_answers, project12


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
    # DF-3 had no verdict: kept, flagged; the kept documents are numbered again without a gap.
    assert [(d.id, d.title) for d in result.kept] == [("DF-1", listed[0].title), ("DF-2", listed[2].title)]
    assert [d.drafted_as for d in result.decisions] == ["DF-1", "", "DF-2", ""]
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

def test_wbs_ids_are_assigned_by_position_and_ignore_llm_ids():
    a1, _ = wbs_answers()
    level1 = wbs.execute_level1(FakeLLM(a1), PROMPT, "plan")
    assert [p.id for p in level1.phases] == ["T-1", "T-2", "T-3"]
    project = project12()
    tree = {p.id: [(t.id, t.title) for t in p.children] for p in project.phases}
    assert tree == {
        "T-1": [("T-1.1", "File the permit"), ("T-1.2", "Order flour"), ("T-1.3", "Meet the inspector")],
        "T-2": [("T-2.1", "T-9.9 Install the oven"), ("T-2.2", "Paint the shop")],
        "T-3": [("T-3.1", "Launch")],  # a phase without tasks is carried out as one task
    }
    assert project.notes == ["phase T-1: dropped 1 task with no title",
                             "phase T-3 had no tasks; it is carried out as one task"]
    assert project12().model_dump_json() == project.model_dump_json()


def test_phases_are_merged_in_phase_order_whatever_order_the_items_came_in():
    project = project12()
    a1, a2 = wbs_answers()
    level1 = wbs.number_phases(a1)
    items = [wbs.execute_level2(FakeLLM(a2[p.id]), p, plan=PROMPT, project_plan="plan", level1=level1)
             for p in level1.phases]
    assert wbs.build_project12(list(reversed(items)), level1) == project


def test_level2_prompt_names_its_phase_and_leaves_the_others_to_their_own_calls():
    a1, a2 = wbs_answers()
    level1 = wbs.number_phases(a1)
    llm = FakeLLM(a2["T-2"])
    tasks = wbs.execute_level2(llm, level1.phases[1], plan=PROMPT, project_plan="plan", level1=level1)
    prompt = llm.calls[0][1]
    assert prompt.startswith("# Plan") and "# Phase to break down\n\nT-2: Fit-out" in prompt
    assert "- T-1: T-7 Permits" in prompt and "- T-3: Launch" in prompt and "- T-2:" not in prompt
    assert {t.phase_id for t in tasks.tasks} == {"T-2"}


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
    result = durations.execute(llm, chunk, plan=PROMPT)
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
