"""The exports of real plans, read back by independent readers: MPXJ (the project file), the
icalendar parser, poppler (the PDF) and python-docx (the Word file).

Three plans on the instant simulator at --speed fast: two sample prompts and one of our own,
each made only as far as its schedule's exports need but the bakery's, made whole for the PDF
and the Word file. Made once for the module, all at once; MPXJ reads the three project files in
one process of its own.
"""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from pathlib import Path

import luigi
import pikepdf
import pytest
from docx import Document
from icalendar import Calendar
from markdown_it import MarkdownIt
from PIL import Image

from planexe_pipeline.export.pdf import print_page
from planexe_pipeline.pipeline import FullPlan
from planexe_pipeline.prompts.catalog import get_prompt
from planexe_pipeline.stages.schedule import DatedSchedule
from planexe_pipeline.tasks.exports import CalendarExport, MSProjectExport, PDFExport, WordExport
from planexe_pipeline.tasks.report import report_sections
from planexe_pipeline.tasks.wbs import Schedule
from support.mpxj_project import NO_JAVA, java_found, read_all

pytestmark = [pytest.mark.usefixtures("every_export_format"), pytest.mark.slow, pytest.mark.timeout(300)]

START = "2026-03-02"
OWN_PROMPT = ("Organise a three-day folk music festival for 4,000 visitors on a lakeside meadow near Tampere, "
              "Finland, next summer: permits from the city and the landowner, two stages with sound and light, "
              "food vendors, camping, volunteers, ticketing, safety and the clean-up afterwards, on a budget of "
              "600,000 euros from tickets and two sponsors.")
PROMPTS = {"solar-farm-denmark": get_prompt("solar-farm-denmark").prompt,
           "bakery-lyon": get_prompt("bakery-lyon").prompt, "own": OWN_PROMPT}
WHOLE = "bakery-lyon"
MAX_PAGES = 150
CHART_SUMMARY = "Critical-path items are shown in red"  # the line above the report's Gantt chart


def build(tasks: list[luigi.Task]) -> None:
    result = luigi.build(tasks, workers=4, local_scheduler=True, detailed_summary=True)
    assert result.status == luigi.execution_summary.LuigiStatusCode.SUCCESS, result.summary_text


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("exports")
    folders = {name: root / name for name in PROMPTS}
    build([cls(run_dir=str(folder), speed="fast", llm="simulated-instant", prompt=PROMPTS[name], start_date=START)
           for name, folder in folders.items()
           for cls in ((FullPlan,) if name == WHOLE else (MSProjectExport, CalendarExport))])
    return folders


@pytest.fixture(scope="module")
def whole_plan(plans) -> Path:
    return plans[WHOLE]


@pytest.fixture(scope="module")
def mpxj(plans) -> dict[str, dict]:
    """Per plan: MPXJ's reading of its project file, the file rescheduled as MS Project would,
    and the elements out of the schema's order."""
    if not java_found():
        pytest.skip(NO_JAVA)
    files = {name: export_file(folder, MSProjectExport) for name, folder in plans.items()}
    read = read_all(list(files.values()))
    return {name: read[str(path)] for name, path in files.items()}


def schedule_of(run_dir: Path) -> DatedSchedule:
    return DatedSchedule.model_validate_json((run_dir / Schedule.files["json"]).read_text(encoding="utf-8"))


def export_file(run_dir: Path, task) -> Path:
    return run_dir / next(iter(task.files.values()))


