"""Report: every section's markdown assembled into 070-plan.md and the HTML page.

The sections are the tasks that declare one (`section = Section(...)`), wherever they are
defined, ordered by their declared position: a new stage with a section joins the report by
itself.
"""

from __future__ import annotations

from planexe_pipeline.report import assemble
from planexe_pipeline.report.html import render_report_html
from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages.identify_purpose import PlanPurpose
from planexe_pipeline.stages.schedule import DatedSchedule
from planexe_pipeline.stages.wbs import WBSProject
from planexe_pipeline.stages.markdown import with_revision
from planexe_pipeline.tasks import run_io
from planexe_pipeline.tasks.base import PLAN_TASKS, LLMTask, PlanTask
from planexe_pipeline.tasks.fanout import FanOutMerge
from planexe_pipeline.tasks.graph import stage_node
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.setup import IDEA
from planexe_pipeline.telemetry.plan_authors import read_plan_authors

__all__ = ["Report"]


def section_tasks() -> tuple[type[PlanTask], ...]:
    """The tasks whose markdown is a section of the report, in reading order."""
    return tuple(sorted((task for task in PLAN_TASKS.values() if vars(task).get("section")),
                        key=lambda task: task.section.position))


def report_sections() -> tuple[Section, ...]:
    return tuple(task.section for task in section_tasks())


def section_revisions(task: type[PlanTask], run_dir: str) -> list[str]:
    """What a person did to a section: to its task, its fan-out's items, or a step it is written
    from that has no section of its own (the chosen scenario of the scenarios' section)."""
    def with_items(cls: type[PlanTask]) -> list[type[PlanTask]]:
        return [cls, cls.item_task] if issubclass(cls, FanOutMerge) else [cls]

    feeding = [e.spec.task for e in stage_node(task).edges if e.spec is not None and not vars(e.spec.task).get("section")
               and issubclass(e.spec.task, (LLMTask, FanOutMerge))]
    classes = dict.fromkeys(cls for source in (task, *feeding) for cls in with_items(source))
    return [line for cls in classes for line in run_io.revisions(cls, run_dir)]


class Report(PlanTask):
    number = 70
    files = {"md": "070-plan.md", "html": "070-report.html"}

    @classmethod
    def declared_inputs(cls) -> dict[str, Input]:
        return {"setup": IDEA, **{task.section.key: Input(task, f"the section '{task.section.title}'")
                                    for task in section_tasks()}}

    def run(self):
        sections = report_sections()
        prompt = self.read("setup")
        texts = {task.section.key: with_revision(self.read(task.section.key), section_revisions(task, self.run_dir))
                 for task in section_tasks()}
        # The sections the page draws from models of their own; their tasks declare these keys.
        title = assemble.report_title(self.read("purpose", PlanPurpose).topic)
        schedule = self.read("schedule-table", DatedSchedule)
        # Every answer is in by now: the telemetry names the models that wrote them.
        authors = read_plan_authors(self.run_dir)
        self.write_text("md", assemble.plan_markdown(title, prompt, assemble.report_sections(sections, texts), authors))
        self.write_text("html", render_report_html(
            title=title, prompt=prompt.strip(),
            sections=assemble.report_sections(sections, texts, for_html=True),
            wbs=assemble.wbs_tree(self.read("wbs", WBSProject)), gantt=assemble.gantt_chart(schedule),
            links=assemble.report_links(self.files["md"]), meta=assemble.report_meta(schedule, authors),
            notice=assemble.notice(authors)))
