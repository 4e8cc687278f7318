"""A run's settings are resolved once, recorded in its folder without keys or absolute paths, and
read from there by every task, whatever process or host it runs in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import luigi
import pytest

from planexe_pipeline import run_settings
from planexe_pipeline.errors import ConfigError
from planexe_pipeline.run_request import RunRequest, prepare
from planexe_pipeline.run_settings import SETTINGS_FILE
from planexe_pipeline.tasks.framing import IdentifyPurpose

PROMPT = "Open a bakery in Lyon."


def config(tmp_path: Path) -> Path:
    path = tmp_path / "conf" / "llm_config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"models": {
        "sim": {"class": "Simulated", "arguments": {"time_scale": 0, "seed": 7}},
        "hosted": {"class": "OpenAILike", "context_window": 8192, "arguments": {
            "model": "m", "api_base": "http://127.0.0.1:9/v1", "api_key": "${PLANEXE_TEST_KEY}"}},
        "local": {"class": "OpenAILike", "context_window": 8192, "arguments": {
            "model": "m", "api_base": "http://127.0.0.1:9/v1", "api_key": "sk-literal-secret"}},
    }}))
    return path


def prepared(tmp_path: Path, **given) -> RunRequest:
    request = prepare(RunRequest(prompt=PROMPT, run_dir=tmp_path / "run", llm_config=str(config(tmp_path)), **given))
    run_settings.record(request.run_dir, request.settings)
    return request


def test_the_record_holds_no_key_and_no_absolute_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANEXE_TEST_KEY", "sk-from-the-environment")
    request = prepared(tmp_path, models=["hosted", "local", "sim"], llm_slots=3, speed="fast",
                       start_date="2027-01-04")
    text = (request.run_dir / SETTINGS_FILE).read_text()
    assert "sk-from-the-environment" not in text and "sk-literal-secret" not in text
    assert str(tmp_path) not in text and "/" not in json.loads(text)["llm_config"]
    record = json.loads(text)
    assert record["entries"]["hosted"]["arguments"]["api_key"] == "${PLANEXE_TEST_KEY}"  # the name, not the value
    assert (record["models"], record["llm_slots"], record["speed"], record["start_date"]) == \
           (["hosted", "local", "sim"], 3, "fast", "2027-01-04")


def test_a_task_reads_the_record_and_no_llm_config(tmp_path):
    request = prepared(tmp_path, models=["sim"], start_date="2027-01-04")
    (tmp_path / "conf" / "llm_config.json").unlink()  # no task may need it again
    run_settings._KNOWN.clear()  # as a process that did not resolve them (another host)
    task = IdentifyPurpose(run_dir=str(request.run_dir))
    assert task.settings == request.settings
    assert [m.name for m in task.executor().models] == ["sim"]
    assert task.executor().models[0].llm().seed == 7


def test_a_key_written_in_llm_config_is_taken_from_the_config_of_the_process_that_needs_it(tmp_path):
    request = prepared(tmp_path, models=["local"])
    run_settings._KNOWN.clear()
    bare = run_settings.recorded(request.run_dir)
    with pytest.raises(ConfigError, match="api_key written in llm_config.json.*--llm-config"):
        bare.entries[0].resolved_arguments()
    run_settings._KNOWN.clear()
    given = run_settings.recorded(request.run_dir, llm_config=str(tmp_path / "conf" / "llm_config.json"))
    assert given.entries[0].resolved_arguments()["api_key"] == "sk-literal-secret"


def test_the_llm_slots_reach_the_scheduler_not_luigis_global_config(tmp_path):
    before = luigi.configuration.get_config().get("resources", "llm", None)
    done = subprocess.run([sys.executable, "-c", (
        "import luigi, sys; from pathlib import Path\n"
        "from planexe_pipeline.run_request import RunRequest, prepare\n"
        "from planexe_pipeline.runner import execute\n"
        f"r = prepare(RunRequest(prompt={PROMPT!r}, run_dir=Path(sys.argv[1]), models=['sim'], llm_slots=5,"
        f" llm_config=sys.argv[2], speed='fast', progress=False, workers=2))\n"
        "seen = []\n"
        "execute(r, out=open('/dev/null', 'w'), on_start=lambda cap, revising: seen.append(cap))\n"
        "print(seen[0], luigi.configuration.get_config().get('resources', 'llm', None))\n"),
        str(tmp_path / "run"), str(config(tmp_path))], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    cap, global_value = done.stdout.split()[-2:]
    assert cap == "5" and global_value == str(before)
    assert json.loads((tmp_path / "run" / SETTINGS_FILE).read_text())["llm_slots"] == 5


def test_a_resume_goes_on_with_the_recorded_models_and_another_llm_replaces_them(tmp_path):
    first = prepared(tmp_path, models=["sim"])
    (first.run_dir / "001-plan.txt").write_text(PROMPT + "\n")
    (first.run_dir / "001-plan_fingerprint.json").write_text(json.dumps(
        {"prompt_sha256": "x", "speed": "full", "start_date": first.settings.start_date}))
    again = prepare(RunRequest(prompt=None, run_dir=first.run_dir))
    assert again.settings.models == ("sim",) and again.settings.entries == first.settings.entries
    other = prepare(RunRequest(prompt=None, run_dir=first.run_dir, models=["simulated-instant"]))
    assert other.settings.models == ("simulated-instant",)
