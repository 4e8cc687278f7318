"""A file of a run folder that exists but does not read back is redone, or named with its remedy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from planexe_pipeline.cli import main
from planexe_pipeline.pipeline import PLAN
from support.plan_runs import START_DATE, differing, ok_task_ids, plan_files
from support.files import DONE, PLAN_MD, REPORT_HTML, items_dir, plan_file

pytestmark = pytest.mark.slow  # every test starts from one whole plan run

RUN = ["--workers", "4", "--llm", "simulated-instant", "--speed", "fast"]
ITEM = f"{items_dir('ReviewPlanItem')}/item-001.json"
MERGE = plan_file("PlanReview")
# Read back by the report as a model: a hand edit that keeps it JSON but breaks its schema.
WBS = plan_file("WBSProject123")


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("damaged") / "finished"
    assert main(["run", "--prompt-id", "bakery-lyon", "--run-dir", str(run_dir), "--start-date", START_DATE, *RUN]) == 0
    return run_dir


def resume(run_dir: Path, capsys) -> tuple[int, str, str]:
    code = main(["run", "--run-dir", str(run_dir), *RUN])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_truncated_merge_and_a_broken_item_are_named_with_the_remedy_and_deleted_are_redone(finished, tmp_path,
                                                                                             capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    merge = run_dir / MERGE
    merge.write_bytes(merge.read_bytes()[:100])  # a write cut short by a full disk
    (run_dir / ITEM).write_text('{"question": 3}\n')  # a hand edit: JSON, but not a review item
    damaged = plan_files(run_dir)
    code, out, err = resume(run_dir, capsys)
    # The item comes first in the graph: its line names the file, the field and what to do.
    assert code == 2
    assert f"{run_dir / ITEM} was edited and no longer fits ReviewPlanItem's answer: field 'id': Field required" in err, err
    assert "delete it to have that step made again; nothing was changed" in err and "Traceback" not in err
    assert plan_files(run_dir) == damaged
    before = len(ok_task_ids(run_dir))
    merge.unlink()
    (run_dir / ITEM).unlink()
    code, out, err = resume(run_dir, capsys)
    assert code == 0, err
    assert not differing(plan_files(finished), plan_files(run_dir))
    redone = ok_task_ids(run_dir)[before:]
    # The two files, and what depends on them in the plan's graph.
    # (An export format the run does not write is done by definition: not redone.)
    assert sorted(t.split("_")[0] for t in redone) == sorted(
        {"ReviewPlanItem", "PlanReview", *(family for family in PLAN.downstream_of("PlanReview")
                                           if PLAN.nodes[family].cls.in_this_run())}), redone


def test_a_broken_file_that_a_step_still_to_run_reads_is_named_and_the_remedy_works(finished, tmp_path, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    (run_dir / WBS).write_text('{"project": "edited by hand"}\n')
    for name in (PLAN_MD, REPORT_HTML, DONE):
        (run_dir / name).unlink()
    code, _, err = resume(run_dir, capsys)
    assert code == 2
    assert f"{run_dir / WBS} was edited and no longer fits WBSProject123's answer: field 'title'" in err, err
    assert "Traceback" not in err and "validation error" not in err
    (run_dir / WBS).unlink()
    code, _, err = resume(run_dir, capsys)
    assert code == 0, err
    assert not differing(plan_files(finished), plan_files(run_dir))


def test_a_folder_without_records_redoes_a_truncated_file(finished, tmp_path, capsys):
    """A folder written before records (nothing to compare a file with) still redoes what does not read back."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    shutil.rmtree(run_dir / "records")
    merge = run_dir / MERGE
    merge.write_bytes(merge.read_bytes()[:100])
    code, out, err = resume(run_dir, capsys)
    assert code == 0, err
    assert err.count(f"{run_dir / MERGE} is unreadable: redoing that step") == 1, err
    assert not differing(plan_files(finished), plan_files(run_dir))
