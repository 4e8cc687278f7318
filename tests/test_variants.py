"""Variants of a plan: a run folder copied elsewhere is a plan of its own, `fork` shares a plan's
finished work and leaves the parent as it was when the fork is revised, and `diff` says what two
plans do differently (as text, JSON and one escaped HTML page). Bad input: one line, exit 2."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from planexe_pipeline.cli import main
from planexe_pipeline.run_folder import RunFolderLock
from planexe_pipeline.tasks.fanout import FanOutItem
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.variants.diff import plain
from planexe_pipeline.variants.fork import LINEAGE_FILE, parent_of
from support.files import DONE, plan_file
from support.graph import task_class, walk
from support.plan_runs import REPO, START_DATE, differing, plan_files, write_llm_config

RUN = ["--speed", "fast", "--workers", "4", "--start-date", START_DATE]
MODELS = {"instant": {"seed": 42, "time_scale": 0},
          "broken": {"seed": 42, "time_scale": 0, "fail_stages": ["SWOTAnalysis"]}}
SCENARIO = plan_file("SelectScenario")
SCRIPT = "<script>alert(1)</script>"


def everything(run_dir: Path) -> dict[str, bytes]:
    """Every file of a folder, telemetry, locks and timeline included."""
    return {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


def ok_steps(run_dir: Path) -> set[tuple[str, int | None]]:
    return {(e.task_family, e.item) for e in read_events(run_dir, "task") if e.event == "end" and e.status == "ok"}


def downstream_of(family: str) -> set[str]:
    graph, found, stack = walk(), set(), [family]
    while stack:
        current = stack.pop()
        for task, deps in graph.items():
            if current in deps and task not in found:
                found.add(task)
                stack.append(task)
    return found


def remove_outputs(run_dir: Path, families: set[str]) -> None:
    for family in families:
        cls = task_class(family)
        if issubclass(cls, FanOutItem):
            shutil.rmtree(run_dir / cls.stage_dir, ignore_errors=True)
        for name in cls.files.values():
            (run_dir / name).unlink(missing_ok=True)


def choose_another_scenario(run_dir: Path) -> str:
    """A hand edit of the selected scenario, and what depends on it removed so that it is redone."""
    selected = json.loads((run_dir / SCENARIO).read_text())
    candidates = json.loads((run_dir / plan_file("CandidateScenarios")).read_text())["scenarios"]
    other = next(c for c in candidates if c["id"] != selected["scenario"]["id"])
    selected["scenario"] = other
    (run_dir / SCENARIO).write_text(json.dumps(selected, indent=2))
    remove_outputs(run_dir, downstream_of("SelectScenario"))
    return other["name"]


def refused(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("planexe-pipeline: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A fast plan whose SWOT failed once (its raw answer saved) and that a resume finished, made with
    a model config of its own: every path a run folder records is in it."""
    base = tmp_path_factory.mktemp("variants")
    config = write_llm_config(base / "llm_config.json", MODELS)
    run_dir = base / "plans" / "bakery"
    argv = ["run", "--prompt-id", "bakery-lyon", "--run-dir", str(run_dir), "--llm-config", str(config), *RUN]
    assert main([*argv, "--llm", "broken"]) == 1
    assert main(["run", "--run-dir", str(run_dir), "--llm", "instant", "--workers", "4"]) == 0
    return run_dir


@pytest.fixture(scope="module")
def revised(finished) -> tuple[Path, str, dict[str, bytes]]:
    """A fork of the plan with another scenario chosen by hand and what depends on it redone; the
    parent's files before the fork."""
    before = everything(finished)
    fork = finished.parent.parent / "forks" / "phased"  # beside it: the recorded model config is found
    assert main(["fork", str(finished), str(fork)]) == 0
    name = choose_another_scenario(fork)
    assert main(["run", "--run-dir", str(fork), "--workers", "4"]) == 0
    return fork, name, before


