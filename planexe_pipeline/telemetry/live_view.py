"""A run's status as text: one redrawn block in a terminal (rich), or plain lines elsewhere.

The block is drawn from a status snapshot (planexe_pipeline/status.py: a plain dict), so the
live view of `planexe-pipeline run` and `planexe-pipeline status --watch` show the same thing:
a progress bar, the ETA, the LLM calls in flight against the provider's current limit, the time
spent waiting on the provider, what is in flight, and the last tasks finished.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

STATE_STYLES = {"running": "bold cyan", "done": "bold green", "failed": "bold red", "stopped": "bold yellow",
                "stalled": "bold magenta"}
SHOWN_IN_FLIGHT = 6


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _name(entry: dict) -> str:
    return entry["stage"] + (f" #{entry['item']}" if entry.get("item") is not None else "")


def _limit_text(snapshot: dict) -> str:
    limit, slots = snapshot.get("provider_limit"), snapshot.get("llm_slots")
    if limit is not None:
        return f"provider limit {limit}" + (f" (slots {slots})" if slots else "")
    return f"slots {slots}" if slots else "slots ?"


def money_text(snapshot: dict) -> str:
    """What the plan's calls cost so far and are projected to cost, and the share of the input the
    provider's prompt cache served; empty while there is nothing to say."""
    parts = []
    if snapshot.get("cost_usd") is not None:
        projected = snapshot.get("cost_projected_usd")
        parts.append(f"cost ${snapshot['cost_usd']:.4f}"
                     + (f" of ~${projected:.4f} projected" if projected is not None else ""))
    if snapshot.get("cached_share") is not None:
        parts.append(f"{snapshot['cached_share']:.0%} of input cached")
    return ", ".join(parts)


def _expected(snapshot: dict, counts: dict) -> str:
    """An expected count, marked `~` while a fan-out's width is still a guess."""
    return f"{'~' if snapshot.get('widths_estimated') else ''}{counts['expected']}"


def summary_line(snapshot: dict) -> str:
    """One line: state, progress, counts, ETA, money."""
    tasks, calls = snapshot["tasks"], snapshot["llm_calls"]
    eta = snapshot.get("eta_s")
    text = (f"{snapshot['state']} {snapshot['progress'] * 100:.0f}%: {tasks['done']}/{_expected(snapshot, tasks)} "
            f"tasks, {calls['done']}/{_expected(snapshot, calls)} LLM calls, {calls['in_flight']} in flight "
            f"({_limit_text(snapshot)}), ETA {duration_text(eta) if eta is not None else 'unknown'}")
    money = money_text(snapshot)
    return f"{text}; {money}" if money else text


def no_work_text(entry: dict, now: float) -> str:
    """A scaled-out worker the central scheduler hands nothing while nothing of the plan runs."""
    what = "stopped: it was handed nothing" if entry["gave_up"] else "handed nothing"
    until = entry["until"] if entry["gave_up"] else now
    return (f"worker {entry['worker']}@{entry['host']} {what} for {duration_text(until - entry['since'])} "
            f"while nothing of the plan runs ({entry['pending']} tasks pending in the central scheduler)")


def status_lines(snapshot: dict) -> list[str]:
    """The snapshot as plain lines, for `status` without --json."""
    now = snapshot.get("now") or time.time()
    lines = [f"{snapshot['run_dir']}: {summary_line(snapshot)}"]
    if snapshot.get("last_progress_at"):
        lines.append(f"last progress {duration_text(now - snapshot['last_progress_at'])} ago; "
                     f"waited on the provider {snapshot.get('provider_wait_s', 0.0):.1f}s; run id {snapshot.get('run_id')}")
    for entry in snapshot.get("in_flight", []):
        lines.append(f"  in flight: {_name(entry)} ({'LLM call, ' if entry['llm'] else ''}"
                     f"since {duration_text(now - entry['since'])})")
    for entry in snapshot.get("no_work", []):
        lines.append(f"  {no_work_text(entry, now)}")
    if snapshot.get("widths_estimated"):
        lines.append(f"  widths not known yet (estimated): {', '.join(snapshot['widths_estimated'])}")
    failure = snapshot.get("failure")
    if failure:
        lines.append(f"  {snapshot['state']}{_at(failure)}: {failure['reason']}")
        lines.append(f"  resume: {failure['resume']} (finished steps are kept)" if failure["recoverable"] else
                     f"  not recoverable by a rerun alone: fix the cause, then resume: {failure['resume']}")
    return lines


