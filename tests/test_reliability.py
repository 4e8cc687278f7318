"""Reliability of a whole run through `planexe-pipeline run`, as a subprocess:

- killed with SIGKILL at five points and resumed each time, the plan comes out byte-identical to
  an uninterrupted run's, and only the LLM calls in flight at a kill are made again;
- rate limits, malformed JSON and timeouts are retried away without changing a byte;
- when every model fails at one stage the run stops with one clear line, keeps what it finished,
  and a rerun with a working model resumes without redoing anything;
- runs on two folders at once do not interfere; a second run on a busy folder is refused at once.

Every plan here is the CI sample plan (--speed fast) of the same prompt and start date, so each is
compared with one clean reference run of the module.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from support.files import DONE, REPORT_HTML, plan_file
from support.plan_runs import differing, is_interrupted_write, ok_task_ids, plan_files, poll, run_to_end, start_run, write_llm_config

from planexe_pipeline.records import RECORDS_DIR
from planexe_pipeline.telemetry.event_log import read_events

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

MODELS = {
    "clean": {"seed": 42, "time_scale": 0},
    # ~30-135 ms a call: a fast plan takes about 5 s, long enough to be killed anywhere.
    "paced": {"seed": 42, "time_scale": 0.003},
    # ~15 s a fast plan: it must outlast the start-up of a second `planexe-pipeline run` on a busy machine.
    "slower": {"seed": 42, "time_scale": 0.03},
    # Rates high enough that every kind is drawn several times in a fast plan whatever the
    # stage names are (the draws are keyed by stage), so renaming a task cannot hide a kind.
    "faulty": {"seed": 42, "time_scale": 0, "rate_limit_error_rate": 0.2, "malformed_json_rate": 0.08,
               "timeout_rate": 0.08},
    "model-alpha": {"seed": 42, "time_scale": 0, "fail_stages": ["SWOTAnalysis"]},
    "model-beta": {"seed": 7, "time_scale": 0, "fail_stages": ["SWOTAnalysis"]},
}
# Cumulative count of tasks ended ok at which each run is killed; a fast plan has 73 tasks.
KILL_POINTS = (3, 12, 25, 40, 55)
NUMBERED = re.compile(r"^\d{3}-[a-z0-9_]+(\.(json|md|txt|csv|mmd|html|xml|ics|pdf|docx)|/item-\d{3}\.json)$")


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    return write_llm_config(tmp_path_factory.mktemp("config") / "llm_config.json", MODELS)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, config) -> SimpleNamespace:
    """One uninterrupted, fault-free run: the plan every other run must reproduce."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    run = run_to_end(run_dir, config, ["clean"])
    assert run.proc.returncode == 0, run.stderr
    files = plan_files(run_dir)
    assert DONE in files and REPORT_HTML in files
    return SimpleNamespace(files=files, tasks=len(set(ok_task_ids(run_dir))))


# -- 1. resume after a kill ------------------------------------------------------------------

def incomplete_outputs(run_dir: Path) -> tuple[list[str], list[str]]:
    """(numbered files that are not complete, Luigi temp files) in the run folder."""
    bad, temps = [], []
    for path in sorted(run_dir.rglob("*")):
        rel = path.relative_to(run_dir).as_posix()
        if not path.is_file() or rel.startswith("telemetry/") or path.name == ".run.lock":
            continue
        if is_interrupted_write(path):
            temps.append(rel)
            continue
        data = path.read_bytes()
        if not NUMBERED.match(rel) and rel not in ("timeline.html", "run_settings.json") \
                and not rel.startswith(f"{RECORDS_DIR}/"):
            bad.append(f"{rel} (not an output name)")
        elif path.suffix == ".json":
            try:
                json.loads(data)
            except ValueError:
                bad.append(f"{rel} (does not parse)")
        elif not data.strip():
            bad.append(f"{rel} (empty)")
        elif path.suffix == ".html" and not data.rstrip().endswith(b"</html>"):
            bad.append(f"{rel} (cut short)")
    return bad, temps


