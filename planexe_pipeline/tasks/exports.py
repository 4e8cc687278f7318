"""Exports: the plan as an MS Project file, a calendar, a PDF and a Word file (export/).

One task per format, all numbered after the report (the export step), each reading the
smallest files that carry what it writes: the project file and the calendar read the schedule,
so they run as soon as it exists, long before the plan ends; the PDF and the Word file join the
sections' printed parts (tasks/print_parts.py) under a front of their own, beside the report, not
after it. FullPlan requires them and nothing else does, so no stage waits for an export. A format left out of [export] formats, or whose libraries are not
installed (the `export` extra), is done without a file: the run says so in one line, and
`planexe-pipeline export` writes it later.
"""

from __future__ import annotations

from typing import Any, ClassVar

from planexe_pipeline.export.formats import FORMATS, ExportFormat
from planexe_pipeline.report import assemble
from planexe_pipeline.report.assemble import report_title
from planexe_pipeline.report.html import ReportSection, render_report_html
from planexe_pipeline.report.sections import Section
from planexe_pipeline.settings import export
from planexe_pipeline.stages.identify_purpose import PlanPurpose
from planexe_pipeline.stages.schedule import DatedSchedule
from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.print_parts import EXPORT_NUMBER, TITLE, part_tasks
from planexe_pipeline.tasks.report import Report
from planexe_pipeline.tasks.setup import IDEA, Setup
from planexe_pipeline.tasks.wbs import Schedule
from planexe_pipeline.telemetry.plan_authors import read_plan_authors

__all__ = ["ExportTask", "MSProjectExport", "CalendarExport", "PDFExport", "WordExport", "EXPORT_NUMBER", "EXPORTS"]

SCHEDULE = Input(Schedule, "the dated tasks and their links")
# Each format's task, by format name, in the order of FORMATS: filled as the tasks are defined.
EXPORTS: dict[str, type["ExportTask"]] = {}


class ExportTask(PlanTask):
    """Writes one format's file from the plan's own files; its `format` gives the file's name."""

    format: ClassVar[ExportFormat]
    step: ClassVar[str] = "Export"  # the formats are one step of the plan: they share its number

    def __init_subclass__(cls, **kwargs):
        if "format" in vars(cls):
            cls.number = EXPORT_NUMBER
            cls.files = {cls.format.suffix: cls.format.file_name(EXPORT_NUMBER)}
            EXPORTS[cls.format.name] = cls
        super().__init_subclass__(**kwargs)

    binary = True

    @classmethod
    def in_this_run(cls) -> bool:
        # A format this run does not write is no step of its plan: done, without a file, so
        # FullPlan runs; the run's closing lines say which extra it lacks.
        return export().writes(cls.format)

    def arguments(self) -> dict[str, Any]:
        """The keywords of the format's write(), read from this task's inputs."""
        raise NotImplementedError

    def title(self) -> str:
        return report_title(self.read("purpose", PlanPurpose).topic)

    def run(self):
        data = self.format.writer().write(**self.arguments())
        # Written whole or not at all, as every output; `planexe-pipeline export` writes over an older one.
        with self.output()[self.format.suffix].open("w") as out:
            out.write(data)


class MSProjectExport(ExportTask):
    format = FORMATS["mspdi"]
    inputs = {"schedule": SCHEDULE, "purpose": TITLE}

    def arguments(self):
        return {"schedule": self.read("schedule", DatedSchedule), "title": self.title()}


class CalendarExport(ExportTask):
    format = FORMATS["ics"]
    inputs = {"schedule": SCHEDULE, "purpose": TITLE,
              "fingerprint": Input(Setup, "what tells this plan's events from another's", output="fingerprint")}

    def arguments(self):
        fingerprint = self.read("fingerprint", dict)
        return {"schedule": self.read("schedule", DatedSchedule), "title": self.title(),
                "plan_id": f"{fingerprint['prompt_sha256'][:16]}-{fingerprint.get('start_date', '')}",
                "section_link": f"{Report.files['html']}#{Schedule.section.key}"}


class PrintedExport(ExportTask):
    """A format joined from the sections' parts (tasks/print_parts.py) and a front of its own: the
    title, the idea, the plan's facts and the models that wrote it (read from the telemetry, as
    the report reads them: every answer is in once every part is), and the contents."""

    resources = {"print": 1}  # as the parts (tasks/print_parts.py)
    process_kind: ClassVar[str] = "print"  # where the parts were printed: its libraries loaded

    @classmethod
    def declared_inputs(cls) -> dict[str, Input]:
        return {"setup": IDEA, "purpose": TITLE, "schedule": SCHEDULE,
                **{f"printed-{part.section_task.section.key}": Input(part, f"the printed section '{part.section_task.section.title}'")
                   for part in part_tasks(cls.format.name)}}

    def printed(self) -> list[tuple[Section, bytes]]:
        """Each section and its part, in reading order."""
        return [(part.section_task.section, self.io.read_bytes(self.input()[f"printed-{part.section_task.section.key}"][
            self.format.name])) for part in part_tasks(self.format.name)]


class PDFExport(PrintedExport):
    format = FORMATS["pdf"]

    def arguments(self):
        authors = read_plan_authors(self.run_dir)
        printed = self.printed()
        # The report page with every section's title and none of its text: its header, idea and contents.
        front = render_report_html(title=self.title(), prompt=self.read("setup").strip(), wbs=[], gantt=None,
                                   sections=[ReportSection(key=s.key, title=s.title, markdown="") for s, _ in printed],
                                   meta=assemble.report_meta(self.read("schedule", DatedSchedule), authors),
                                   notice=assemble.notice(authors))
        return {"front_html": front, "parts": [self.format.writer().PrintedPart(s.key, data) for s, data in printed]}


class WordExport(PrintedExport):
    format = FORMATS["docx"]

    def arguments(self):
        title, printed = self.title(), self.printed()
        front = assemble.plan_front(title, self.read("setup"), [s.title for s, _ in printed], read_plan_authors(self.run_dir))
        return {"front_markdown": front, "parts": [data for _, data in printed], "title": title,
                "first_day": self.read("schedule", DatedSchedule).start_date}


if list(EXPORTS) != list(FORMATS):
    raise TypeError(f"every export format needs one task, in FORMATS' order: tasks for {list(EXPORTS)}, "
                    f"formats {list(FORMATS)}")