@pytest.mark.slow
def test_a_copied_run_folder_names_no_path_of_the_original_and_is_a_plan_of_its_own(finished, tmp_path, capsys):
    failure = [e.error for e in read_events(finished, "task") if e.error]
    assert failure and "saved to llm_failures/SWOTAnalysis-single.txt in the run folder" in failure[0]
    before = everything(finished)
    # The same depth as the original, so the model config it recorded (relative) is found from it.
    copy = finished.parent.parent / "copies" / "bakery"
    shutil.copytree(finished, copy)
    for path, data in everything(copy).items():
        for place in (str(finished), str(finished.parent.parent), str(REPO)):
            assert place.encode() not in data, f"{path} holds {place}"
    assert main(["status", str(copy)]) == 0
    assert f"{copy}: done 100%" in capsys.readouterr().out
    assert main(["run", "--run-dir", str(copy), "--workers", "4"]) == 0
    out = capsys.readouterr().out
    assert "model config " in out and "Done in" in out and ": 0 tasks, 0 LLM calls" in out, out
    assert not differing(plan_files(finished), plan_files(copy))
    assert everything(finished) == before


@pytest.mark.slow
def test_a_fork_shares_the_finished_work_and_records_its_parent(finished, tmp_path, capsys):
    fork = tmp_path / "a" / "fork"
    fork.mkdir(parents=True)  # an empty folder is as good as none
    assert main(["fork", str(finished), str(fork)]) == 0
    assert "planexe-pipeline diff" in capsys.readouterr().out
    lineage = json.loads((fork / LINEAGE_FILE).read_text())
    assert not Path(lineage["parent"]).is_absolute() and parent_of(fork).samefile(finished)
    assert lineage["parent_prompt_sha256"] == json.loads((finished / "001-plan_fingerprint.json").read_text())["prompt_sha256"]
    shared = plan_files(fork)
    shared.pop(LINEAGE_FILE)
    assert not differing(plan_files(finished), shared)
    assert not (fork / ".run.lock").exists()
    assert main(["status", str(fork)]) == 0 and "done 100%" in capsys.readouterr().out
    assert main(["diff", str(finished), str(fork)]) == 0
    assert "B is a fork of A; the same prompt.\nThe two plans are the same" in capsys.readouterr().out


@pytest.mark.slow
def test_fork_refuses_what_it_cannot_fork_in_one_line_and_writes_nothing(finished, tmp_path, capsys):
    full = tmp_path / "full"
    (full / "x").mkdir(parents=True)
    before = everything(finished)
    assert "already exists and is not an empty folder" in refused(["fork", str(finished), str(full)], capsys)
    assert "is not a plan" in refused(["fork", str(tmp_path / "full"), str(tmp_path / "new")], capsys)
    assert "is not a folder" in refused(["fork", str(tmp_path / "missing"), str(tmp_path / "new")], capsys)
    assert "inside the plan" in refused(["fork", str(finished), str(finished / "sub")], capsys)
    with RunFolderLock(finished):  # what a run holds while it runs
        assert "is being run right now" in refused(["fork", str(finished), str(tmp_path / "new")], capsys)
    assert not (tmp_path / "new").exists() and not list(tmp_path.glob(".new*"))
    assert everything(finished) == before


