"""Report: every section's markdown assembled into 060-plan.md and the HTML page.

The sections are the tasks that declare one (`section = Section(...)`), in the modules below,
ordered by their declared position: a new stage with a section joins the report by itself.
"""

from __future__ import annotations

from types import ModuleType

from planexe_pipeline.report import assemble
from planexe_pipeline.report.html import render_report_html
from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages.identify_purpose import PlanPurpose
from planexe_pipeline.stages.schedule import DatedSchedule
from planexe_pipeline.stages.wbs import WBSProject
from planexe_pipeline.tasks import (assumptions, context, documents, experts, framing, governance, plan, synthesis,
                                    team, wbs)
from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.setup import Setup

__all__ = ["Report"]

STAGE_MODULES: tuple[ModuleType, ...] = (framing, assumptions, plan, governance, team, experts, context, documents,
                                         wbs, synthesis)


def section_tasks(modules: tuple[ModuleType, ...] = STAGE_MODULES) -> tuple[type[PlanTask], ...]:
    """The tasks whose markdown is a section of the report, in reading order."""
    found = {obj for module in modules for obj in vars(module).values()
             if isinstance(obj, type) and issubclass(obj, PlanTask) and vars(obj).get("section")}
    return tuple(sorted(found, key=lambda task: task.section.position))


SECTION_TASKS = section_tasks()
REPORT_SECTIONS: tuple[Section, ...] = tuple(task.section for task in SECTION_TASKS)


class Report(PlanTask):
    group = "report"
    number = 60
    files = {"md": "060-plan.md", "html": "060-report.html"}

    def requires(self):
        return {"setup": self.clone(Setup), **{task.section.key: self.clone(task) for task in SECTION_TASKS}}

    def run(self):
        prompt = self.input_text("setup", "plan")
        texts = {spec.key: self.input_text(spec.key) for spec in REPORT_SECTIONS}
        # The sections the page draws from models of their own; their tasks declare these keys.
        title = assemble.report_title(self.input_model("purpose", PlanPurpose).topic)
        schedule = self.input_model("schedule-table", DatedSchedule)
        self.write_text("md", assemble.plan_markdown(title, prompt, assemble.report_sections(REPORT_SECTIONS, texts)))
        self.write_text("html", render_report_html(
            title=title, prompt=prompt.strip(),
            sections=assemble.report_sections(REPORT_SECTIONS, texts, for_html=True),
            wbs=assemble.wbs_tree(self.input_model("wbs", WBSProject)), gantt=assemble.gantt_chart(schedule),
            links=assemble.report_links(self.files["md"]), meta=assemble.report_meta(schedule)))
