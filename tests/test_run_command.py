"""`planexe-pipeline run` as a user meets it: progress lines, summary, telemetry, resume."""

from __future__ import annotations

import re

import pytest

from planexe_pipeline.cli import main
from planexe_pipeline.tasks.exports import EXPORTS
from planexe_pipeline.telemetry.event_log import read_events
from support.files import REPORT_HTML

pytestmark = pytest.mark.slow  # every test reads one whole plan run

PROGRESS = re.compile(r"^\[\s*(\d+)/(~?)(\d+)\s*\]\s+[\d.]+s\s+(ok|FAILED)\s+(\S+)")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cli") / "run"
    argv = ["run", "--prompt-id", "bakery-lyon", "--run-dir", str(run_dir), "--speed", "fast",
            "--workers", "4", "--llm", "simulated-instant", "--start-date", "2027-01-04"]
    return run_dir, argv


def test_a_run_prints_progress_and_where_the_report_is(finished_run, capsys):
    run_dir, argv = finished_run
    assert main(argv) == 0
    out = capsys.readouterr().out
    progress = [PROGRESS.match(line) for line in out.splitlines() if PROGRESS.match(line)]
    done = [int(m.group(1)) for m in progress]
    totals = [int(m.group(3)) for m in progress]
    ends = [e for e in read_events(run_dir, "task") if e.event == "end" and e.status == "ok"]
    assert len(progress) == len(ends), "one line per finished task"
    assert done == list(range(1, len(ends) + 1)), "each line counts one more task done: none twice, none skipped"
    assert done[-1] == totals[-1] == len(ends) and progress[-1].group(2) == "", "the last total is exact"
    assert all(d <= t for d, t in zip(done, totals))
    # A total that may still change says so: once it is exact, it stays.
    exact = [m.group(2) == "" for m in progress]
    assert exact == sorted(exact) and len(set(t for t, e in zip(totals, exact) if e)) == 1
    assert {m.group(5) for m in progress} >= {"Setup", "ProjectPlan", "FullPlan"}
    assert "DraftDocumentToFindItem #1" in out  # fan-out items are named with their index
    assert re.search(r"Done in [\d.]+s: \d+ tasks, \d+ LLM calls", out)
    report = re.search(r"Report:\s+(\S+)", out).group(1)
    assert report.endswith(REPORT_HTML) and (run_dir / REPORT_HTML).is_file()
    assert (run_dir / "timeline.html").is_file()  # the report links to it


def test_every_task_execution_is_one_start_and_one_end_line(finished_run):
    run_dir, _ = finished_run
    tasks = read_events(run_dir, "task")
    starts = [e for e in tasks if e.event == "start"]
    ends = [e for e in tasks if e.event == "end"]
    assert len(starts) == len(ends)
    for end in ends:
        assert end.task_family and end.task_id and end.status and end.pid and end.worker
        assert end.start <= end.end
    merges = {e.task_family for e in ends if e.status == "yielded"}
    assert "ExpertReview" in merges  # suspended by its yield, then ran again
    review = next(e for e in ends if e.task_family == "PlanReview" and e.status == "ok")
    assert sum("ReviewPlanItem" in d for d in review.deps) == 2  # its items, under --speed fast
    runs = read_events(run_dir, "run")
    assert [r.event for r in runs] == ["start", "end"] and runs[1].status == "ok"
    assert runs[0].workers == 4


def test_running_a_finished_plan_again_does_nothing(finished_run, capsys):
    run_dir, argv = finished_run
    calls_before = len(read_events(run_dir, "llm_call"))
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Done in" in out and "0 LLM calls" in out
    assert len(read_events(run_dir, "llm_call")) == calls_before
