"""`planexe-pipeline run --run-dir DIR` alone resumes a run with what its folder recorded: the
prompt, speed and start date of its fingerprint, the models (and their config) of its last run,
said in one line; a flag that contradicts the folder is refused and changes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from planexe_pipeline.cli import main
from planexe_pipeline.prompt_input import fingerprint
from planexe_pipeline.run_request import RunRequest, prepare
from planexe_pipeline.tasks.fanout import FanOutItem
from planexe_pipeline.tasks.synthesis import QuestionsAnswers
from planexe_pipeline.telemetry.event_log import append_event
from planexe_pipeline.telemetry.events import RunEvent
from support.graph import task_class, walk
from support.plan_runs import differing, plan_files

# A seed of its own: a resume on any other model would write other words.
CONFIG = {"models": {"own-seed": {"class": "Simulated", "arguments": {"seed": 5, "time_scale": 0}}}}


def late_names() -> set[str]:
    """The files and fan-out folders of every task of the plan from QuestionsAnswers on, as the
    tasks declare them: LLM answers, the checks of the plan, the report and the end marker."""
    late = [task_class(family) for family in walk()]
    # An export format the run does not write (tests/conftest.py, the test config) has no file,
    # nor do the printed parts of formats it does not write.
    late = [cls for cls in late if getattr(cls, "number", 0) >= QuestionsAnswers.number
            and cls.in_this_run()]
    return {name for cls in late for name in ([cls.stage_dir] if issubclass(cls, FanOutItem) else cls.files.values())}


def remove_the_end(run_dir: Path) -> list[str]:
    """A run that stopped before its end: every late file removed (each must have been written)."""
    removed = sorted(late_names())
    for name in removed:
        path = run_dir / name
        assert path.exists(), f"{name} is declared but the finished plan has no such file"
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return removed


@pytest.mark.slow
@pytest.mark.parametrize("speed", ["fast", "full"])
def test_run_dir_alone_resumes_with_the_recorded_speed_date_and_models(tmp_path, capsys, speed):
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps(CONFIG))
    run_dir = tmp_path / "run"
    assert main(["run", "--prompt-id", "bakery-lyon", "--run-dir", str(run_dir), "--speed", speed, "--workers", "4",
                 "--llm", "own-seed", "--llm-config", str(config), "--start-date", "2027-03-01"]) == 0
    finished = plan_files(run_dir)
    removed = remove_the_end(run_dir)
    assert len(removed) >= 10 and any(name.endswith(".json") for name in removed), removed
    capsys.readouterr()
    config.unlink()  # the folder recorded the entry itself: the resume needs no config file

    assert main(["run", "--run-dir", str(run_dir), "--workers", "4"]) == 0
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.startswith("Resuming")]
    assert line == (f"Resuming {run_dir} with what it recorded: prompt from 001-plan.txt; speed {speed} (recorded); "
                    f"start date 2027-03-01 (recorded); models own-seed (recorded); "
                    f"model config {config} (recorded)")
    assert not differing(finished, plan_files(run_dir)), differing(finished, plan_files(run_dir))


def folder(tmp_path: Path, speed: str = "fast", models: tuple[str, ...] = ()) -> Path:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "001-plan.txt").write_text("Open a bakery in Lyon.\n")
    (run_dir / "001-plan_fingerprint.json").write_text(
        json.dumps(fingerprint("Open a bakery in Lyon.\n", speed, "2027-01-04")))
    if models:
        append_event(run_dir, RunEvent(event="start", start=1.0, workers=4, models=models))
    return run_dir


def test_a_folder_run_on_the_defaults_resumes_on_the_defaults(tmp_path):
    prepared = prepare(RunRequest(prompt=None, run_dir=folder(tmp_path)))
    assert (prepared.speed, prepared.start_date, prepared.models) == ("fast", "2027-01-04", ["simulated"])
    assert "models simulated (the defaults: the folder recorded none)" in prepared.resumed


def test_the_latest_run_s_models_are_resumed_and_another_llm_is_taken_and_said(tmp_path):
    run_dir = folder(tmp_path, models=("simulated",))
    append_event(run_dir, RunEvent(event="start", start=2.0, workers=4, models=("simulated-instant",)))
    assert prepare(RunRequest(prompt=None, run_dir=run_dir)).models == ["simulated-instant"]
    # After a quota, going on with another model is what the error line itself advises.
    switched = prepare(RunRequest(prompt=None, run_dir=run_dir, models=["simulated"]))
    assert switched.models == ["simulated"]
    assert "models simulated (given; recorded: simulated-instant)" in switched.resumed


def test_a_new_folder_says_nothing_of_resuming(tmp_path):
    prepared = prepare(RunRequest(prompt="Open a bakery in Lyon.", run_dir=tmp_path / "new"))
    assert prepared.resumed is None and prepared.speed == "full"


@pytest.mark.parametrize("flags, refusal", [
    (["--speed", "full"], "was started with --speed fast: pass the same --speed or use a new --run-dir"),
    (["--start-date", "2027-02-01"], "schedules from 2027-01-04: pass the same --start-date or use a new --run-dir"),
    (["--prompt", "Build a solar farm in Denmark."], "holds a plan for another prompt"),
])
def test_a_flag_that_contradicts_the_folder_is_refused(tmp_path, capsys, flags, refusal):
    run_dir = folder(tmp_path, models=("simulated",))
    before = {p.name: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    assert main(["run", "--run-dir", str(run_dir), *flags]) == 2
    err = capsys.readouterr().err
    assert refusal in err and len(err.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


def test_flags_that_agree_with_the_folder_are_taken(tmp_path):
    prepared = prepare(RunRequest(prompt="Open a bakery in Lyon.", run_dir=folder(tmp_path), speed="fast",
                                  start_date="2027-01-04"))
    assert "prompt (given, the same); speed fast (given); start date 2027-01-04 (given)" in prepared.resumed
