"""The export writers on small schedules and documents of our own; the exports of whole plans,
read back by independent readers, are tests/test_exports_plan.py."""

from __future__ import annotations

import base64
import datetime
import io
import zipfile
from xml.etree import ElementTree

import pytest
from docx import Document
from icalendar import Calendar

from planexe_pipeline import cli
from planexe_pipeline.export import formats, ical, ms_project, word
from planexe_pipeline.export.formats import FORMATS, missing_line, parse_formats
from planexe_pipeline.export.pdf import print_page
from planexe_pipeline.export.project_network import build_network
from planexe_pipeline.mcp_server.run_queue import Root
from planexe_pipeline.mcp_server.views import RunViews
from planexe_pipeline.report.assemble import gantt_chart
from planexe_pipeline.stages.schedule import ScheduleTask, compute_schedule
from planexe_pipeline.tasks.exports import EXPORTS, PDFExport

START = datetime.date(2026, 3, 2)
NS = {"p": ms_project.NS}


def small_schedule(title_of_a: str = "Permits"):
    """Two phases; A (4 days) then B (2), C (3 days) beside them; phase 2's D waits for phase 1."""
    tasks = [ScheduleTask(id="T-1", title="Prepare", level=1),
             ScheduleTask(id="T-1.1", title=title_of_a, parent_id="T-1", level=2, duration_days=4),
             ScheduleTask(id="T-1.2", title="Design", parent_id="T-1", level=2, duration_days=2),
             ScheduleTask(id="T-1.3", title="Fund", parent_id="T-1", level=2, duration_days=3),
             ScheduleTask(id="T-2", title="Build", level=1),
             ScheduleTask(id="T-2.1", title="Construct", parent_id="T-2", level=2, duration_days=5)]
    return compute_schedule(tasks, [("T-1.2", "T-1.1"), ("T-2", "T-1")], START)


def test_slack_and_the_critical_tasks_come_from_the_links_as_ms_project_computes_them():
    network = build_network(small_schedule())
    by_id = {t.id: t for t in network.tasks}
    assert [t.id for t in network.tasks] == ["T-1", "T-1.1", "T-1.2", "T-1.3", "T-1.M", "T-2", "T-2.1", "T-2.M"]
    assert {t.id: t.total_slack for t in network.tasks} == {
        "T-1": 0, "T-1.1": 0, "T-1.2": 0, "T-1.3": 3, "T-1.M": 0, "T-2": 0, "T-2.1": 0, "T-2.M": 0}
    assert not by_id["T-1.3"].critical and by_id["T-1.1"].critical
    assert (by_id["T-1.M"].early_start, by_id["T-1.M"].days) == (6, 0)
    assert by_id["T-1.M"].depends_on == ["T-1.1", "T-1.2", "T-1.3"]


def test_the_project_file_is_well_formed_whatever_the_titles_hold():
    data = ms_project.write(small_schedule(title_of_a="Permits <&> \x07 \"granted\""), title="Plan: a & b")
    project = ElementTree.fromstring(data)
    names = [e.text for e in project.findall("p:Tasks/p:Task/p:Name", NS)]
    assert names[1] == 'Permits <&> "granted"'
    task = project.find("p:Tasks/p:Task[p:WBS='T-1.2']", NS)
    assert task.find("p:Duration", NS).text == "PT16H0M0S"
    assert task.find("p:Start", NS).text == "2026-03-06T08:00:00"
    assert task.find("p:Finish", NS).text == "2026-03-07T17:00:00"
    link = task.find("p:PredecessorLink", NS)
    assert [link.find(f"p:{k}", NS).text for k in ("PredecessorUID", "Type", "LinkLag")] == ["2", "1", "0"]
    assert data == ms_project.write(small_schedule(title_of_a="Permits <&> \x07 \"granted\""), title="Plan: a & b")


def test_the_calendar_has_the_milestones_and_work_packages_with_stable_ids():
    data = ical.write(small_schedule(), title="Plan: x", plan_id="abc-2026-03-02", section_link="r.html#s")
    assert data == ical.write(small_schedule(), title="Plan: x", plan_id="abc-2026-03-02", section_link="r.html#s")
    events = {str(e["SUMMARY"]): e for e in Calendar.from_ical(data).walk("VEVENT")}
    assert sorted(events) == ["Milestone: Build complete", "Milestone: Prepare complete", "T-1.1 Permits",
                              "T-1.2 Design", "T-1.3 Fund", "T-2.1 Construct"]
    design = events["T-1.2 Design"]
    assert (design.decoded("DTSTART"), design.decoded("DTEND")) == (datetime.date(2026, 3, 6), datetime.date(2026, 3, 8))
    assert str(design["UID"]) == "T-1.2.abc-2026-03-02@planexe-pipeline"
    assert "Plan: x" in str(design["DESCRIPTION"]) and "r.html#s" in str(design["DESCRIPTION"])
    assert events["Milestone: Prepare complete"].decoded("DTSTART") == datetime.date(2026, 3, 7)


