"""The live view: one block redrawn in a terminal, drawn from a status snapshot; plain lines elsewhere."""

from __future__ import annotations

import io
import time

from planexe_pipeline.telemetry.events import LLMCallEvent
from planexe_pipeline.telemetry.live_view import LiveView, is_terminal, status_lines, summary_line
from planexe_pipeline.telemetry.run_state import Money


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def snapshot(state: str = "running") -> dict:
    now = time.time()
    return {"run_dir": "run/x", "run_id": "ab" * 16, "state": state, "progress": 0.42,
            "tasks": {"done": 40, "expected": 111}, "llm_calls": {"done": 30, "expected": 93, "in_flight": 2},
            "in_flight": [{"stage": "WBSLevel2", "item": None, "since": now - 2, "llm": True, "host": "h"},
                          {"stage": "ExpertCriticismItem", "item": 3, "since": now - 1, "llm": True, "host": "h"}],
            "llm_slots": 8, "provider_limit": 4, "provider_wait_s": 12.5, "eta_s": 75.0, "started": now - 60,
            "ended": None, "last_progress_at": now - 1, "failure": None, "widths_estimated": [],
            "last_finished": [{"stage": "PlanType", "item": None, "seconds": 3.2, "ended": now - 5}], "now": now}


def test_in_a_terminal_the_block_shows_progress_eta_limit_waiting_and_tasks():
    out = Terminal()
    view = LiveView(lambda: snapshot(), out=out, interval_s=0.05)
    view.start()
    time.sleep(0.2)
    view.stop()
    text = out.getvalue()
    for shown in ("42%", "ETA 1m15s", "in flight 2 / provider limit 4 (slots 8)", "waiting on the provider 12.5s",
                  "WBSLevel2", "ExpertCriticismItem #3", "PlanType 3.20s"):
        assert shown in text, shown
    assert "\x1b[" in text, "redrawn with the terminal's control sequences"


def test_elsewhere_the_status_is_plain_lines():
    assert not is_terminal(io.StringIO()) and is_terminal(Terminal())
    lines = status_lines(snapshot())
    assert lines[0].startswith("run/x: running 42%: 40/111 tasks, 30/93 LLM calls, 2 in flight (provider limit 4")
    assert "\x1b[" not in "\n".join(lines)


def test_a_stopped_run_says_it_stopped_and_how_to_resume_not_where_it_failed():
    stopped = {**snapshot("stopped"), "in_flight": [], "failure": {
        "step": "-", "reason": "the run process ended before the plan was complete (killed, interrupted or its "
                               "machine lost)", "recoverable": True, "resume": "planexe-pipeline run --run-dir run/x"}}
    lines = status_lines(stopped)
    assert "  stopped: the run process ended before the plan was complete (killed, interrupted or its machine lost)" \
        in lines, lines
    assert "  resume: planexe-pipeline run --run-dir run/x (finished steps are kept)" in lines
    assert not any("failed" in line or " -:" in line for line in lines), lines
    failed = {**stopped, "state": "failed", "failure": {**stopped["failure"], "step": "SWOTAnalysis",
                                                         "reason": "every model failed"}}
    assert "  failed at SWOTAnalysis: every model failed" in status_lines(failed)


def test_money_so_far_projected_and_the_cached_share_are_shown_and_left_out_when_unknown():
    money = Money()
    for family, cost, cached in (("A", 0.02, 300), ("A", 0.04, 0), ("B", None, 100)):
        money.add(LLMCallEvent(task_family=family, status="ok", input_tokens=1000, cached_input_tokens=cached,
                               cost_usd=cost, cost_source="table" if cost else "unknown"))
    assert money.cost_usd == 0.06 and money.unpriced == 1 and money.cached_share == round(400 / 3000, 4)
    assert money.per_call("A") == 0.03  # its own calls' mean
    assert money.per_call("C") == 0.02  # none of its own yet: every call's mean
    seen = {"state": "running", "progress": 0.5, "tasks": {"done": 1, "expected": 2},
                "llm_calls": {"done": 3, "expected": 6, "in_flight": 0}, "llm_slots": 4, "eta_s": 5.0,
                "cost_usd": 0.06, "cost_projected_usd": 0.12, "cached_share": 0.1333}
    assert summary_line(seen).endswith("; cost $0.0600 of ~$0.1200 projected, 13% of input cached")
    unknown = {**seen, "cost_usd": None, "cost_projected_usd": None, "cached_share": None}
    assert "cost" not in summary_line(unknown) and "cached" not in summary_line(unknown)
