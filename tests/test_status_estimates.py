"""What `status` expects of a plan before its lists are written: widths from the plan's own lists."""

from __future__ import annotations

from collections import Counter

from planexe_pipeline import run_settings
from planexe_pipeline.stages.documents import FilteredDocuments
from planexe_pipeline.tasks.expected_work import walked_expectation
from support.documents_wbs import docs
from support.files import plan_file


def items_per_fan_out(work) -> Counter:
    return Counter({stage.family: stage.tasks for stage in work.stages if stage.items_of})


def test_a_list_not_written_yet_is_as_wide_as_the_lists_the_plan_has(tmp_path):
    """The lists known: the static ones (the plan's 4 parts, 10 review questions, 8 audit checks,
    2 expert queries) and the one list written, 3 documents kept; every other fan-out is guessed
    at their median, 4."""
    kept = FilteredDocuments(kind="find", kept=docs("DF", 3))
    (tmp_path / plan_file("FilterDocumentsToFind")).write_text(kept.model_dump_json(), encoding="utf-8")
    work = walked_expectation(str(tmp_path))
    widths = items_per_fan_out(work)
    guessed = {stage.family for stage in work.stages if stage.estimated}
    assert {stage: widths[stage] for stage in widths if stage not in guessed} == {
        "ProjectPlanPartItem": 4, "ReviewPlanItem": 10, "SelfAuditItem": 8, "FindExpertsItem": 2,
        "DraftDocumentToFindItem": 3}
    assert len(guessed) >= 5 and {widths[stage] for stage in guessed} == {4}


def test_under_speed_fast_a_guessed_width_is_capped_as_the_run_caps_it(tmp_path):
    run_settings.record(tmp_path, run_settings.resolve(speed="fast"))  # as the run's settings say it
    work = walked_expectation(str(tmp_path))
    assert sorted(set(items_per_fan_out(work).values())) == [2, 4], "the project plan's four parts are not capped"