FRONT_MD = """# Project plan: test

## The idea

> Open a shop.

## Contents

1. [The idea](#the-idea)
2. [Schedule](#schedule)
"""
SECTION_MD = """## Schedule

Some **bold** and a [link](https://example.org) and a [trap](javascript:alert(1)).

| ID | Task |
|---|---|
| T-1 | Prepare |

### Critical path

1. T-1.1 Permits
2. T-1.2 Design

- a bullet
"""


def test_the_word_file_uses_words_styles_restarts_each_numbered_list_and_is_the_same_each_time():
    # The section printed on its own, as a run prints it, and joined under the front.
    part = word.print_part(SECTION_MD, gantt=gantt_chart(small_schedule()))
    args = dict(front_markdown=FRONT_MD, parts=[part], title="Project plan: test", first_day=START)
    data = word.write(**args)
    assert data == word.write(**args)
    assert {i.date_time for i in zipfile.ZipFile(io.BytesIO(data)).infolist()} == {word.ZIP_DATE}
    document = Document(io.BytesIO(data))
    styles = [(p.style.name, p.text) for p in document.paragraphs if p.text]
    assert styles[:3] == [("Title", "Project plan: test"), ("Heading 1", "The idea"), ("Quote", "Open a shop.")]
    assert ("Heading 2", "Critical path") in styles and ("List Bullet", "a bullet") in styles
    numbered = [p for p in document.paragraphs if p.style.name == "List Number"]
    num_ids = [p._p.pPr.numPr.numId.val for p in numbered]
    assert len(numbered) == 4 and num_ids[0] == num_ids[1] != num_ids[2] == num_ids[3]
    assert [c.text for c in document.tables[0].rows[0].cells] == ["ID", "Task"]
    assert len(document.inline_shapes) == 1
    links = [r.target_ref for r in document.part.rels.values() if r.reltype.endswith("/hyperlink")]
    assert links == ["https://example.org"]


def test_the_print_styles_come_after_the_reports_own_and_turn_only_a_wide_charts_page():
    def page(width: int, height: int) -> str:
        chart = (f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" role="img" width="{width}" '
                 f'height="{height}" viewBox="0 0 {width} {height}"></svg>')
        return print_page(f"<html><head><style>a{{}}</style></head><body>{chart}</body></html>")

    wide, tall = page(1100, 700), page(1100, 1300)
    assert wide.index("a{}") < wide.index("@page") < wide.index("</head>")
    assert "section.gantt-section { page: chart; }" in wide and "page: chart;" not in tall


def test_formats_are_named_once_with_one_task_each_numbered_after_the_report():
    assert list(EXPORTS) == list(FORMATS) == ["mspdi", "ics", "pdf", "docx"]
    assert {name: next(iter(task.files.values())) for name, task in EXPORTS.items()} == {
        "mspdi": "071-schedule.xml", "ics": "071-schedule.ics", "pdf": "071-report.pdf", "docx": "071-plan.docx"}
    with pytest.raises(ValueError, match="'rtf'"):
        parse_formats("pdf,rtf")
    assert parse_formats(" docx, MSPDI ") == (FORMATS["mspdi"], FORMATS["docx"])


def test_without_its_library_a_format_is_done_without_a_file_and_the_command_says_which_extra(
        monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(formats, "_installed", lambda library: library != "weasyprint")
    assert missing_line(tuple(FORMATS.values())) == (
        "the PDF export needs the export extra: pip install 'planexe-pipeline[export]'")
    assert PDFExport(run_dir=str(tmp_path)).complete() and not any(tmp_path.iterdir())
    assert cli.main(["export", str(tmp_path), "--format", "ics,pdf"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install 'planexe-pipeline[export]'" in err
    assert not any(tmp_path.iterdir())


def test_mcp_plan_file_names_the_exports_and_serves_the_pdf_in_base64_page_by_page(tmp_path):
    views = RunViews(Root(tmp_path), None)
    pdf = bytes(range(256)) * 12  # not UTF-8: served as bytes
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / PDFExport.files["pdf"]).write_bytes(pdf)
    pages, offset = [], 0
    while offset is not None:
        page = views.read_file("r1", "pdf", offset, 1024)
        assert (page["mime_type"], page["encoding"]) == ("application/pdf", "base64")
        pages.append(base64.b64decode(page["content"]))
        offset = page["next_offset"]
    assert b"".join(pages) == pdf and len(pages) == 3