def run_and_kill(run_dir: Path, config: Path, point: int) -> tuple[int, set[str]]:
    """Run the plan, SIGKILL its process group once `point` tasks in all have ended ok and an
    LLM call is running (so that every kill cuts calls short); return (tasks ended ok, LLM tasks
    in flight at the kill: started by this run, not ended), read once the run is dead, so a
    task that started between the last look and the kill counts too."""
    run = start_run(run_dir, config, ["paced"], tag=f"until-{point}")
    wait_for_calls_in_flight(run, point)
    run.kill()
    return tasks_ended_ok(run_dir), llm_in_flight(run)


def llm_in_flight(run) -> set[str]:
    """LLM tasks this run started and has not ended."""
    segment = [e for e in read_events(run.run_dir, "task") if e.start >= run.launched]
    ended = {e.task_id for e in segment if e.event == "end"}
    return {e.task_id for e in segment if e.event == "start" and e.llm and e.task_id not in ended}


def tasks_ended_ok(run_dir: Path) -> int:
    return len(set(ok_task_ids(run_dir)))


def wait_for_calls_in_flight(run, point: int) -> None:
    """Until `point` tasks in all have ended ok and an LLM call is running."""
    poll(lambda: tasks_ended_ok(run.run_dir) >= point and llm_in_flight(run), 60,
         f"task end #{point} with an LLM call in flight",
         give_up=lambda: run.proc.poll() is not None
         and f"run exited ({run.proc.returncode}) at {tasks_ended_ok(run.run_dir)} tasks")