# -- MS Project ------------------------------------------------------------------------------
@pytest.mark.parametrize("plan", list(PROMPTS))
def test_mpxj_reads_back_the_schedules_tasks_outline_durations_links_and_dates(plans, mpxj, plan):
    schedule = schedule_of(plans[plan])
    tasks, start, finish = mpxj[plan]["tasks"], mpxj[plan]["start"], mpxj[plan]["finish"]
    assert start == datetime.datetime.combine(schedule.start_date, datetime.time(8))
    assert finish == datetime.datetime.combine(schedule.end_date - datetime.timedelta(days=1), datetime.time(17))
    read = {t.wbs: t for t in tasks}
    assert [t.wbs for t in tasks if not t.milestone] == [t.id for t in schedule.tasks]
    parents = {t.parent_id for t in schedule.tasks}
    for expected in schedule.tasks:
        got = read[expected.id]
        assert (got.name, got.outline_level, got.days, got.summary) == (
            expected.title, expected.level, expected.duration_days, expected.id in parents), expected.id
        assert got.start == datetime.datetime.combine(expected.start, datetime.time(8)), expected.id
        assert got.finish == datetime.datetime.combine(expected.end - datetime.timedelta(days=1), datetime.time(17))
        assert got.links == [(before, "FS", 0.0) for before in expected.depends_on], expected.id
    assert {t.level for t in schedule.tasks} == {1, 2, 3}, "the fast plan decomposes some tasks to level 3"

    # Each phase closes with a milestone on its last day, linked from the phase's tasks.
    milestones = [t for t in tasks if t.milestone]
    phases = [t for t in schedule.tasks if t.parent_id is None and t.id in parents]
    assert [m.wbs for m in milestones] == [f"{p.id}.M" for p in phases]
    for phase, milestone in zip(phases, milestones):
        last = datetime.datetime.combine(phase.end - datetime.timedelta(days=1), datetime.time(17))
        assert (milestone.start, milestone.finish, milestone.days, milestone.outline_level) == (last, last, 0.0, 2)
        assert [w for w, _, _ in milestone.links] == [t.id for t in schedule.tasks if t.parent_id == phase.id]


@pytest.mark.parametrize("plan", list(PROMPTS))
def test_the_project_file_keeps_the_schemas_order(mpxj, plan):
    assert mpxj[plan]["order_problems"] == []


@pytest.mark.parametrize("plan", list(PROMPTS))
def test_ms_projects_scheduler_gives_the_files_dates_and_critical_path(plans, mpxj, plan):
    written, again = mpxj[plan]["tasks"], mpxj[plan]["rescheduled"]
    facts = [(t.wbs, t.start, t.finish, t.late_start, t.late_finish, t.critical) for t in written]
    assert [(t.wbs, t.start, t.finish, t.late_start, t.late_finish, t.critical) for t in again] == facts
    # The schedule's own critical path is one chain of the tasks MS Project calls critical.
    critical = {t.wbs for t in again if t.critical}
    assert set(schedule_of(plans[plan]).critical_path) <= critical


# -- iCalendar -------------------------------------------------------------------------------
@pytest.mark.parametrize("plan", list(PROMPTS))
def test_the_calendar_has_one_event_per_milestone_and_work_package_on_the_plans_dates(plans, plan):
    schedule = schedule_of(plans[plan])
    calendar = Calendar.from_ical(export_file(plans[plan], CalendarExport).read_bytes())
    events = calendar.walk("VEVENT")
    parents = {t.parent_id for t in schedule.tasks}
    packages = [t for t in schedule.tasks if t.level == 2]
    phases = [t for t in schedule.tasks if t.parent_id is None and t.id in parents]
    assert len(events) == len(packages) + len(phases)
    assert len({str(e["UID"]) for e in events}) == len(events)
    title = str(calendar["X-WR-CALNAME"])
    assert title.startswith("Project plan")
    got = {str(e["SUMMARY"]): (e.decoded("DTSTART"), e.decoded("DTEND"), str(e["DESCRIPTION"])) for e in events}
    for package in packages:
        start, end, about = got[f"{package.id} {package.title}"]
        assert (start, end) == (package.start, package.end)
        assert title in about and f"070-report.html#{Schedule.section.key}" in about
    for phase in phases:
        start, end, _ = got[f"Milestone: {phase.title} complete"]
        assert (start, end) == (phase.end - datetime.timedelta(days=1), phase.end)


# -- PDF -------------------------------------------------------------------------------------
def need_poppler() -> None:
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext")):
        pytest.skip("poppler-utils is not installed (apt-get install poppler-utils; .ci/run installs it)")


@pytest.fixture(scope="module")
def pdf_pages(whole_plan, tmp_path_factory) -> list[Path]:
    """Every page of the PDF at 24 dots per inch, rendered by poppler."""
    need_poppler()
    out = tmp_path_factory.mktemp("pages")
    subprocess.run(["pdftoppm", "-r", "24", "-png", str(export_file(whole_plan, PDFExport)), str(out / "page")],
                   check=True, capture_output=True)
    return sorted(out.glob("page-*.png"))


