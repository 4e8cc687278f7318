"""plan_summary's outline of a plan, from a run folder written by hand: what it reads, what it
leaves out, and that it stays small whatever the models wrote. A real plan's summary is read
through the SDK's client in test_mcp_server.py."""

from __future__ import annotations

import json
from pathlib import Path

from planexe_pipeline.mcp_server.plan_summary import plan_summary
from planexe_pipeline.stages.markdown import FLAGS_KEY
from planexe_pipeline.tasks.report import report_sections


def write(folder: Path, name: str, data) -> None:
    (folder / name).write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")


def test_the_outline_is_read_from_the_plan_files_and_stays_small(tmp_path):
    titles = [s.title for s in report_sections()]
    write(tmp_path, "004-identify_purpose.json", {"topic": "Bakery in Lyon", "goal_statement": "not this one"})
    write(tmp_path, "023-project_plan.json", {"goal_statement": "Open a bakery. " * 100, "duration_months": 9,
                                              "budget": {"total": 180000.0, "currency": "EUR", "contingency_percent": 10}})
    write(tmp_path, "057-schedule.json", {"start_date": "2027-01-04", "end_date": "2027-10-01", "tasks": []})
    write(tmp_path, "038-swot_analysis.json", {"x": 1, FLAGS_KEY: ["a loop", "a repeat"]})
    # A model's text holding a line that looks like a section heading is not a section.
    body = "".join(f"## {title}\n\nText of {title}.\n\n" + ("## Not a section\n\n" if i == 0 else "")
                   for i, title in enumerate(titles))
    write(tmp_path, "070-plan.md", "# Project plan: Bakery in Lyon\n\n## The idea\n\n> x\n\n## Contents\n\n" + body)

    summary = plan_summary(tmp_path, "done", None)
    assert summary["title"] == "Project plan: Bakery in Lyon"
    assert summary["goal"].startswith("Open a bakery.") and len(summary["goal"]) <= 240
    assert summary["duration"] == {"months": 9, "start": "2027-01-04", "last_day": "2027-09-30", "calendar_days": 270}
    assert summary["budget"] == {"total": 180000.0, "currency": "EUR", "contingency_percent": 10}
    assert list(summary["sections"]) == titles
    plan = (tmp_path / "070-plan.md").read_bytes()
    assert all(plan[offset:].startswith(f"## {title}\n".encode()) for title, offset in summary["sections"].items())
    assert summary["flags"] == ["quality: 2 answers looked degenerate and were kept, flagged in their sections "
                                "(038-swot_analysis)"]
    assert len(json.dumps(summary, indent=2)) < 2048


def test_a_plan_that_has_not_started_is_all_blanks_and_says_so(tmp_path):
    summary = plan_summary(tmp_path / "not-yet", "queued", None)
    assert summary == {"title": None, "goal": None, "duration": None, "budget": None, "models": [], "sections": {},
                       "flags": ["incomplete: the plan is queued; what it wrote so far is summed up"]}
