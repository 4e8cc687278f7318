"""Alerts: a JSON POST to a URL, or a command fed the JSON, when a run is done, failed or stalled.

An alert never holds up or fails the run: it is handed to a process of its own (started with
this module as its program, the JSON on its standard input) that the run does not wait for. That
process tries the POST up to `attempts` times, each bounded by `timeout_s`, with backoff between
them, runs the command under the same bound, and writes one `alert` telemetry line of how it
went (never the URL, which may carry a token). A scaled-out plan alerts once per state: the
first worker to claim it (a file created exclusively beside the telemetry) sends it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import luigi

from planexe_pipeline.telemetry.event_log import append_event, telemetry_dir
from planexe_pipeline.telemetry.events import AlertEvent

URL_VARIABLE = "PLANEXE_NOTIFY_URL"


class notify(luigi.Config):  # noqa: N801 - luigi names config sections after the class
    """[notify] in luigi.cfg. Beside the other settings (settings.py) in spirit; here so that
    `planexe-pipeline status` reads it without importing the LLM layer."""

    url = luigi.Parameter(default="", description="Where to POST alerts (also --notify-url, PLANEXE_NOTIFY_URL).")
    command = luigi.Parameter(default="", description="A shell command that reads each alert's JSON on its standard input.")
    stall_after_s = luigi.FloatParameter(default=300.0, description="No progress for this long: the run is stalled.")
    attempts = luigi.IntParameter(default=4, description="Tries of one POST before it is given up.")
    timeout_s = luigi.FloatParameter(default=10.0, description="Seconds one try (or the command) may take.")


@dataclass(frozen=True)
class AlertTargets:
    url: str = ""
    command: str = ""
    attempts: int = 4
    timeout_s: float = 10.0

    @property
    def any(self) -> bool:
        return bool(self.url or self.command)


def alert_targets(url: str | None = None, command: str | None = None) -> AlertTargets:
    """The command line's, else the environment's (URL only), else luigi.cfg's [notify]."""
    settings = notify()
    return AlertTargets(url=url or os.environ.get(URL_VARIABLE, "") or settings.url,
                        command=command or settings.command,
                        attempts=max(1, settings.attempts), timeout_s=max(0.1, settings.timeout_s))


def claim_alert(run_dir: str | os.PathLike, key: str) -> bool:
    """True for the first process (of any host) to claim this alert, False for the others."""
    folder = telemetry_dir(run_dir) / "alerts"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(folder / key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        return True
    except FileExistsError:
        return False


_senders: list[subprocess.Popen] = []


def send_alert(run_dir: str | os.PathLike, payload: dict, targets: AlertTargets) -> None:
    """Hand the alert to a process of its own and return at once."""
    if not targets.any:
        return
    order = {"run_dir": str(run_dir), "payload": payload, "url": targets.url, "command": targets.command,
             "attempts": targets.attempts, "timeout_s": targets.timeout_s}
    try:
        sender = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        sender.stdin.write(json.dumps(order).encode("utf-8"))
        sender.stdin.close()
    except OSError:
        return  # no process to send it: the run goes on without its alert
    _senders.append(sender)  # not waited for, but held, so Python does not call it abandoned


def post(url: str, body: bytes, timeout_s: float) -> None:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "planexe-pipeline alert"})
    with urllib.request.urlopen(request, timeout=timeout_s) as reply:
        reply.read()


def deliver(order: dict, sleep=time.sleep) -> list[AlertEvent]:
    """Send one alert as `order` says; what happened, one line per target."""
    body = json.dumps(order["payload"], sort_keys=True).encode("utf-8")
    state = order["payload"].get("state")
    results = []
    if order.get("url"):
        error, tries = None, 0
        for tries in range(1, order["attempts"] + 1):
            try:
                post(order["url"], body, order["timeout_s"])
                error = None
                break
            except (OSError, urllib.error.URLError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
                if tries < order["attempts"]:
                    sleep(min(30.0, 2.0 ** (tries - 1)))
        results.append(AlertEvent(start=time.time(), state=state, target="url", attempts=tries,
                                  status="failed" if error else "ok", error=error))
    if order.get("command"):
        try:
            done = subprocess.run(["/bin/sh", "-c", order["command"]], input=body, timeout=order["timeout_s"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            error = None if done.returncode == 0 else f"exit code {done.returncode}"
        except (OSError, subprocess.TimeoutExpired) as exc:
            error = f"{type(exc).__name__}"
        results.append(AlertEvent(start=time.time(), state=state, target="command", attempts=1,
                                  status="failed" if error else "ok", error=error))
    return results


if __name__ == "__main__":
    _order = json.loads(sys.stdin.read())
    for _line in deliver(_order):
        try:
            append_event(_order["run_dir"], _line)
        except OSError:
            pass
