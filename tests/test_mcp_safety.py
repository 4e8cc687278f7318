"""What `planexe-pipeline mcp` accepts from a client and what it tells one, without a server:
run ids and file names that leave their folder, endpoints with credentials, the models listing
(never a key), the queue's order, a stop of a queued plan, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from planexe_pipeline.cli import main
from planexe_pipeline.errors import InputError
from planexe_pipeline.mcp_server.run_queue import Job, Root, process_alive, queue_position, run_command, stop, submit
from planexe_pipeline.mcp_server.safety import check_budget, file_in_run, public_address, run_folder
from planexe_pipeline.mcp_server.server import one_line
from planexe_pipeline.mcp_server.views import RunViews


@pytest.fixture
def root(tmp_path):
    root = Root(tmp_path / "root")
    root.prepare()
    return root


@pytest.mark.parametrize("run_id", ["..", "../x", "x/..", "/etc", "a/b", "", ".mcp", "x" * 81, "run id", "ä", 5, None])
def test_run_ids_that_are_not_plain_folder_names_are_refused(root, run_id):
    with pytest.raises(InputError, match="is not a run id"):
        run_folder(root.path, run_id)


def test_a_run_id_that_is_a_link_out_of_the_root_is_refused(root, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (root.path / "linked").symlink_to(tmp_path / "elsewhere")
    assert run_folder(root.path, "20261202-181221-a86ecb") == root.path / "20261202-181221-a86ecb"
    with pytest.raises(InputError, match="leaves the server's root folder"):
        run_folder(root.path, "linked")


def test_file_names_must_stay_inside_the_run_folder(tmp_path):
    run = tmp_path / "run"
    (run / "telemetry").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("no")
    (run / "out.txt").symlink_to(tmp_path / "secret.txt")
    (run / "in.txt").symlink_to(run / "001-plan.txt")
    assert file_in_run(run, "report") == run / "070-report.html"
    assert file_in_run(run, "plan") == run / "070-plan.md"
    assert file_in_run(run, "telemetry/events-x.jsonl") == run / "telemetry" / "events-x.jsonl"
    assert file_in_run(run, "in.txt") == run / "in.txt"
    for name, why in [("../secret.txt", "leaves the run folder"), ("telemetry/../../secret.txt", "leaves the run folder"),
                      ("/etc/passwd", "absolute path"), ("out.txt", "link that leaves"), (".run.lock", "hidden"),
                      ("a\\..\\b", "backslash"), ("", "no file name"), ("x\x00", "NUL")]:
        with pytest.raises(InputError, match=why):
            file_in_run(run, name)


def test_an_endpoint_is_shown_without_user_password_query_or_fragment():
    assert public_address("https://user:p4ss@llm.example:8443/v1?key=t0k#x") == "https://llm.example:8443/v1"
    assert public_address("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert public_address("http://[::1]:11434") == "http://[::1]:11434"
    assert public_address("${MY_BASE}") is None and public_address("ftp://host/x") is None and public_address(3) is None


def test_the_models_listing_names_modes_and_missing_keys_but_never_a_key(tmp_path, monkeypatch):
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {
        "hosted": {"class": "OpenAILike", "structured_output": "tools", "context_window": 32000,
                   "arguments": {"model": "m-1", "api_base": "https://u:p4ss@llm.example:8443/v1?token=t0k",
                                 "api_key": "${TEST_MCP_KEY}"}},
        "unset": {"class": "OpenAILike", "context_window": 8000,
                  "arguments": {"model": "m-2", "api_base": "http://127.0.0.1:9/v1", "api_key": "${TEST_MCP_UNSET}"}},
        "sim": {"class": "Simulated", "arguments": {"seed": 1}}}}))
    monkeypatch.setenv("TEST_MCP_KEY", "sk-verysecret")
    monkeypatch.delenv("TEST_MCP_UNSET", raising=False)
    listing = RunViews(Root(tmp_path / "root"), str(config)).models()
    text = json.dumps(listing)
    for secret in ("sk-verysecret", "p4ss", "t0k", "u:"):
        assert secret not in text, secret
    models = {m["name"]: m for m in listing["models"]}
    assert models["hosted"]["endpoint"] == "https://llm.example:8443/v1" and models["hosted"]["ready"]
    assert (models["hosted"]["structured_output"], models["sim"]["structured_output"]) == ("tools", "prompt")
    assert not models["unset"]["ready"] and "TEST_MCP_UNSET" in models["unset"]["why_not_ready"]


def _job(run_id: str, **fields) -> Job:
    return Job(run_id=run_id, models=["sim"], speed="fast", workers=1, **fields)


def test_the_queue_runs_oldest_first():
    jobs = [_job("c", queued_at=3.0), _job("a", queued_at=1.0), _job("r", state="running"), _job("b", queued_at=2.0)]
    assert [queue_position(jobs, run_id) for run_id in "abcr"] == [1, 2, 3, None]


def test_a_process_counts_as_the_jobs_only_while_it_runs_the_job(root):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    assert not process_alive(_job("gone", pid=ended.pid, launched=time.time()))
    # This very process lives, but runs no job "other": a pid reused by another program.
    assert not process_alive(_job("other", pid=os.getpid(), launched=time.time() - 3600))
    # Just launched, it may not have exec'd its command line yet.
    assert process_alive(_job("other", pid=os.getpid(), launched=time.time()))


def test_a_queued_plan_waits_its_turn_and_a_stop_takes_it_out_of_the_queue(root):
    root.set_max_running(1)
    # The one slot is taken (this process stands for a plan launched a moment ago): nothing launches.
    root.save(_job("busy", state="running", pid=os.getpid(), launched=time.time()))
    submit(root, _job("waiting"), "A bakery in Lyon.")
    views = RunViews(root, None)
    status = views.status("waiting")
    assert (status["state"], status["queue_position"], status["max_running"]) == ("queued", 1, 1)
    assert "number 1 in the queue" in status["hint"]
    with pytest.raises(InputError, match="already"):
        submit(root, root.load("waiting"))
    assert stop(root, "waiting") == "cancelled"
    status = views.status("waiting")
    assert status["state"] == "stopped" and "plan_resume" in status["hint"]
    assert not root.run_dir("waiting").exists()


def test_an_error_report_of_several_lines_becomes_one():
    report = ("Error executing tool plan_create: 1 validation error for plan_createArguments\nworkers\n"
              "  Input should be a valid integer [type=int_parsing, input_value='many', input_type=str]\n"
              "    For further information visit https://errors.pydantic.dev/2.14/v/int_parsing")
    assert one_line(report) == ("Error executing tool plan_create: 1 validation error for plan_createArguments; "
                                "workers; Input should be a valid integer")


def test_without_the_mcp_extra_the_command_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    for name in [n for n in sys.modules if n == "mcp" or n.startswith("mcp.")] + ["mcp"]:
        monkeypatch.setitem(sys.modules, name, None)  # what an environment without the SDK imports
    monkeypatch.delitem(sys.modules, "planexe_pipeline.mcp_server.server", raising=False)
    assert main(["mcp", "--root", str(tmp_path / "root")]) == 2
    assert capsys.readouterr().err == ("planexe-pipeline: error: the mcp extra is not installed: "
                                       "pip install 'planexe-pipeline[mcp]'\n")
    assert not (tmp_path / "root").exists()


def test_a_plans_budget_reaches_its_run_command_and_only_a_positive_amount_is_taken(root):
    job = Job(run_id="r1", models=["simulated"], speed="fast", workers=2, budget_usd=0.25)
    argv = run_command(root, job)
    assert argv[argv.index("--budget") + 1] == "0.25"
    assert "--budget" not in run_command(root, Job(run_id="r2", models=[], speed="fast", workers=2))
    for bad in (0, -1.0, True, "1"):
        with pytest.raises(InputError, match="budget_usd must be a number of USD above 0"):
            check_budget(bad)
