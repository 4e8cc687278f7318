"""Wherever a plan is shown, the models that wrote it; simulated text says it is simulated."""

from __future__ import annotations

import luigi

from planexe_pipeline.tasks.report import Report
from planexe_pipeline.telemetry.event_log import append_events
from planexe_pipeline.telemetry.events import LLMCallEvent, RunEvent, TaskEvent
from planexe_pipeline.telemetry.plan_authors import NOTICE_TITLE, plan_authors
from planexe_pipeline.telemetry.timeline import render_timeline_html
from support.files import PLAN_MD, REPORT_HTML
from support.synthesis_folder import build, prepopulate

SIMULATED = dict(model="simulated", provider="planexe.simulator")
OPENAI = dict(model="fake-openai", provider="openai", request_model="fake-model")


def answers(count: int, **model) -> list[LLMCallEvent]:
    return [LLMCallEvent(start=100.0 + i, end=101.0 + i, status="ok", task_family="Stage", task_id=f"Stage_{i}",
                         attempt=1, **model) for i in range(count)]


def test_the_models_that_answered_are_named_most_answers_first():
    authors = plan_authors(answers(2, **SIMULATED) + answers(5, **OPENAI)
                           + [LLMCallEvent(start=1.0, end=2.0, status="error", model="refused", provider="openai")])
    assert authors.line() == "fake-model (openai API); the offline simulator"
    assert authors.simulated and authors.notice().startswith("The offline simulator wrote part of this plan")


def test_a_model_is_named_as_its_provider_knows_it_whatever_the_entrys_name():
    renamed = answers(2, model="gemini", provider="openai", request_model="google/gemini-2.0-flash-001")
    assert plan_authors(renamed).line() == "google/gemini-2.0-flash-001 (openai API)"
    # A line written before the field named the API names the class: still the one simulator.
    fast_and_slow = answers(2, model="simulated-instant", provider="Simulated") + answers(1, **SIMULATED)
    assert plan_authors(fast_and_slow).line() == "the offline simulator", "one simulator, whatever its entry"
    assert "wrote this plan" in plan_authors(fast_and_slow).notice()


def test_a_plan_of_a_real_model_carries_no_notice_and_one_of_the_simulator_does():
    assert plan_authors(answers(3, **OPENAI)).notice() is None
    assert "wrote this plan" in plan_authors(answers(3, **SIMULATED)).notice()
    assert "not a plan to act on" in plan_authors(answers(3, **SIMULATED)).notice()


def test_without_answers_the_run_lines_name_what_was_asked_for():
    assert plan_authors([RunEvent(start=1.0, models=("gpt", "simulated"))]).line() == "gpt; simulated"
    assert plan_authors([]).line() == "not recorded"


def report_of(tmp_path, events) -> tuple[str, str]:
    prepopulate(tmp_path, list(luigi.task.flatten(Report(run_dir=str(tmp_path)).requires())))
    append_events(tmp_path, events)
    build([Report(run_dir=str(tmp_path))], workers=1)
    return (tmp_path / PLAN_MD).read_text(encoding="utf-8"), (tmp_path / REPORT_HTML).read_text(encoding="utf-8")


def test_a_simulated_plan_says_so_in_plan_md_and_the_report(tmp_path):
    plan, page = report_of(tmp_path, answers(3, **SIMULATED))
    title, warning, byline = plan.split("\n\n")[:3]
    assert title.startswith("# Project plan:")
    assert warning.startswith(f"> **{NOTICE_TITLE}.** The offline simulator wrote this plan")
    assert byline == "**Written by:** the offline simulator"
    assert 'class="notice"' in page and "not a plan to act on" in page
    assert "<th scope=\"row\">Written by</th><td>the offline simulator</td>" in page


def test_a_plan_by_another_model_names_it_without_the_notice(tmp_path):
    plan, page = report_of(tmp_path, answers(3, **OPENAI))
    assert "**Written by:** fake-model (openai API)" in plan
    assert NOTICE_TITLE not in plan and 'class="notice"' not in page
    assert "fake-model (openai API)" in page


def run_lines(calls: list[LLMCallEvent]) -> list:
    tasks = [TaskEvent(event="end", start=c.start, end=c.end, status="ok", task_family=c.task_family,
                       task_id=c.task_id, llm=True) for c in calls]
    return tasks + calls


def test_the_timeline_names_the_models_and_warns_of_simulated_text(tmp_path):
    append_events(tmp_path / "sim", run_lines(answers(2, **SIMULATED)))
    page = render_timeline_html(tmp_path / "sim")
    assert "plan written by the offline simulator" in page and 'class="notice"' in page
    other = tmp_path / "other"
    append_events(other, run_lines(answers(2, **OPENAI)))
    page = render_timeline_html(other)
    assert "plan written by fake-model (openai API)" in page and 'class="notice"' not in page
