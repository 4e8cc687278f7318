"""ExecutiveSummary: the one page a decision maker reads instead of the whole plan.

It sees every finished part of the plan, each through the smallest artifact that carries what a
summary says of it: the governance bodies (who decides), the documents kept for drafting (not
the drafts), and the timeline as a digest our code dates from the level-2 tasks, their
estimates and their dependencies (start, finish, phases, critical path). The subtasks of level 3
split each task's estimate without moving it, so the summary need not wait for them.
"""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import bullets, condensed_user_prompt, document, heading, one_line, table
from planexe_pipeline.stages.durations import DurationEstimatesAnswer
from planexe_pipeline.stages.schedule import DatedSchedule
from planexe_pipeline.stages.task_dependencies import TaskDependenciesAnswer
from planexe_pipeline.stages.wbs import WBSProject, first_day, plan_schedule
from planexe_pipeline.stages.wbs_level3 import build_project123


class RiskLine(BaseModel):
    risk: str = Field(description="The risk in one sentence.")
    mitigation: str = Field(description="What the plan does about it, in one sentence.")


class ExecutiveSummaryResult(BaseModel):
    headline_title: str = Field(description="The project in under twelve words.")
    overview_summary: str = Field(description="Three or four sentences: what will be done, for whom, why it matters.")
    objectives: list[str] = Field(description="Three to five measurable objectives.",
                                  json_schema_extra=bounded(5, chars=200, soft=True))
    key_deliverables: list[str] = Field(description="The three to six main things the project delivers.",
                                        json_schema_extra=bounded(6, chars=200, soft=True))
    timeline_summary: str = Field(description="Start, finish and the phases that set the pace, in two sentences.")
    budget_and_resources: str = Field(description="Money, people and assets needed, with figures the plan gives.")
    top_risks: list[RiskLine] = Field(description="The three to five risks that matter most, each with its mitigation.",
                                      json_schema_extra=bounded(5, soft=True))
    governance_and_team: str = Field(description="Who decides, who does the work, in two sentences.")
    decision: Literal["proceed", "proceed with conditions", "revise before proceeding"] = Field(
        description="The recommendation to the sponsor.")
    decision_rationale: str = Field(description="Why that recommendation, naming any conditions.")
    next_steps: list[str] = Field(description="Three to five actions for the next 30 days, each with an owner role.",
                                  json_schema_extra=bounded(5, chars=200, soft=True))


SYSTEM_PROMPT = """You write the executive summary of a complete project plan for a busy sponsor.
It must fit on one page: short sentences, concrete figures and dates taken from the plan, no
background the sponsor already knows. State the objectives, deliverables, timeline, resources,
the risks that matter most and how they are handled, then give a clear recommendation
(proceed, proceed with conditions, or revise) and the next steps. Invent no facts."""


def schedule_digest(schedule: DatedSchedule) -> str:
    """Start, finish, the top-level phases with their dates, and the critical path."""
    # Schedule ends are exclusive; people read the last day a task runs.
    def last_day(end: datetime.date, start: datetime.date) -> str:
        return max(start, end - datetime.timedelta(days=1)).isoformat()

    days = (schedule.end_date - schedule.start_date).days
    lines = [f"Start {schedule.start_date.isoformat()}, last day {last_day(schedule.end_date, schedule.start_date)} "
             f"({days} calendar days)."]
    for task in schedule.tasks:
        if task.parent_id is None:
            lines.append(f"- {task.id} {one_line(task.title)}: {task.start.isoformat()} to "
                         f"{last_day(task.end, task.start)} ({task.duration_days} days)"
                         f"{', on the critical path' if task.critical else ''}")
    titles = {t.id: one_line(t.title) for t in schedule.tasks}
    if schedule.critical_path:
        lines.append("Critical path: " + " -> ".join(f"{tid} {titles.get(tid, '')}".strip()
                                                      for tid in schedule.critical_path))
    return "\n".join(lines)


def level2_schedule(project: WBSProject, durations: DurationEstimatesAnswer, dependencies: TaskDependenciesAnswer,
                    fingerprint: dict) -> DatedSchedule:
    """The plan's dates down to its level-2 tasks, each as long as its estimate."""
    tree = build_project123(project, durations, [])
    return plan_schedule(tree, dependencies.edges(), first_day(fingerprint))


def execute(llm: LLMExecutor, *, plan: str, project_plan: str, assumptions: str, governance_bodies: str, team: str,
            expert_review: str, documents_to_find: str, documents_to_create: str, project: WBSProject,
            durations: DurationEstimatesAnswer, dependencies: TaskDependenciesAnswer, fingerprint: dict, pitch: str,
            review: str) -> ExecutiveSummaryResult:
    schedule = level2_schedule(project, durations, dependencies, fingerprint)
    user = condensed_user_prompt(plan=plan, project_plan=project_plan, assumptions=assumptions,
                             governance_bodies=governance_bodies, team=team, expert_review=expert_review,
                             documents_to_find=documents_to_find, documents_to_create=documents_to_create,
                             pitch=pitch, plan_review=review, tail={"schedule": schedule_digest(schedule)})
    return llm.structured(ExecutiveSummaryResult, SYSTEM_PROMPT, user)


def to_markdown(summary: ExecutiveSummaryResult) -> str:
    return document(
        "Executive summary",
        f"**{one_line(summary.headline_title)}**",
        one_line(summary.overview_summary),
        heading("Objectives", 3),
        bullets(summary.objectives),
        heading("Key deliverables", 3),
        bullets(summary.key_deliverables),
        heading("Timeline", 3),
        one_line(summary.timeline_summary),
        heading("Budget and resources", 3),
        one_line(summary.budget_and_resources),
        heading("Top risks", 3),
        table(["Risk", "Mitigation"], [[r.risk, r.mitigation] for r in summary.top_risks]),
        heading("Governance and team", 3),
        one_line(summary.governance_and_team),
        heading("Recommendation", 3),
        f"**{summary.decision.capitalize()}.** {one_line(summary.decision_rationale)}",
        heading("Next steps", 3),
        bullets(summary.next_steps),
    )
