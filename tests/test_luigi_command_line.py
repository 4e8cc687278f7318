"""The plan from Luigi's own command line: a run like `planexe-pipeline run`'s, and luigi.cfg's
[retcode] makes failures exit non-zero."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.files import PLAN_MD, REPORT_HTML, plan_file, plan_files

from planexe_pipeline.cli import main
from planexe_pipeline.prompt_input import fingerprint
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import RunEvent
from planexe_pipeline.telemetry.expected_work import read_expected_work

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
    [line] = said(done)  # the failure's one line, not a traceback
    assert line.startswith("ERROR: DeduplicateLevers: every model failed (cannot-dedupe: "), line
    assert (tmp_path / "run" / plan_file("PotentialLevers")).is_file()  # what finished is kept
    assert not (tmp_path / "run" / plan_file("DeduplicateLevers")).exists()


def said(done: subprocess.CompletedProcess) -> list[str]:
    """What a run from the luigi command line said on stderr, beside the simulator's note."""
    return [line for line in done.stderr.splitlines() if "using the offline simulator" not in line]


def test_an_item_beyond_its_list_ends_in_one_line(tmp_path):
    done = luigi_run("DraftDocumentToFindItem", "--index", "7", "--run-dir", str(tmp_path / "run"),
                     "--prompt", "Open a bakery in Lyon.", "--speed", "fast", "--llm", "good",
                     "--llm-config", str(config(tmp_path)), "--workers", "2")
    assert done.returncode == 30, (done.returncode, done.stderr[-2000:])
    assert said(done) == ["ERROR: DraftDocumentToFindItem: --index 7 is out of range: its list has 2 items at "
                          "--speed fast (--index 0 to 1)"], done.stderr[-2000:]
    assert (tmp_path / "run" / plan_file("FilterDocumentsToFind")).is_file()  # its upstream ran and is kept


def test_an_item_run_alone_on_a_folder_without_its_upstream_ends_in_one_line(tmp_path):
    run = tmp_path / "run"
    alone = luigi_run("DraftDocumentToFindItem", "--index", "0", "--run-dir", str(run), "--llm", "good",
                      "--llm-config", str(config(tmp_path)))
    assert alone.returncode == 30, (alone.returncode, alone.stderr[-2000:])
    assert said(alone) == [f"ERROR: Setup: run folder {run} has no plan yet: pass --prompt-file "
                           "(or use planexe-pipeline run --prompt)"], alone.stderr[-2000:]
    # A folder that holds another plan: Luigi's complete() check refuses it, in one line too.
    run.mkdir(exist_ok=True)
    (run / "001-plan.txt").write_text("Build a solar farm in Denmark.\n")
    (run / "001-plan_fingerprint.json").write_text(json.dumps(fingerprint("Build a solar farm in Denmark.\n", "full")))
    other = luigi_run("DraftDocumentToFindItem", "--index", "0", "--run-dir", str(run), "--prompt", "A bakery.",
                      "--llm", "good", "--llm-config", str(config(tmp_path)))
    assert other.returncode != 0 and "Traceback" not in other.stderr, other.stderr[-2000:]
    assert said(other) == [f"WARNING: Setup(run_dir={run}): run folder {run} holds a plan for another "
                           "prompt: use a new --run-dir, or rerun without a prompt to resume it"], other.stderr


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


def test_an_edit_is_seen_from_the_luigi_command_line_and_what_reads_it_is_redone(tmp_path):
    run_dir, llm_config = tmp_path / "run", str(config(tmp_path))
    first = luigi_run("DeduplicateLevers", "--run-dir", str(run_dir), "--prompt", "Open a bakery in Lyon.",
                      "--llm", "good", "--llm-config", llm_config)
    assert first.returncode == 0, first.stderr[-2000:]
    levers, deduplicated = run_dir / plan_file("PotentialLevers"), run_dir / plan_file("DeduplicateLevers")
    made = deduplicated.read_bytes()
    data = json.loads(levers.read_text())
    data["levers"][0]["name"] = "Oven Size"
    levers.write_text(json.dumps(data, indent=2) + "\n")
    again = luigi_run("DeduplicateLevers", "--run-dir", str(run_dir), "--llm", "good", "--llm-config", llm_config)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"Revising {run_dir}: edited {plan_file('PotentialLevers')}; redoing 1 task and 1 LLM call" in again.stderr
    assert deduplicated.read_bytes() != made  # made again from the edited levers
    assert json.loads(levers.read_text())["levers"][0]["name"] == "Oven Size"  # the edit is kept


def test_a_plan_from_the_luigi_command_line_is_recorded_and_read_as_a_run_is(tmp_path, capsys):
    run = tmp_path / "run"
    (tmp_path / "prompt.txt").write_text("Open a bakery in Lyon.\n")
    done = luigi_run("FullPlan", "--run-dir", str(run), "--prompt-file", str(tmp_path / "prompt.txt"),
                     "--speed", "fast", "--llm", "good", "--llm-config", str(config(tmp_path)), "--workers", "3")
    assert done.returncode == 0, done.stderr[-2000:]
    # Where the report is, as `planexe-pipeline run` says it, and the timeline the report links to.
    assert done.stdout.splitlines()[-3:] == [f"Report:   {run / REPORT_HTML}", f"Plan:     {run / PLAN_MD}",
                                             f"Timeline: {run / 'timeline.html'}"], done.stdout
    assert 'class="memory"' in (run / "timeline.html").read_text()  # sampled while it ran, as `run` does
    start, end = read_events(run, RunEvent)
    assert (start.event, end.event, end.status) == ("start", "end", "ok")
    assert start.workers == 3 and start.llm_slots and start.speed == "fast" and start.models == ("good",)
    assert read_expected_work(run).root == "FullPlan"
    assert main(["status", str(run)]) == 0
    assert capsys.readouterr().out.startswith(f"{run}: done 100%")
