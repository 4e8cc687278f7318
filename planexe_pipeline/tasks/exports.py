"""Exports: the plan as an MS Project file, a calendar, a PDF and a Word file (export/).

One task per format, all numbered after the report (the export step), each reading the
smallest files that carry what it writes: the project file and the calendar read the schedule,
so they run as soon as it exists, long before the plan ends; the PDF reads the HTML report and
the Word file the plan's markdown. FullPlan requires them and nothing else does, so no stage
waits for an export. A format left out of [export] formats, or whose libraries are not
installed (the `export` extra), is done without a file: the run says so in one line, and
`planexe-pipeline export` writes it later.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import luigi

from planexe_pipeline.export.formats import FORMATS, ExportFormat
from planexe_pipeline.report.assemble import gantt_chart, report_title
from planexe_pipeline.settings import export
from planexe_pipeline.stages.identify_purpose import PlanPurpose
from planexe_pipeline.stages.schedule import DatedSchedule
from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.framing import IdentifyPurpose
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.report import Report
from planexe_pipeline.tasks.setup import Setup
from planexe_pipeline.tasks.wbs import Schedule

__all__ = ["ExportTask", "MSProjectExport", "CalendarExport", "PDFExport", "WordExport", "EXPORT_NUMBER", "EXPORTS"]

EXPORT_NUMBER = Report.number + 1  # the step after the report, whose files the PDF and Word read
SCHEDULE = Input(Schedule, "the dated tasks and their links")
TITLE = Input(IdentifyPurpose, "the plan's title, as the report gives it")
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

    @classmethod
    def in_this_run(cls) -> bool:
        """Whether this run writes the format: chosen in [export] formats, its libraries installed."""
        return cls.format in export().chosen() and not cls.format.missing()

    def written(self) -> bool:
        return self.in_this_run()

    def complete(self) -> bool:
        # A format this run does not write is no step of its plan: done, without a file, so
        # FullPlan runs; the run's closing lines say which extra it lacks.
        return super().complete() if self.written() else True

    def arguments(self) -> dict[str, Any]:
        """The keywords of the format's write(), read from this task's inputs."""
        raise NotImplementedError

    def title(self) -> str:
        return report_title(self.read("purpose", PlanPurpose).topic)

    def target(self, name: str) -> luigi.LocalTarget:
        return luigi.LocalTarget(os.path.join(self.run_dir, name), format=luigi.format.Nop)  # bytes

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


class PDFExport(ExportTask):
    format = FORMATS["pdf"]
    inputs = {"report": Input(Report, "the report's page, to paginate", output="html")}

    def arguments(self):
        return {"report_html": self.read("report")}


class WordExport(ExportTask):
    format = FORMATS["docx"]
    inputs = {"plan": Input(Report, "the plan as markdown: headings, paragraphs, lists, tables", output="md"),
              "schedule": Input(Schedule, "the Gantt chart's bars"), "purpose": TITLE}

    def arguments(self):
        schedule = self.read("schedule", DatedSchedule)
        return {"plan_markdown": self.read("plan"), "title": self.title(), "gantt": gantt_chart(schedule),
                "gantt_after": Schedule.section.title, "first_day": schedule.start_date}


if list(EXPORTS) != list(FORMATS):
    raise TypeError(f"every export format needs one task, in FORMATS' order: tasks for {list(EXPORTS)}, "
                    f"formats {list(FORMATS)}")
