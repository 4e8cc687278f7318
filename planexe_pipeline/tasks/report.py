"""Report: every section's markdown assembled into 060-plan.md and the HTML page."""

from __future__ import annotations

from planexe_pipeline.report import assemble
from planexe_pipeline.report.html import render_report_html
from planexe_pipeline.stages.identify_purpose import PlanPurpose
from planexe_pipeline.stages.schedule import Schedule as ScheduleModel
from planexe_pipeline.stages.wbs import WBSProject
from planexe_pipeline.tasks.assumptions import ConsolidateAssumptions
from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.context import DataCollection
from planexe_pipeline.tasks.documents import DocumentsMarkdown
from planexe_pipeline.tasks.experts import ExpertReview, SWOTAnalysis
from planexe_pipeline.tasks.framing import IdentifyPurpose, ScenariosMarkdown, StrategicDecisionsMarkdown
from planexe_pipeline.tasks.governance import ConsolidateGovernance
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import Setup
from planexe_pipeline.tasks.synthesis import (ExecutiveSummary, PitchMarkdown, PlanReview, Premortem,
                                              QuestionsAnswers)
from planexe_pipeline.tasks.team import TeamMarkdown
from planexe_pipeline.tasks.wbs import Schedule, WBSProject123

__all__ = ["Report"]

# Section key (assemble.REPORT_SECTIONS) -> the task whose markdown is that section.
SECTION_TASKS = {
    "executive-summary": ExecutiveSummary,
    "pitch": PitchMarkdown,
    "purpose": IdentifyPurpose,
    "project-plan": ProjectPlan,
    "strategic-decisions": StrategicDecisionsMarkdown,
    "scenarios": ScenariosMarkdown,
    "assumptions": ConsolidateAssumptions,
    "governance": ConsolidateGovernance,
    "team": TeamMarkdown,
    "swot": SWOTAnalysis,
    "expert-review": ExpertReview,
    "data-collection": DataCollection,
    "documents": DocumentsMarkdown,
    "wbs": WBSProject123,
    "schedule-table": Schedule,
    "review": PlanReview,
    "questions-answers": QuestionsAnswers,
    "premortem": Premortem,
}


class Report(PlanTask):
    group = "report"
    files = {"md": "060-plan.md", "html": "060-report.html"}

    def requires(self):
        return {"setup": self.clone(Setup), **{key: self.clone(task) for key, task in SECTION_TASKS.items()}}

    def run(self):
        prompt = self.input_text("setup", "plan")
        texts = {spec.key: self.input_text(spec.key) for spec in assemble.REPORT_SECTIONS}
        title = assemble.report_title(self.input_model("purpose", PlanPurpose).topic)
        schedule = self.input_model("schedule-table", ScheduleModel)
        self.write_text("md", assemble.plan_markdown(title, prompt, assemble.report_sections(texts)))
        self.write_text("html", render_report_html(
            title=title, prompt=prompt.strip(), sections=assemble.report_sections(texts, for_html=True),
            wbs=assemble.wbs_tree(self.input_model("wbs", WBSProject)), gantt=assemble.gantt_chart(schedule),
            links=assemble.REPORT_LINKS, meta=assemble.report_meta(schedule)))
