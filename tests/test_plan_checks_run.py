"""The checks in a real `planexe-pipeline run`, as a subprocess: an unusable prompt stops the run
at its first call (the stages that started beside the screening are cut, nothing after them
starts), `--no-screen` then plans it anyway, and a run killed in the middle of the self-audit's
fan-out resumes without redoing any item that had finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import luigi
import pytest

from planexe_pipeline.latency import stage_range
from planexe_pipeline.llm.simulator import _rng
from planexe_pipeline.stages.self_audit import CHECKLIST
from planexe_pipeline.tasks.base import LLMTask
from planexe_pipeline.tasks.checks import SelfAudit, SelfAuditItem
from planexe_pipeline.tasks.report import Report
from planexe_pipeline.telemetry.event_log import read_events
from support.files import DONE, items_dir, plan_file
from support.graph import task_class, walk
from support.plan_runs import REPO, cli_env, differing, ok_task_ids, plan_files, poll, write_llm_config
from support.synthesis_folder import prepopulate

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

GRAPH = walk()
# The LLM stages that read the prompt alone: they start with the screening.
FIRST_WAVE = sorted(f for f, deps in GRAPH.items() if deps == {"Setup"} and issubclass(task_class(f), LLMTask))
TIME_SCALE = 0.1  # 1-3 s a call
MARKER = "lorem ipsum"


def latency(seed: int, family: str) -> float:
    """The simulator's draw for a stage's call (llm/simulator.py), before the time scale."""
    stem = task_class(family).stem
    return _rng("latency", seed, stem, None).uniform(*stage_range(stem))


def seed_screening_first() -> int:
    """A seed under which the screening's call is at least 8 s (0.8 s scaled) shorter than every
    other first call: its verdict then comes while all of them are still in flight."""
    others = [f for f in FIRST_WAVE if f != "ScreenPrompt"]
    return next(s for s in range(1000) if latency(s, "ScreenPrompt") + 8 <= min(latency(s, f) for f in others))


NEW_RUN = ("--speed", "fast", "--start-date", "2027-01-04")  # a resumed run takes both from its folder


def run_cli(run_dir: Path, config: Path, model: str, *extra: str, workers: str = "8") -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "planexe_pipeline", "run", "--run-dir", str(run_dir), "--llm-config", str(config),
            "--llm", model, "--workers", workers, *extra]
    return subprocess.run(argv, cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=180)


def error_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("error:")]


def test_an_unusable_prompt_stops_at_its_first_call_and_no_screen_plans_it_anyway(tmp_path):
    assert "ScreenPrompt" in FIRST_WAVE and "ExtractDirectives" in FIRST_WAVE and len(FIRST_WAVE) >= 6
    seed = seed_screening_first()
    config = write_llm_config(tmp_path / "llm_config.json", {
        "judge": {"seed": seed, "time_scale": TIME_SCALE, "unusable_prompts": [MARKER]},
        "judge-instant": {"seed": seed, "time_scale": 0, "unusable_prompts": [MARKER]}})
    run_dir = tmp_path / "run"
    done = run_cli(run_dir, config, "judge", "--prompt", f"{MARKER} dolor sit amet", *NEW_RUN)
    assert done.returncode == 1, done.stderr[-2000:]
    assert len(error_lines(done)) == 1 and error_lines(done)[0].startswith("error: the prompt is unusable ("), done.stderr

    tasks = [e for e in read_events(run_dir, "task") if e.llm]  # the static fan-outs' merges yield at the start
    started = {e.task_family for e in tasks if e.event == "start"}
    ended = {(e.task_family, e.status) for e in tasks if e.event == "end"}
    assert started == set(FIRST_WAVE), "only the calls that start with the screening ever started"
    assert ended == {("ScreenPrompt", "failed")}, "the others were cut, not finished, and report no error of their own"
    assert sorted(p.name for p in run_dir.glob("0*")) == sorted(
        [plan_file("Setup", "plan"), plan_file("Setup", "fingerprint"), *map(lambda k: plan_file("ScreenPrompt", k),
                                                                             ("json", "md"))])
    screened = next(e for e in tasks if e.task_family == "ScreenPrompt" and e.event == "end")
    run_end = max(e.end for e in read_events(run_dir, "run") if e.end)
    print(f"\nscreening call {screened.end - screened.start:.2f} s; run ended {run_end - screened.end:.2f} s after "
          f"the verdict; the first calls beside it would have taken "
          f"{min(latency(seed, f) for f in FIRST_WAVE if f != 'ScreenPrompt') * TIME_SCALE:.2f} s or more")

    planned = run_cli(run_dir, config, "judge-instant", "--no-screen")
    assert planned.returncode == 0, planned.stderr[-2000:]
    assert (run_dir / DONE).is_file()
    verdict = json.loads((run_dir / plan_file("ScreenPrompt")).read_text())
    assert verdict["verdict"] == "unusable" and verdict["planned_anyway"] is True
    assert "made anyway" in (run_dir / plan_file("Report", "md")).read_text()


# -- a kill in the middle of the self-audit's fan-out ---------------------------------------------

def audit_folder(run_dir: Path) -> None:
    """Every stage of a finished plan written by hand but the self-audit: a resumed run has that left."""
    report = Report(run_dir=str(run_dir))
    tasks = [*luigi.task.flatten(report.requires()), *SelfAuditItem(run_dir=str(run_dir), index=0).requires().values()]
    prepopulate(run_dir, [t for t in tasks if not isinstance(t, SelfAudit)])


def item_ends(run_dir: Path) -> list[str]:
    return [t for t in ok_task_ids(run_dir) if t.startswith("SelfAuditItem")]


def test_a_kill_in_the_middle_of_the_self_audit_redoes_no_finished_item(tmp_path):
    config = write_llm_config(tmp_path / "llm_config.json", {"slow": {"seed": 42, "time_scale": TIME_SCALE},
                                                              "instant": {"seed": 42, "time_scale": 0}})
    reference = tmp_path / "reference"
    audit_folder(reference)
    assert run_cli(reference, config, "instant", workers="2").returncode == 0

    run_dir = tmp_path / "run"
    audit_folder(run_dir)
    argv = [sys.executable, "-m", "planexe_pipeline", "run", "--run-dir", str(run_dir), "--llm-config", str(config),
            "--llm", "slow", "--workers", "2"]
    proc = subprocess.Popen(argv, cwd=REPO, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        poll(lambda: len(item_ends(run_dir)) >= 2, 60, "two finished audit items",
             give_up=lambda: proc.poll() is not None and f"run exited {proc.returncode}")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finished = set(item_ends(run_dir))
    assert 2 <= len(finished) < len(CHECKLIST) and not (run_dir / plan_file("SelfAudit")).exists(), "killed mid-fan-out"

    resumed = run_cli(run_dir, config, "instant", workers="2")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    ends = item_ends(run_dir)
    assert len(ends) == len(set(ends)) == len(CHECKLIST), "every item ended ok once: none finished was done again"
    assert len(list((run_dir / items_dir("SelfAuditItem")).iterdir())) == len(CHECKLIST)
    written = (items_dir("SelfAuditItem") + "/", *SelfAudit.files.values(), *Report.files.values())
    audited = {name: data for name, data in plan_files(run_dir).items() if name.startswith(written)}
    expected = {name: data for name, data in plan_files(reference).items() if name.startswith(written)}
    assert len(expected) == len(CHECKLIST) + 4 and not differing(expected, audited), differing(expected, audited)


def test_a_screening_call_that_fails_is_an_ordinary_failure_not_a_verdict(tmp_path):
    config = write_llm_config(tmp_path / "llm_config.json", {
        "cannot-screen": {"seed": 42, "time_scale": 0, "fail_stages": ["ScreenPrompt"]}})
    run_dir = tmp_path / "run"
    done = run_cli(run_dir, config, "cannot-screen", "--prompt-id", "solar-farm-denmark", *NEW_RUN)
    assert done.returncode == 1
    assert [line.split(":")[1].strip() for line in error_lines(done)] == ["ScreenPrompt"], done.stderr
    assert "rerun with --run-dir" in done.stderr, "a model that failed: the usual way to resume"
    assert not (run_dir / plan_file("ScreenPrompt")).exists() and not (run_dir / DONE).exists()
    assert (run_dir / plan_file("SelfAudit")).is_file(), "the stages that do not need the screening ran on"
