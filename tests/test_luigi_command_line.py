"""The plan from Luigi's own command line: luigi.cfg's [retcode] makes failures exit non-zero."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.files import plan_file, plan_files

REPO = Path(__file__).resolve().parent.parent
LUIGI = [sys.executable, "-c", "import sys, luigi.cmdline; sys.exit(luigi.cmdline.luigi_run())"]


def luigi_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*LUIGI, "--module", "planexe_pipeline.pipeline", *args, "--local-scheduler"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def config(tmp_path: Path) -> Path:
    path = tmp_path / "llm_config.json"
    path.write_text(json.dumps({"models": {
        "good": {"class": "Simulated", "arguments": {"time_scale": 0}},
        "cannot-dedupe": {"class": "Simulated", "arguments": {"time_scale": 0, "fail_stages": ["DeduplicateLevers"]}},
    }}))
    return path


def test_a_stage_runs_from_the_luigi_command_line(tmp_path):
    done = luigi_run("DeduplicateLevers", "--run-dir", str(tmp_path / "run"), "--prompt", "Open a bakery in Lyon.",
                     "--llm", "good", "--llm-config", str(config(tmp_path)), "--workers", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    # "good" is the simulator under another name: the run still says so.
    assert "using the offline simulator" in done.stderr
    assert sorted(p.name for p in (tmp_path / "run").glob("0*")) == sorted([
        *plan_files("Setup"), *plan_files("PotentialLevers"), *plan_files("DeduplicateLevers")])


def test_a_failed_task_exits_with_the_task_failed_code(tmp_path):
    done = luigi_run("DeduplicateLevers", "--run-dir", str(tmp_path / "run"), "--prompt", "Open a bakery in Lyon.",
                     "--llm", "cannot-dedupe", "--llm-config", str(config(tmp_path)), "--workers", "2")
    assert done.returncode == 30, (done.returncode, done.stderr[-2000:])  # [retcode] task_failed
    assert (tmp_path / "run" / plan_file("PotentialLevers")).is_file()  # what finished is kept
    assert not (tmp_path / "run" / plan_file("DeduplicateLevers")).exists()


def test_a_bad_model_entry_stops_the_plan_before_its_first_file(tmp_path):
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"blind": {"class": "OpenAILike", "arguments": {
        "model": "m", "api_base": "http://127.0.0.1:9/v1", "api_key": "k"}}}}))
    done = luigi_run("PlanType", "--run-dir", str(tmp_path / "run"), "--prompt", "Open a bakery in Lyon.",
                     "--llm", "blind", "--llm-config", str(config), "--workers", "2")
    assert done.returncode == 30, (done.returncode, done.stderr[-2000:])
    assert "model 'blind' names no context window" in done.stderr
    assert sorted(p.name for p in (tmp_path / "run").glob("0*")) == []  # not even the prompt


def test_no_screen_from_the_luigi_command_line_plans_a_prompt_the_screening_stops(tmp_path):
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"judge": {"class": "Simulated", "arguments": {
        "time_scale": 0, "unusable_prompts": ["asdf"]}}}}))
    run = tmp_path / "run"
    stopped = luigi_run("ScreenPrompt", "--run-dir", str(run), "--prompt", "asdf qwerty", "--llm", "judge",
                        "--llm-config", str(config))
    assert stopped.returncode == 30, (stopped.returncode, stopped.stderr[-2000:])
    assert "the prompt is unusable" in stopped.stderr
    assert json.loads((run / plan_file("ScreenPrompt")).read_text())["verdict"] == "unusable"
    planned = luigi_run("ScreenPrompt", "--run-dir", str(run), "--llm", "judge", "--llm-config", str(config),
                        "--no-screen")
    assert planned.returncode == 0, planned.stderr[-2000:]
    assert json.loads((run / plan_file("ScreenPrompt")).read_text())["planned_anyway"] is True
