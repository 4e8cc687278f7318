"""Alerts: a JSON POST (and a command fed the JSON) on done, failed and stalled, to loopback
endpoints; an endpoint that is down or hangs changes nothing in the run."""

from __future__ import annotations

import email
import json
from pathlib import Path

import pytest
from support.graph import walk
from support.plan_runs import RETRY_CFG, cli_env, differing, plan_files, run_to_end, start_run, write_llm_config
from support.receivers import Receiver, SmtpReceiver, closed_port_url

from planexe_pipeline.telemetry.alerts import deliver
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import AlertEvent, RunEvent, TaskEvent

MODEL = {"seed": 42, "time_scale": 0.004}


def order(url: str = "", command: str = "", attempts: int = 3, timeout_s: float = 0.5) -> dict:
    return {"payload": {"state": "done", "progress": 1.0}, "url": url, "command": command,
            "attempts": attempts, "timeout_s": timeout_s}


def test_an_alert_is_posted_as_json_once():
    with Receiver() as hook:
        [line] = deliver(order(hook.url + "/hook"))
        assert line.status == "ok" and line.attempts == 1 and line.target == "url"
        assert hook.posts[0][0] == "/hook" and json.loads(hook.posts[0][1]) == {"state": "done", "progress": 1.0}


def test_an_endpoint_that_is_down_is_tried_a_bounded_number_of_times_with_backoff():
    waits = []
    [line] = deliver(order(closed_port_url(), attempts=3), sleep=waits.append)
    assert line.status == "failed" and line.attempts == 3 and "URLError" in line.error
    assert waits == [1.0, 2.0]
    assert "127.0.0.1" not in line.error or "hook" not in line.error  # the URL itself is not recorded


def test_an_endpoint_that_hangs_is_given_up_after_its_timeout():
    with Receiver(mode="hang") as hook:
        [line] = deliver(order(hook.url, attempts=2, timeout_s=0.3), sleep=lambda s: None)
        assert line.status == "failed" and line.attempts == 2 and len(hook.posts) == 2


def test_the_command_reads_the_json_on_its_standard_input(tmp_path):
    out = tmp_path / "alert.json"
    [line] = deliver(order(command=f"cat > {out}"))
    assert line.status == "ok" and json.loads(out.read_text())["state"] == "done"


def notify_env(folder: Path, **notify: object) -> dict[str, str]:
    cfg = folder / "notify_luigi.cfg"
    cfg.write_text(RETRY_CFG.read_text() + "\n[notify]\n" + "".join(f"{k} = {v}\n" for k, v in notify.items()))
    return cli_env(LUIGI_CONFIG_PATH=str(cfg))


def alert_lines(run_dir: Path) -> list[AlertEvent]:
    return read_events(run_dir, AlertEvent)


@pytest.mark.slow
def test_done_failed_and_stalled_reach_the_endpoint_and_the_command(tmp_path):
    config = write_llm_config(tmp_path / "llm.json", {
        "sim": MODEL, "broken": {**MODEL, "malformed_json_rate": 1.0},
        "slow": {"seed": 42, "time_scale": 0.12}})
    with Receiver() as hook:
        done = run_to_end(tmp_path / "done", config, ["sim"],
                          env=notify_env(tmp_path, url=hook.url, command=f"cat > {tmp_path / 'done.json'}"))
        assert done.proc.returncode == 0, done.stderr
        hook.wait_for(lambda: hook.posts)
        [alert] = hook.json_posts()
        run_id = next(e.run_id for e in read_events(done.run_dir, RunEvent))
        assert alert["state"] == "done" and alert["progress"] == 1.0 and alert["run_id"] == run_id
        assert alert["run_dir"] == str(done.run_dir.resolve()) and alert["failed_step"] is None
        assert alert["stats"]["llm_calls"] > 0 and alert["stats"]["cpu_s"] > 0
        assert alert["tasks"]["done"] == alert["tasks"]["expected"]

        failed = run_to_end(tmp_path / "failed", config, ["broken"], env=notify_env(tmp_path, url=hook.url))
        assert failed.proc.returncode == 1
        hook.wait_for(lambda: len(hook.posts) == 2)
        alert = hook.json_posts()[1]
        first_calls = {family for family, deps in walk().items() if deps == {"Setup"}}  # all fail, one is named
        assert alert["state"] == "failed" and alert["failed_step"] in first_calls
        assert "every model failed" in alert["reason"] and alert["recoverable"] is True
        assert alert["resume"].startswith("planexe-pipeline run --run-dir") and 0 <= alert["progress"] < 0.1

        # Calls of about 1-4 s: the first one leaves the run without progress for more than 0.5 s.
        stalled = start_run(tmp_path / "stalled", config, ["slow"],
                            env=notify_env(tmp_path, url=hook.url, stall_after_s=0.5))
        try:
            hook.wait_for(lambda: any(a["state"] == "stalled" for a in hook.json_posts()))
        finally:
            stalled.kill()
        alert = next(a for a in hook.json_posts() if a["state"] == "stalled")
        assert alert["run_dir"] == str(stalled.run_dir.resolve()) and alert["progress"] < 1.0
    assert json.loads((tmp_path / "done.json").read_text())["state"] == "done"


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", ["down", "hang"])
def test_an_endpoint_down_or_hanging_changes_nothing_in_the_run(tmp_path, endpoint):
    config = write_llm_config(tmp_path / "llm.json", {"sim": MODEL})
    quiet = run_to_end(tmp_path / "quiet", config, ["sim"])
    with Receiver(mode="hang") as hanging:
        url = closed_port_url() if endpoint == "down" else hanging.url
        alerted = run_to_end(tmp_path / "alerted", config, ["sim"], env=notify_env(tmp_path, url=url, timeout_s=1))
        assert alerted.proc.returncode == quiet.proc.returncode == 0, alerted.stderr
        assert not differing(plan_files(quiet.run_dir), plan_files(alerted.run_dir))
        assert alerted.stderr == quiet.stderr


@pytest.mark.slow
def test_luigis_own_failure_email_still_goes_out(tmp_path):
    config = write_llm_config(tmp_path / "llm.json", {"broken": {**MODEL, "malformed_json_rate": 1.0}})
    with SmtpReceiver() as smtp, Receiver() as hook:
        cfg = tmp_path / "email_luigi.cfg"
        cfg.write_text(RETRY_CFG.read_text() + f"\n[email]\nreceiver = ops@example.com\nsender = plans@example.com\n"
                       f"method = smtp\nforce_send = true\n\n[smtp]\nhost = 127.0.0.1\nport = {smtp.port}\n")
        failed = run_to_end(tmp_path / "failed", config, ["broken"],
                            env=cli_env(LUIGI_CONFIG_PATH=str(cfg), PLANEXE_NOTIFY_URL=hook.url))
        assert failed.proc.returncode == 1
        hook.wait_for(lambda: hook.posts)
        assert smtp.messages, "Luigi sent no e-mail"
        failed_tasks = {e.task_family for e in read_events(failed.run_dir, TaskEvent) if e.failed}
        for message in smtp.messages:  # one per failed task
            mail = email.message_from_string(message)
            assert mail["Subject"].startswith("Luigi")  # a task failed, or was disabled after failing
            assert any(family in mail["Subject"] for family in failed_tasks), mail["Subject"]