@pytest.mark.slow
def test_revising_a_fork_leaves_its_parent_byte_identical_and_diff_names_what_changed(finished, revised, tmp_path, capsys):
    fork, scenario, before = revised
    assert everything(finished) == before
    for folder in (finished, fork):  # the fork's telemetry holds its parent's lines under other task ids
        assert main(["status", str(folder), "--json"]) == 0
        tasks = json.loads(capsys.readouterr().out)["tasks"]
        assert tasks == {"done": len(ok_steps(finished)), "expected": len(ok_steps(finished))}, folder
    html = tmp_path / "diff.html"
    assert main(["diff", str(finished), str(fork), "--html", str(html)]) == 0
    text = capsys.readouterr().out
    assert "B is a fork of A; the same prompt." in text
    assert "Scenario: S-1 " in text and f" -> S-2 {scenario}" in text
    assert "~ Scenarios: +" in text and "Strategic decisions" not in text  # upstream of the choice
    assert f"Page: {html}" in text and html.read_text().startswith("<!DOCTYPE html>")

    assert main(["diff", str(finished), str(fork), "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    sections = {s["key"]: s["status"] for s in diff["sections"]}
    assert sections["scenarios"] == "changed" and sections["strategic-decisions"] == sections["purpose"] == "same"
    figures = {f["name"]: f for f in diff["figures"]}
    assert figures["Scenario"]["changed"] and figures["Risks"] == {**figures["Risks"], "changed": False}
    changed_files = set(diff["files_changed"])
    assert SCENARIO in changed_files and plan_file("CandidateScenarios") not in changed_files
    items = {i["name"]: i for i in diff["items"]}
    assert items["scenarios"]["added"] == items["scenarios"]["removed"] == []  # the candidates came before
    assert not diff["identical"]
    # Deterministic: the same two folders give the same words.
    assert main(["diff", str(finished), str(fork), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == diff


@pytest.mark.slow
def test_two_unrelated_plans_differ_everywhere(finished, tmp_path, capsys):
    other = tmp_path / "solar"
    assert main(["run", "--prompt-id", "solar-farm-denmark", "--run-dir", str(other), "--llm", "simulated-instant",
                 *RUN]) == 0
    capsys.readouterr()
    assert main(["diff", str(finished), str(other), "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert diff["relation"] == "neither is a fork of the other; different prompts"
    assert all(s["status"] == "changed" for s in diff["sections"])
    assert diff["a"]["title"] != diff["b"]["title"]


@pytest.mark.slow
def test_the_page_and_the_terminal_show_plan_text_inert(finished, tmp_path, capsys):
    hostile = tmp_path / "hostile"
    shutil.copytree(finished, hostile)
    risks = json.loads((hostile / plan_file("IdentifyRisks")).read_text())
    risks["risks"][0]["title"] = f"Flood {SCRIPT} \x1b[31mred\x1b[0m"
    (hostile / plan_file("IdentifyRisks")).write_text(json.dumps(risks))
    purpose = json.loads((hostile / plan_file("IdentifyPurpose")).read_text())
    purpose["topic"] = f"Bakery {SCRIPT}"
    (hostile / plan_file("IdentifyPurpose")).write_text(json.dumps(purpose))
    (hostile / plan_file("FilterDocumentsToCreate")).write_text('{"kept": 3}')  # a hand edit out of shape
    with open(hostile / plan_file("Pitch", "md"), "a") as pitch:
        pitch.write(f"\n{SCRIPT}\n<img src=x onerror=alert(2)>\n")
    page = tmp_path / "page.html"
    assert main(["diff", str(finished), str(hostile), "--html", str(page)]) == 0
    text = capsys.readouterr().out
    assert "\x1b" not in text and "+ Flood <script>" in text  # shown as words, never a terminal command
    assert "  documents to create: unreadable in B" in text and re.search(r"Documents to create: \d+ -> unreadable", text)
    html = page.read_text()
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # title, risk, pitch line
    assert "Content-Security-Policy" in html


@pytest.mark.slow
def test_diff_refuses_a_folder_that_is_not_a_finished_plan(finished, tmp_path, capsys):
    unfinished = tmp_path / "unfinished"
    shutil.copytree(finished, unfinished)
    (unfinished / DONE).unlink()
    page = tmp_path / "page.html"
    line = refused(["diff", str(finished), str(unfinished), "--html", str(page)], capsys)
    assert "is not a finished plan" in line and f"run --run-dir {unfinished}" in line
    assert "is not a folder" in refused(["diff", str(tmp_path / "missing"), str(finished)], capsys)
    assert not page.exists()


def test_fork_and_diff_refuse_folders_without_a_plan(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert "is not a plan" in refused(["fork", str(tmp_path / "empty"), str(tmp_path / "new")], capsys)
    assert "is not a plan" in refused(["diff", str(tmp_path / "empty"), str(tmp_path / "empty")], capsys)
    assert not (tmp_path / "new").exists()


def test_plan_text_on_a_terminal_is_one_line_without_control_characters():
    assert plain("a\x1b[2J\nb\x07\tc\u202ed") == "a [2J b c d"
    assert plain("x" * 200, 20) == "x" * 17 + "..."
