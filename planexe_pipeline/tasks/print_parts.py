"""PrintPart: a report section printed for the PDF and the Word file as soon as its stage is done.

Printing the whole report once it is written took seconds after the plan's last step. Printed a
section at a time, the printing runs beside the plan, and what is left once the last section is
in is the front page, the contents and the joining (tasks/exports.py): the PDF and the Word file
are ready beside the report. One task per report section and format, declared from the section
list as the report's inputs are; the parts go to `071-print/`, out of the way of the plan's own
files, each with its record, so a revised section prints its own parts again and nothing else.
"""

from __future__ import annotations

from functools import cache
from typing import ClassVar

from planexe_pipeline.export.formats import FORMATS
from planexe_pipeline.report import assemble
from planexe_pipeline.report.html import render_report_html
from planexe_pipeline.stages.identify_purpose import PlanPurpose
from planexe_pipeline.stages.markdown import with_revision
from planexe_pipeline.stages.schedule import DatedSchedule
from planexe_pipeline.stages.wbs import WBSProject
from planexe_pipeline.settings import export
from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.framing import IdentifyPurpose
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.report import Report, section_revisions, section_tasks

__all__ = ["PrintPart", "part_tasks", "EXPORT_NUMBER", "TITLE"]

EXPORT_NUMBER = Report.number + 1  # the step after the report: the exports and their parts share it
PARTS_FOLDER = f"{EXPORT_NUMBER:03d}-print"
PRINTED = ("pdf", "docx")  # the formats printed a section at a time, each part a task of its own
TITLE = Input(IdentifyPurpose, "the plan's title, as the report gives it")


class PrintPart(PlanTask):
    """One section printed in one format: its pages for the PDF, its body for the Word file."""

    section_task: ClassVar[type[PlanTask]]
    format_name: ClassVar[str]  # "pdf" or "docx": a format of export/formats.py printed a section at a time
    suffix: ClassVar[str]
    step: ClassVar[str] = "Export"  # one step of the plan with the formats: they share its number
    # [resources] print: printing is CPU-bound; parts take turns, about as many at once as there are
    # cores, and one waiting its turn holds no worker.
    resources = {"print": 1}
    process_kind: ClassVar[str] = "print"  # handed to a process that printed before (worker_pool.py)

    def __init_subclass__(cls, **kwargs):
        key = cls.section_task.section.key if "section_task" in vars(cls) else None
        if key:  # its record is records/071-print/<key>-<format>.json, beside its file
            cls.number, cls.stem = EXPORT_NUMBER, f"print/{key}-{cls.format_name}"
        super().__init_subclass__(**kwargs)
        if key:
            cls.files = {cls.format_name: f"{PARTS_FOLDER}/{key}.{cls.suffix}"}

    @classmethod
    def declared_inputs(cls) -> dict[str, Input]:
        section = cls.section_task.section
        inputs = {"section": Input(cls.section_task, f"the section '{section.title}', as the report shows it")}
        if cls.format_name == "pdf":  # the running header; the Word file's title is its front's
            inputs["purpose"] = TITLE
            if section.page_part == "gantt":  # the line above the chart counts what it leaves to the table
                wbs = next(task for task in section_tasks() if task.section.page_part == "wbs")
                inputs["wbs"] = Input(wbs, "the work breakdown's levels, counted above the chart")
        return inputs

    binary = True

    @classmethod
    def in_this_run(cls) -> bool:
        return export().writes(FORMATS[cls.format_name])  # no part of a format the run does not write

    @property
    def priority(self) -> int:  # type: ignore[override]
        # Of the parts ready at once, the longest first: the schedule's chart and table, then the
        # work breakdown's tree, then the other PDF parts, then the Word bodies (a tenth as long).
        # Below every LLM call's priority (its remaining path, in seconds), so it lifts no call.
        return {"gantt": 3, "wbs": 2}.get(self.section_task.section.page_part, 1) if self.format_name == "pdf" \
            else 1 if self.section_task.section.page_part == "gantt" else 0

    def run(self):
        """The part, written whole or not at all (`planexe-pipeline export` calls it for a format the
        run did not write)."""
        task = self.section_task
        section = task.section
        text = with_revision(self.read("section"), section_revisions(task, self.run_dir))
        printer = FORMATS[self.format_name].writer()
        if self.format_name == "pdf":
            title = assemble.report_title(self.read("purpose", PlanPurpose).topic)
            wbs, gantt = self.page_part_models()
            page = render_report_html(title=title, prompt="", wbs=wbs, gantt=gantt,
                                      sections=assemble.report_sections([section], {section.key: text}, for_html=True))
            data = printer.print_part(page, title=title)
        else:
            markdown = assemble.report_sections([section], {section.key: text})[0].markdown
            schedule = self.read("section", DatedSchedule) if section.page_part == "gantt" else None
            data = printer.print_part(f"## {section.title}\n\n{markdown}",
                                      gantt=assemble.gantt_chart(schedule) if schedule else None)
        with self.output()[self.format_name].open("w") as out:
            out.write(data)

    def page_part_models(self):
        """What the page draws itself in this section: the work breakdown's tree, the chart."""
        part = self.section_task.section.page_part
        if part == "wbs":
            return assemble.wbs_tree(self.read("section", WBSProject)), None
        if part == "gantt":
            return assemble.wbs_tree(self.read("wbs", WBSProject)), assemble.gantt_chart(self.read("section", DatedSchedule))
        return [], None


SUFFIXES = {"pdf": "pdf", "docx": "word.json"}  # a Word part is its body's XML and what it refers to


@cache
def part_tasks(format_name: str) -> tuple[type[PrintPart], ...]:
    """The parts of one format, one per report section in reading order (`PDFPartSchedule`,
    `WordPartSchedule`). Made when first asked (the graph's build), once every stage has
    registered its section."""
    prefix = {"pdf": "PDFPart", "docx": "WordPart"}[format_name]
    return tuple(type(f"{prefix}{task.__name__}", (PrintPart,),
                      {"section_task": task, "format_name": format_name, "suffix": SUFFIXES[format_name],
                       "__module__": __name__, "__doc__": f"The section '{task.section.title}' printed for the "
                                                          f"{FORMATS[format_name].label} file."})
                 for task in section_tasks())