def _at(failure: dict) -> str:
    """Where a run failed; a run that was stopped (interrupted, killed) names no step ("-")."""
    return f" at {failure['step']}" if failure.get("step") not in (None, "", "-") else ""


def status_block(snapshot: dict) -> Group:
    """The snapshot as one block for a terminal."""
    now = snapshot.get("now") or time.time()
    state = snapshot["state"]
    tasks, calls = snapshot["tasks"], snapshot["llm_calls"]
    head = Table.grid(padding=(0, 1))
    head.add_row(Text(state, style=STATE_STYLES.get(state, "bold")),
                 ProgressBar(total=1.0, completed=snapshot["progress"], width=36),
                 Text(f"{snapshot['progress'] * 100:3.0f}%", style="bold"),
                 Text(f"ETA {duration_text(snapshot.get('eta_s'))}" if snapshot.get("eta_s") is not None else "ETA -"),
                 Text(f"elapsed {duration_text(now - snapshot['started'])}" if snapshot.get("started") else ""))
    parts: list = [head, Text(
        f"tasks {tasks['done']}/{_expected(snapshot, tasks)}   "
        f"LLM calls {calls['done']}/{_expected(snapshot, calls)}   "
        f"in flight {calls['in_flight']} / {_limit_text(snapshot)}   "
        f"waiting on the provider {snapshot.get('provider_wait_s', 0.0):.1f}s"
        + (f"   {money_text(snapshot)}" if money_text(snapshot) else ""))]
    in_flight = snapshot.get("in_flight", [])
    if in_flight:
        shown = ", ".join(f"{_name(e)} {duration_text(now - e['since'])}" for e in in_flight[:SHOWN_IN_FLIGHT])
        more = f" and {len(in_flight) - SHOWN_IN_FLIGHT} more" if len(in_flight) > SHOWN_IN_FLIGHT else ""
        parts.append(Text(f"running: {shown}{more}", style="dim"))
    for entry in snapshot.get("no_work", []):
        parts.append(Text(no_work_text(entry, now), style="magenta"))
    finished = snapshot.get("last_finished", [])[-4:]
    if finished:
        parts.append(Text("finished: " + ", ".join(f"{_name(e)} {e['seconds']:.2f}s" for e in reversed(finished)),
                          style="green"))
    failure = snapshot.get("failure")
    if failure and state != "running":
        parts.append(Text(f"{state}{_at(failure)}: {failure['reason']}", style="red"))
    return Group(*parts)


class LiveView:
    """Redraws the status block of a run while it goes on, from `snapshot()` every `interval_s`."""

    def __init__(self, snapshot: Callable[[], dict], out: TextIO | None = None, interval_s: float = 0.5):
        self._snapshot = snapshot
        self._console = Console(file=out or sys.stdout)
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live: Live | None = None

    def start(self) -> None:
        # Task processes are forked while the block is up: they must not inherit a redirected stream.
        self._live = Live(console=self._console, auto_refresh=False, transient=False, redirect_stdout=False,
                          redirect_stderr=False)
        self._live.start()
        self._thread = threading.Thread(target=self._loop, name="plan-live-view", daemon=True)
        self._thread.start()

    def _draw(self) -> None:
        try:
            block = status_block(self._snapshot())
        except ValueError:  # nothing written yet
            return
        self._live.update(block, refresh=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._draw()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._draw()
        if self._live:
            self._live.stop()


def is_terminal(out: TextIO | None) -> bool:
    stream = out or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())