def test_the_pdf_renders_every_page_and_holds_every_section_title(whole_plan, pdf_pages):
    pdf = export_file(whole_plan, PDFExport)
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert len(pdf_pages) == pages and 10 < pages <= MAX_PAGES
    text = " ".join(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                                   text=True).stdout.split())
    titles = [s.title for s in report_sections()] + ["Contents"]
    assert [t for t in titles if t not in text] == []


def page_texts(pdf: Path) -> list[str]:
    """Each page's text, by pdftotext (pages end in a form feed)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def test_the_contents_give_each_sections_page_and_link_to_it_and_every_page_its_number(whole_plan, pdf_pages):
    pdf = export_file(whole_plan, PDFExport)
    pages = page_texts(pdf)
    contents = next(i for i, page in enumerate(pages) if "Contents" in page.split())
    named = {}
    for section in report_sections():
        entry = re.search(rf"\d+\.\s+{re.escape(section.title)}\s+(\d+)\s*$", pages[contents], re.M)
        assert entry, f"the contents do not list {section.title}"
        named[section.title] = int(entry[1])
        assert section.title in pages[named[section.title] - 1], f"{section.title} is not on page {entry[1]}"
    assert [n for n, page in enumerate(pages, 1) if f"Page {n} of {len(pages)}" not in page] == []
    document = pikepdf.open(pdf)
    targets = {pikepdf.Page(link.Dest[0]).index + 1 for link in document.pages[contents].obj.Annots if "/Dest" in link}
    assert targets == {1, *named.values()}  # the overview's entry links to the first page
    outline = [item.title for item in document.open_outline().root[0].children]
    assert [s.title for s in report_sections()] == [t for t in outline if t not in ("The idea", "Contents")]


def test_nothing_on_a_pdf_page_reaches_past_its_side_margins_and_the_chart_turns_its_page(whole_plan, pdf_pages):
    margin_mm, dots_per_mm = 15, 24 / 25.4
    for path in pdf_pages:
        page = Image.open(path).convert("L")
        margin = int(margin_mm * dots_per_mm) - 1
        for strip in ((0, 0, margin, page.height), (page.width - margin, 0, page.width, page.height)):
            assert page.crop(strip).getextrema()[0] > 200, f"ink in the side margin of {path.name}"
    pdf = export_file(whole_plan, PDFExport)
    chart_page = next(n for n in range(1, len(pdf_pages) + 1) if CHART_SUMMARY in subprocess.run(
        ["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"], check=True, capture_output=True, text=True).stdout)
    page = Image.open(pdf_pages[chart_page - 1])
    turned = "page: chart;" in print_page((whole_plan / "070-report.html").read_text(encoding="utf-8"))
    assert turned, "a fast plan's chart is wide: its page turns"
    assert page.width > page.height and Image.open(pdf_pages[0]).width < Image.open(pdf_pages[0]).height


# -- Word ------------------------------------------------------------------------------------
def test_the_word_file_has_the_reports_headings_in_order_its_tables_and_the_gantt_chart(whole_plan):
    markdown = (whole_plan / "070-plan.md").read_text(encoding="utf-8")
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    headings = [(int(t.tag[1]), tokens[i + 1].content) for i, t in enumerate(tokens) if t.type == "heading_open"]
    tables = [i for i, t in enumerate(tokens) if t.type == "table_open"]
    document = Document(str(export_file(whole_plan, WordExport)))
    styled = [(p.style.name, p.text) for p in document.paragraphs if p.style.name == "Title"
              or p.style.name.startswith("Heading")]
    assert styled == [("Title" if level == 1 else f"Heading {level - 1}", text) for level, text in headings]
    assert len(document.tables) == len(tables) > 5
    first_header = [tokens[j].content for j in range(tables[0], len(tokens)) if tokens[j].type == "inline"][:2]
    assert [c.text for c in document.tables[0].rows[0].cells][:2] == first_header
    assert len(document.inline_shapes) == 1, "the Gantt chart"
    assert document.core_properties.title.startswith("Project plan")
