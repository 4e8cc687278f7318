"""A file of a run folder that exists but does not read back is redone, or named with its remedy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from planexe_pipeline.cli import main
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


def test_a_truncated_merge_and_a_broken_item_of_a_finished_plan_are_redone(finished, tmp_path, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    merge = run_dir / MERGE
    merge.write_bytes(merge.read_bytes()[:100])  # a write cut short by a full disk
    (run_dir / ITEM).write_text('{"question": 3}\n')  # a hand edit: JSON, but not a review item
    before = len(ok_task_ids(run_dir))
    code, out, err = resume(run_dir, capsys)
    assert code == 0, err
    for name in (MERGE, ITEM):
        assert err.count(f"{run_dir / name} is unreadable: redoing that step") == 1, err
    assert "Traceback" not in err
    assert not differing(plan_files(finished), plan_files(run_dir))
    redone = ok_task_ids(run_dir)[before:]
    assert len(redone) == 2 and any("ReviewPlanItem" in t for t in redone) and any("PlanReview" in t for t in redone)


def test_a_broken_file_that_a_step_still_to_run_reads_is_named_and_the_remedy_works(finished, tmp_path, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    (run_dir / WBS).write_text('{"project": "edited by hand"}\n')
    for name in (PLAN_MD, REPORT_HTML, DONE):
        (run_dir / name).unlink()
    code, _, err = resume(run_dir, capsys)
    assert code == 1
    assert f"{run_dir / WBS} is unreadable: delete it and run again to redo that step" in err, err
    assert "Traceback" not in err and "validation error" not in err
    (run_dir / WBS).unlink()
    code, _, err = resume(run_dir, capsys)
    assert code == 0, err
    assert not differing(plan_files(finished), plan_files(run_dir))