def test_killed_five_times_then_resumed_gives_the_same_plan_and_repeats_only_calls_in_flight(
        tmp_path, config, reference):
    run_dir = tmp_path / "run"
    kills = []  # one record per SIGKILL
    planted = []
    for point in KILL_POINTS:
        done, in_flight = run_and_kill(run_dir, config, point)
        bad, temps = incomplete_outputs(run_dir)
        assert not bad, f"after the kill at task #{point}: incomplete outputs {bad}"
        assert not set(planted) & set(temps), f"temp files planted before this run survived it: {planted}"
        kills.append({"at": point, "ended_ok": done, "in_flight": in_flight, "temps": temps})
        if not planted:
            # What a SIGKILL mid-write leaves: Luigi's temp file of an output, ours of a record.
            # The next run must remove them.
            planted = ["023-project_plan.json-luigi-tmp-000000042", "055-wbs_level3/item-001.json-luigi-tmp-000000043",
                       f"{RECORDS_DIR}/.023-project_plan.json.4242.tmp"]
            for rel in planted:
                (run_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                (run_dir / rel).write_text('{"half": ')

    final = start_run(run_dir, config, ["paced"], prompt_id=None, tag="final")
    assert final.wait() == 0, final.stderr
    bad, temps = incomplete_outputs(run_dir)
    assert not bad and not temps, (bad, temps)

    figures = "; ".join(f"kill at #{k['at']} (tasks ended ok {k['ended_ok']}): {len(k['in_flight'])} LLM tasks in "
                        f"flight, {len(k['temps'])} temp files" for k in kills)
    assert not differing(reference.files, plan_files(run_dir)), \
        f"resumed plan differs from the uninterrupted one: {differing(reference.files, plan_files(run_dir))}; {figures}"

    # No task that ended ok ran again; an LLM task started again only if it was in flight at a kill.
    ok_twice = [t for t, n in Counter(ok_task_ids(run_dir)).items() if n > 1]
    assert not ok_twice, f"finished tasks run again: {ok_twice}"
    starts = Counter(e.task_id for e in read_events(run_dir, "task") if e.event == "start" and e.llm)
    repeated = {t: n - 1 for t, n in starts.items() if n > 1}
    in_flight_total = sum(len(k["in_flight"]) for k in kills)
    per_kill = [len(k["in_flight"] & set(repeated)) for k in kills]
    calls_ok = Counter(e.task_id for e in read_events(run_dir, "llm_call") if e.status == "ok")
    calls_repeated = sum(n - 1 for n in calls_ok.values() if n > 1)
    summary = (f"{len(kills)} kills survived; LLM task executions repeated {sum(repeated.values())} "
               f"(per kill {per_kill}) <= in flight at the kills {in_flight_total} "
               f"(per kill {[len(k['in_flight']) for k in kills]}); successful LLM calls repeated {calls_repeated}; "
               f"{figures}")
    print(summary)
    assert sum(repeated.values()) <= in_flight_total, summary
    assert set(repeated) <= set().union(*(k["in_flight"] for k in kills)), \
        f"LLM tasks run again that were not in flight at any kill: {set(repeated) - set().union(*(k['in_flight'] for k in kills))}; {summary}"
    assert calls_repeated <= in_flight_total, summary
    assert len(kills) >= 5 and kills[-1]["ended_ok"] < reference.tasks, summary


def test_ctrl_c_stops_the_run_with_one_line_leaves_no_process_and_a_rerun_resumes(tmp_path, config, reference):
    run_dir = tmp_path / "run"
    run = start_run(run_dir, config, ["paced"], tag="interrupted")
    wait_for_calls_in_flight(run, 12)
    run.interrupt()
    assert run.wait(timeout=30) == 130, run.stderr
    # One line, not a traceback from each task process over it.
    assert run.stderr.strip().splitlines()[-1] == "planexe-pipeline: interrupted; rerun the same command to resume"
    assert "Traceback" not in run.stderr and "KeyboardInterrupt" not in run.stderr, run.stderr
    poll(lambda: not run.group_alive(), 10, "the end of every process of the run")
    bad, _ = incomplete_outputs(run_dir)
    assert not bad, bad
    final = start_run(run_dir, config, ["paced"], prompt_id=None, tag="after-interrupt")
    assert final.wait() == 0, final.stderr
    assert not differing(reference.files, plan_files(run_dir))


# -- 2. faults survived ----------------------------------------------------------------------

def test_rate_limits_malformed_json_and_timeouts_are_retried_away(tmp_path, config, reference):
    run_dir = tmp_path / "run"
    run = run_to_end(run_dir, config, ["faulty"])
    assert run.proc.returncode == 0, run.stderr
    calls = read_events(run_dir, "llm_call")
    errors = [e.error or "" for e in calls if e.status == "error"]
    injected = {kind: sum(kind in text for text in errors)
                for kind in ("SimulatedRateLimitError", "SchemaValidationError", "SimulatedTimeoutError")}
    figures = f"{len(calls)} attempts, {len(errors)} failed: {injected}"
    print(figures)
    assert all(injected.values()), f"each fault kind must be injected and retried: {figures}"
    assert sum(injected.values()) == len(errors), f"unexpected errors: {errors}"
    failed_tasks = [e.task_family for e in read_events(run_dir, "task") if e.status == "failed"]
    assert not failed_tasks, failed_tasks
    # Every task that saw an error ended with a good answer.
    ok_ids = {e.task_id for e in calls if e.status == "ok"}
    assert {e.task_id for e in calls if e.status == "error"} <= ok_ids
    assert not differing(reference.files, plan_files(run_dir)), differing(reference.files, plan_files(run_dir))


# -- 3. every model fails at one stage -------------------------------------------------------

def hashes(run_dir: Path) -> dict[str, str]:
    return {rel: hashlib.sha256(data).hexdigest() for rel, data in plan_files(run_dir).items()}


def test_all_models_failing_at_one_stage_stop_with_one_line_and_a_working_model_resumes(tmp_path, config, reference):
    run_dir = tmp_path / "run"
    failed = run_to_end(run_dir, config, ["model-alpha", "model-beta"])
    assert failed.proc.returncode not in (0, None), failed.stdout[-2000:]
    lines = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, f"want one error: line, got {lines}"
    line = lines[0]
    assert "Traceback" not in failed.stderr, "Luigi's traceback belongs to --verbose"
    assert line.startswith("error: SWOTAnalysis: every model failed"), line  # the stage named once, first
    for needed in ("SWOTAnalysis", "model-alpha", "model-beta"):
        assert needed in line, f"{needed!r} not named in: {line}"
    saved = re.search(r"saved to (\S+?) in the run folder;", line)
    assert saved, f"no saved raw-answer path in: {line}"
    raw = run_dir / saved.group(1)
    assert raw.is_file() and raw.parent == run_dir / "llm_failures" and raw.read_text(), raw

    before = hashes(run_dir)
    finished_before = set(ok_task_ids(run_dir))
    assert plan_file("SWOTAnalysis") not in before and "001-plan.txt" in before and len(finished_before) > 10

    rerun = run_to_end(run_dir, config, ["clean"], prompt_id=None)
    assert rerun.proc.returncode == 0, rerun.stderr
    after = hashes(run_dir)
    changed = sorted(rel for rel, digest in before.items() if after.get(rel) != digest)
    assert not changed, f"files finished before the failure changed or vanished: {changed}"
    ok_twice = [t for t, n in Counter(ok_task_ids(run_dir)).items() if n > 1]
    assert not ok_twice, f"tasks finished before the failure ran again: {ok_twice}"
    assert not differing(reference.files, plan_files(run_dir, ("telemetry", "llm_failures", RECORDS_DIR)))
    print(f"kept {len(before)} files and {len(finished_before)} finished tasks; "
          f"rerun ran {len(set(ok_task_ids(run_dir)) - finished_before)} tasks")


# -- 6. runs side by side --------------------------------------------------------------------

def run_events(run_dir: Path) -> list[dict]:
    return read_events(run_dir, "run")


def test_two_folders_at_once_give_the_same_plan_each_with_its_own_telemetry(tmp_path, config, reference):
    one, two = tmp_path / "one", tmp_path / "two"
    runs = [start_run(one, config, ["clean"]), start_run(two, config, ["clean"])]
    for run in runs:
        assert run.wait() == 0, run.stderr
    spans = []
    for run in runs:
        events = run_events(run.run_dir)
        assert [e.pid for e in events] == [run.proc.pid, run.proc.pid], \
            f"{run.run_dir} holds run lines of other processes: {events}"
        spans.append((events[0].start, events[1].end))
        ids = ok_task_ids(run.run_dir)
        assert len(ids) == len(set(ids)) == reference.tasks, f"{run.run_dir}: {len(ids)} task lines"
        assert not differing(reference.files, plan_files(run.run_dir)), differing(reference.files, plan_files(run.run_dir))
    (a_start, a_end), (b_start, b_end) = spans
    assert a_start < b_end and b_start < a_end, f"the runs did not overlap: {spans}"
    assert not set(ok_task_ids(one)) & set(ok_task_ids(two))


def test_a_second_run_on_a_busy_folder_is_refused_at_once(tmp_path, config, reference):
    run_dir = tmp_path / "run"
    first = start_run(run_dir, config, ["slower"], tag="first")
    poll(lambda: run_events(run_dir), 30, "the first run to take the folder",
         give_up=lambda: first.proc.poll() is not None and f"first run exited {first.proc.returncode}: {first.stderr}")
    second = start_run(run_dir, config, ["slower"], tag="second")
    code = second.wait(timeout=30)
    refused_after = time.time() - second.launched
    first_still_running = first.proc.poll() is None
    assert code not in (0, None)
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "is being run by another process" in lines[0], second.stderr
    assert first_still_running, "the first run ended before the second was refused: nothing proved"
    assert first.wait() == 0, first.stderr
    assert [e.pid for e in run_events(run_dir)] == [first.proc.pid, first.proc.pid]
    assert not differing(reference.files, plan_files(run_dir)), differing(reference.files, plan_files(run_dir))
    print(f"second run refused after {refused_after:.1f}s while the first was running")
