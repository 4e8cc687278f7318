"""Revising a whole fast plan from the command line: the scenario a person chose, a kill mid-way,
workers of a central scheduler."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import luigi
import pytest
from support.files import plan_file
from support.plan_runs import START_DATE, differing, plan_files, poll, run_to_end, start_run, write_llm_config
from support.scale_out import PROMPT_ID, free_port, start_luigid, start_worker, stop

from planexe_pipeline.cli import main
from planexe_pipeline.pipeline import PLAN
from planexe_pipeline.tasks import revision
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import LLMCallEvent, TaskEvent

pytestmark = pytest.mark.slow

SCENARIO = "012-select_scenario.json"
NEW_NAME = "Phased Roll-out Plan"
MODEL = {"seed": 42, "time_scale": 0.01}  # the instant simulator's answers, at a pace a kill can cut


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("revising") / "finished"
    assert main(["run", "--prompt-id", PROMPT_ID, "--run-dir", str(run_dir), "--speed", "fast", "--workers", "4",
                 "--llm", "simulated-instant", "--start-date", START_DATE]) == 0
    return run_dir


def choose_another_scenario(finished: Path, run_dir: Path) -> Path:
    shutil.copytree(finished, run_dir)
    data = json.loads((run_dir / SCENARIO).read_text())
    data["scenario"]["name"] = NEW_NAME
    (run_dir / SCENARIO).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return run_dir


def since(run_dir: Path, started: float) -> tuple[set, int]:
    tasks = {(e.task_family, e.item) for e in read_events(run_dir, TaskEvent)
             if e.is_end and e.status == "ok" and e.start >= started}
    return tasks, sum(1 for e in read_events(run_dir, LLMCallEvent) if e.ok and e.start >= started)


def test_another_scenario_redoes_exactly_what_depends_on_it(finished, tmp_path, capsys):
    run_dir = choose_another_scenario(finished, tmp_path / "run")
    expected = revision.plan_revision(PLAN, str(run_dir))
    started = time.time()
    assert main(["run", "--run-dir", str(run_dir), "--workers", "4"]) == 0
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.startswith("Revising")]
    tasks, calls = (int(n) for n in re.search(r"redoing (\d+) tasks and (\d+) LLM calls", line).groups())
    ran, made = since(run_dir, started)
    assert line.startswith(f"Revising {run_dir}: edited {SCENARIO}; ")
    assert (tasks, calls) == (len(expected.redo), expected.llm_calls)
    # What ran is every task after the choice in the folder's graph, and only those; the count said
    # before counted each fan-out at its width then, and a list made again may come out shorter or
    # longer (its items past the end are gone from the folder).
    after = run_by_the_run(PLAN.instances(str(run_dir)).downstream_of([("SelectScenario", None)]))
    assert ran == after and made == sum(1 for family, _ in ran if PLAN.nodes[family].llm)
    assert set(expected.redo) ^ ran <= {key for key in set(expected.redo) ^ ran if key[1] is not None}
    assert made - calls == len(ran) - tasks  # the difference is fan-out items alone
    assert NEW_NAME in (run_dir / "070-plan.md").read_text() and NEW_NAME in (run_dir / "070-report.html").read_text()
    before, after = plan_files(finished), plan_files(run_dir)
    redone = {name for key in expected.redo for name in _outputs(run_dir, key)}
    # Not downstream, and byte for byte as they were: all but the edit (and its text, written from it).
    assert {name for name in before if name not in redone and before[name] != after[name]} == \
           {SCENARIO, SCENARIO.replace(".json", ".md")}
    assert calls / sum(1 for e in read_events(finished, LLMCallEvent) if e.ok) < 1  # not the whole plan
    dry = main(["run", "--run-dir", str(run_dir), "--dry-run"])
    assert dry == 0 and "Revising" not in capsys.readouterr().out  # all current again


def test_a_rerun_finds_its_revision_once_and_does_what_it_said(finished, tmp_path, capsys, monkeypatch):
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    premortem = run_dir / plan_file("Premortem")
    data = json.loads(premortem.read_text())
    data["failure_narrative"] = "The oven arrives late and the opening slips by a month."
    premortem.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    found, applied = [], []
    plan_revision, apply = revision.plan_revision, revision.apply
    monkeypatch.setattr(revision, "plan_revision", lambda *args: found.append(plan_revision(*args)) or found[-1])
    monkeypatch.setattr(revision, "apply", lambda revised, *args, **kwargs: applied.append(revised)
                        or apply(revised, *args, **kwargs))
    started = time.time()
    assert main(["run", "--run-dir", str(run_dir), "--workers", "4"]) == 0
    (said,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Revising")]
    # Found once: the revision said before the run is the very one the run applied, and what ran.
    assert len(found) == 1 and len(applied) == 1 and applied[0] is found[0]
    assert said == found[0].line() and said.startswith(f"Revising {run_dir}: edited {premortem.name}; redoing ")
    ran, _ = since(run_dir, started)
    assert ran == run_by_the_run(set(found[0].redo)) and ("Report", None) in ran


def run_by_the_run(keys: set) -> set:
    """The tasks among `keys` that a run runs: not an export format it does not write."""
    return {key for key in keys if PLAN.nodes[key[0]].cls.in_this_run()}


def _outputs(run_dir: Path, key) -> set[str]:
    task = PLAN.instances(str(run_dir)).task(key, str(run_dir))
    return {Path(t.path).relative_to(run_dir).as_posix() for t in luigi.task.flatten(task.output())}


def test_dry_run_lists_what_would_be_redone_and_writes_nothing(finished, tmp_path, capsys):
    run_dir = choose_another_scenario(finished, tmp_path / "run")
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    assert main(["run", "--run-dir", str(run_dir), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith(f"Revising {run_dir}: edited {SCENARIO}; redoing ") for line in out)
    assert "  ProjectPlanOutline" in out and "  FullPlan" in out and "  IdentifyPurpose" not in out
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


def test_a_revision_killed_midway_is_completed_by_the_next_run(finished, tmp_path):
    config = write_llm_config(tmp_path / "llm_config.json", {"paced": MODEL})
    whole = choose_another_scenario(finished, tmp_path / "whole")
    run_to_end(whole, config, ["paced"], prompt_id=None)
    killed = choose_another_scenario(finished, tmp_path / "killed")
    run = start_run(killed, config, ["paced"], prompt_id=None, tag="cut")
    # Part of the revision done, a call in flight: then the machine dies.
    poll(lambda: len(since(killed, run.launched)[0]) >= 12, 60, "a dozen tasks of the revision done", every=0.02)
    run.kill()
    cut, _ = since(killed, run.launched)
    finish = run_to_end(killed, config, ["paced"], prompt_id=None, tag="after")
    assert finish.proc.returncode == 0, finish.stderr[-2000:]
    (line,) = [line for line in finish.stdout.splitlines() if line.startswith("Revising")]
    left = int(re.search(r"redoing (\d+) tasks", line).group(1))
    assert 0 < left < len(PLAN.downstream_of("SelectScenario")) + 10 and cut
    assert not differing(plan_files(whole), plan_files(killed))


def test_workers_of_a_central_scheduler_see_the_edit_and_share_the_revision(finished, tmp_path):
    config = write_llm_config(tmp_path / "llm_config.json", {"paced": MODEL})
    whole = choose_another_scenario(finished, tmp_path / "whole")
    run_to_end(whole, config, ["paced"], prompt_id=None)
    shared = choose_another_scenario(finished, tmp_path / "shared")
    expected = revision.plan_revision(PLAN, str(shared))
    logs, port = tmp_path / "logs", free_port()
    logs.mkdir(exist_ok=True)
    luigid = start_luigid(port, tmp_path / "luigi-state", logs / "luigid.log", 4)
    started = time.time()
    try:
        workers = [start_worker(shared, config, port, logs, name) for name in ("one", "two")]
        for worker in workers:
            assert worker.finish(120) == 0, worker.err.read_text()[-3000:]
    finally:
        stop(luigid)
    ran, calls = since(shared, started)
    assert ran == run_by_the_run(PLAN.instances(str(shared)).downstream_of([("SelectScenario", None)]))
    assert calls == sum(1 for family, _ in ran if PLAN.nodes[family].llm)
    assert f"redoing {len(expected.redo)} tasks and {expected.llm_calls} LLM calls" in workers[0].out.read_text()
    assert not differing(plan_files(whole), plan_files(shared))


def test_redo_of_one_expert_with_a_note_shows_in_the_report_as_revised(finished, tmp_path, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    started = time.time()
    assert main(["redo", str(run_dir), "expert_criticism", "--item", "1", "--note", "Keep the budget under 2 M EUR",
                 "--workers", "4"]) == 0
    out = capsys.readouterr().out
    ran, calls = since(run_dir, started)
    expected = {("ExpertCriticismItem", 1),
                *run_by_the_run(PLAN.instances(str(run_dir)).downstream_of([("ExpertCriticismItem", 1)]))}
    assert ran == expected and ("ExpertCriticismItem", 0) not in ran
    assert f"redoing {len(expected)} tasks and {calls} LLM calls" in out
    revised = ("**Revised:** ExpertCriticismItem [item 1] was asked again with the remark "
               "\u201cKeep the budget under 2 M EUR\u201d.")
    assert revised in (run_dir / "070-plan.md").read_text()
    assert "Keep the budget under 2 M EUR" in (run_dir / "070-report.html").read_text()
    untouched = {name for name, data in plan_files(finished).items() if name.startswith(("0", "1"))
                 and not name.startswith(("040-", "041-", "070-", "999-"))}
    changed = {name for name in untouched if plan_files(run_dir)[name] != plan_files(finished)[name]}
    assert all(any(name.startswith(f"{PLAN.nodes[f].number:03d}-") for f, _ in expected) for name in changed)


def test_an_edit_that_no_longer_fits_is_refused_in_one_line_and_nothing_changes(finished, tmp_path, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    swot = run_dir / plan_file("SWOTAnalysis")
    data = json.loads(swot.read_text())
    data["threats"] = "A second bakery on the same street."  # a list no more
    swot.write_text(json.dumps(data, indent=2) + "\n")
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    assert main(["run", "--run-dir", str(run_dir)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == [
        f"planexe-pipeline: error: {swot} was edited and no longer fits SWOTAnalysis's answer: field 'threats': "
        "Input should be a valid list: fix the file, or delete it to have that step made again; nothing was changed"]
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before
