"""The report: every declared section assembled in reading order, as plan.md and as the page."""

from __future__ import annotations

import datetime
import re
from html.parser import HTMLParser

import luigi
import pytest

from planexe_pipeline.report import assemble
from planexe_pipeline.report.html import WBSNode, render_report_html
from planexe_pipeline.stages.wbs import WBSProject, WBSTask
from planexe_pipeline.tasks.report import Report, report_sections, section_tasks
from support.synthesis_folder import PLAN, START, build, prepopulate, small_schedule, wbs_project
from support.files import PLAN_MD, REPORT_HTML, plan_file


# -- assembling the report -----------------------------------------------------------------

def test_headings_nest_under_the_report_section():
    md = "## Pitch\n\nIntro.\n\n### Why\n\nBecause.\n\n#### Detail\n\n> # quoted\n\n```\n# code\n```\n"
    out = assemble.normalise_headings(md, top_level=3)
    assert "Pitch" not in out
    assert "\n### Why\n" in out and "\n#### Detail\n" in out
    assert "> # quoted" in out and "```\n# code\n```" in out
    assert assemble.normalise_headings("# Schedule\n\nFrom.\n\n## Critical path\n", 1) == "From.\n\n# Critical path\n"
    assert assemble.normalise_headings("Plain.\n", 3) == "Plain.\n"


def section_texts() -> dict[str, str]:
    return {s.key: f"## {s.title}\n\nBody of {s.key}.\n\n### Detail\n\nMore." for s in report_sections()}


def test_report_sections_follow_the_declared_reading_order():
    keys = [s.key for s in report_sections()]
    assert keys[:4] == ["prompt-screening", "executive-summary", "pitch", "purpose"], \
        "whether the prompt could be planned, then the decision-maker's pages"
    assert keys[-2:] == ["directives", "self-audit"], "the plan's checks of itself last"
    assert keys.index("wbs") < keys.index("schedule-table") < keys.index("review")
    for field in ("key", "title", "position"):
        values = [getattr(s, field) for s in report_sections()]
        assert len(values) == len(set(values)), f"two sections declare the same {field}"
    assert [s.position for s in report_sections()] == sorted(s.position for s in report_sections())
    sections = assemble.report_sections(report_sections(), section_texts())
    md = assemble.plan_markdown("Project plan: Bakery", PLAN, sections)
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings == ["The idea", "Contents"] + [s.title for s in report_sections()]
    assert md.startswith("# Project plan: Bakery\n")
    assert "\n### Detail\n" in md
    html_keys = [s.key for s in assemble.report_sections(report_sections(), section_texts(), for_html=True)]
    assert html_keys == keys, "the page in plan.md's order"
    parts = {s.key: s.page_part for s in report_sections() if s.page_part}
    assert parts == {"wbs": "wbs", "schedule-table": "gantt"}
    assert keys.index("schedule-table") == keys.index("wbs") + 1, "the work breakdown, then its schedule and chart"
    with pytest.raises(KeyError):
        assemble.report_sections(report_sections(), {"pitch": "x"})


def test_gantt_shows_phases_and_tasks_in_wbs_order():
    chart = assemble.gantt_chart(small_schedule())
    assert [(b.id, b.level) for b in chart.bars] == [("T-1", 1), ("T-1.1", 2), ("T-2", 1), ("T-2.1", 2)]
    assert all(b.critical for b in chart.bars)
    assert chart.bars[2].start == START + datetime.timedelta(days=10)
    deeper = assemble.gantt_chart(small_schedule(), max_depth=3)
    assert [b.id for b in deeper.bars] == ["T-1", "T-1.1", "T-1.1.1", "T-2", "T-2.1", "T-2.1.1"]


def test_wbs_tree_keeps_ids_titles_and_durations():
    project = WBSProject(title="Bakery", final_deliverable="An open bakery", phases=[
        WBSTask(id="T-1", title="Premises", children=[
            WBSTask(id="T-1.1", title="Lease", duration_days=10, children=[
                WBSTask(id="T-1.1.1", title="Sign", duration_days=10)])])])
    [phase] = assemble.wbs_tree(project)
    assert (phase.id, phase.title, phase.duration_days) == ("T-1", "Premises", None)
    assert phase.children[0].children[0] == WBSNode(id="T-1.1.1", title="Sign", duration_days=10, children=())


class StrictParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.ids += [v for k, v in attrs if k == "id"]
        self.scripts += tag == "script"


def test_assembled_html_renders_every_section():
    schedule = small_schedule()
    page = render_report_html(title="Project plan: Bakery", prompt=PLAN,
                              sections=assemble.report_sections(report_sections(), section_texts(), for_html=True),
                              wbs=[], gantt=assemble.gantt_chart(schedule),
                              links=assemble.report_links(PLAN_MD), meta=assemble.report_meta(schedule))
    parser = StrictParser()
    parser.feed(page)
    parser.close()
    assert parser.scripts == 0
    expected = [s.key for s in report_sections()]
    assert [i for i in parser.ids if i in expected] == expected
    assert 'href="timeline.html"' in page


def test_every_count_of_the_schedule_names_what_it_counts_and_they_agree():
    """The header, the work breakdown and the Gantt chart count the same items by the same names: a
    phase, a task and a subtask are the work breakdown's levels 1, 2 and 3."""
    schedule = small_schedule()
    meta = assemble.report_meta(schedule)
    assert meta["Work breakdown"] == "2 phases, 2 tasks and 2 subtasks"
    assert meta["Critical path"] == "2 subtasks"  # the chain of T-2.1.1 then T-1.1.1
    page = render_report_html(title="Project plan: Bakery", prompt=PLAN,
                              sections=assemble.report_sections(report_sections(), section_texts(), for_html=True),
                              wbs=assemble.wbs_tree(wbs_project()), gantt=assemble.gantt_chart(schedule),
                              links={}, meta=meta)
    summaries = re.findall(r'<p class="section-summary">([^<]*)</p>', page)
    assert summaries == ["2 phases, 2 tasks and 2 subtasks.",
                         "The 2 phases and 2 tasks; their 2 subtasks are in the schedule table. "
                         "Critical-path items are shown in red."]
    assert "<title>Gantt chart: 2 phases and 2 tasks, " in page
    assert not re.search(r"\d+ (scheduled items|work packages)", page)


class PageIds(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.ids += [v for k, v in attrs if k == "id"]


def test_report_assembles_a_prepopulated_folder_in_reading_order(tmp_path):
    run_dir = str(tmp_path)
    report = Report(run_dir=run_dir)
    upstream = list(luigi.task.flatten(report.requires()))
    prepopulate(tmp_path, upstream)
    hostile = tmp_path / plan_file("ExecutiveSummary", "md")
    hostile.write_text(hostile.read_text() + "\n<script>alert(1)</script>\n", encoding="utf-8")
    build([Report(run_dir=run_dir)], workers=1)

    plan = (tmp_path / PLAN_MD).read_text(encoding="utf-8")
    assert plan.startswith("# Project plan: Lyon sourdough bakery\n")
    assert re.findall(r"^## (.+)$", plan, flags=re.M) == ["The idea", "Contents"] + [
        s.title for s in report_sections()]
    bodies = [plan.index(f"Body of {task.__name__}:") for task in section_tasks()]
    assert bodies == sorted(bodies)
    assert "title\n" not in plan  # each stage's own title gave way to the report's
    assert "\n### Detail of ProjectPlan\n" in plan

    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    parser = PageIds()
    parser.feed(page)
    parser.close()
    assert "script" not in parser.tags and "&lt;script&gt;" in page
    keys = [s.key for s in report_sections()]
    assert [i for i in parser.ids if i in keys] == keys
    assert page.index('id="wbs"') < page.index('class="wbs"') < page.index('id="schedule-table"') < page.index("<svg") \
        < page.index('id="review"')
    assert 'href="timeline.html"' in page
    assert "**Written by:** not recorded" in plan and "Simulated text" not in plan, "no telemetry: no model to name"
    assert "T-2.1.1" in page and "Install the oven" in page and "<svg" in page
