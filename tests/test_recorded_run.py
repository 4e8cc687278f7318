"""Stats, timeline and critical path on a run our own pipeline recorded.

tests/data/recorded_fast_run is the telemetry of `planexe-pipeline run --prompt-id bakery-lyon
--speed fast --workers 4` on the simulator with 10% rate limits: real task and LLM-call
lines, fan-out merges that yielded and re-ran, and retried attempts.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from planexe_pipeline.cli import main
from planexe_pipeline.telemetry.critical_path import executed_chain, run_critical_path, slot_lower_bound
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.stats import compute_stats
from planexe_pipeline.telemetry.timeline import render_timeline_html

RECORDED = Path(__file__).parent / "data" / "recorded_fast_run"


@pytest.fixture(scope="module")
def events():
    return read_events(RECORDED)


@pytest.fixture(scope="module")
def stats():
    return compute_stats(RECORDED)


def test_every_task_that_started_ended(events):
    starts = {e.task_id for e in events if e.kind == "task" and e.event == "start"}
    ends = {e.task_id for e in events if e.kind == "task" and e.event == "end" and e.status == "ok"}
    assert starts == ends
    yielded = {e.task_family for e in events if e.kind == "task" and e.status == "yielded"}
    assert {"DraftDocumentsToFind", "ExpertReview", "WBSProject123", "PlanReview"} <= yielded


def test_stats_add_up(stats, events):
    calls = [e for e in events if e.kind == "llm_call"]
    assert stats.attempts == len(calls)
    assert stats.llm_calls == sum(1 for e in calls if e.status == "ok")
    assert stats.retries == stats.attempts - stats.llm_calls > 0  # the recording had rate limits
    assert sum(s.calls for s in stats.stages) == stats.llm_calls
    assert sum(s.input_tokens for s in stats.stages) == stats.input_tokens
    assert stats.tasks == len({e.task_id for e in events if e.kind == "task"})
    assert 1 <= stats.max_llm_in_flight <= 4  # --workers 4
    assert stats.critical_path_seconds <= stats.makespan_seconds
    assert stats.speedup > 1.0  # four workers did overlap work
    assert stats.efficiency <= 1.0


def test_critical_path_runs_from_setup_to_the_end(events):
    path = run_critical_path(events)
    assert path.families[0] == "Setup" and path.families[-1] == "FullPlan"
    assert "ProjectPlan" in path.families
    assert slot_lower_bound(events, 1) >= slot_lower_bound(events, 4) >= path.seconds


def test_timeline_page_shows_every_execution_and_the_chain_that_set_the_makespan(events):
    page = render_timeline_html(RECORDED)

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.bars, self.critical = [], 0, 0

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            classes = dict(attrs).get("class") or ""
            assert not any(name.startswith("on") for name, _ in attrs)
            if tag == "rect" and "bar" in classes.split():
                self.bars += 1
                self.critical += "critical" in classes.split()

    parser = Collect()
    parser.feed(page)
    assert "script" not in parser.tags
    executions = sum(1 for e in events if e.kind == "task" and e.event == "end")
    assert parser.bars == executions
    assert parser.critical == len(executed_chain(events).task_ids)


def test_stats_and_timeline_commands(tmp_path, capsys):
    assert main(["stats", str(RECORDED), "--json"]) == 0
    assert '"llm_calls"' in capsys.readouterr().out
    out = tmp_path / "timeline.html"
    assert main(["timeline", str(RECORDED), "--out", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
