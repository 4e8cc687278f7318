"""SelfAudit: the finished plan checked for the flaws generated plans are known for.

The checklist is ours and fixed, so the fan-out is static and every plan is audited on the same
ground: one call per check, all at the same time, each reading only the sections its check is
about, and answering with a finding and the evidence quoted from the plan. The merge keeps the
checklist's order.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.durations import DurationEstimatesAnswer
from planexe_pipeline.stages.executive_summary import level2_schedule, schedule_digest
from planexe_pipeline.stages.markdown import bullets, condensed_user_prompt, document, heading, one_line, table
from planexe_pipeline.stages.task_dependencies import TaskDependenciesAnswer
from planexe_pipeline.stages.wbs import WBSProject

Finding = Literal["no problem", "minor problem", "serious problem"]


# What a check may read beside the prompt; "schedule" is the plan's dates, as a digest.
SECTIONS = ("project_plan", "schedule", "assumptions", "team")


class AuditCheck(BaseModel):
    id: str = Field(description="Our id of the check, A-1.., in checklist order.")
    flaw: str = Field(description="The flaw looked for, in a few words.")
    question: str = Field(description="The question put to the plan.")
    # The sections the check reads beside the prompt, of SECTIONS.
    reads: tuple[str, ...]


def _checklist(*checks: tuple[str, str, tuple[str, ...]]) -> tuple[AuditCheck, ...]:
    return tuple(AuditCheck(id=f"A-{i}", flaw=flaw, question=question, reads=reads)
                 for i, (flaw, question, reads) in enumerate(checks, 1))


CHECKLIST: tuple[AuditCheck, ...] = _checklist(
    ("Numbers that do not add up",
     "Do the plan's figures agree with each other: budget lines and their total, durations and the schedule's "
     "dates, quantities and the capacity they need?", ("project_plan", "schedule", "assumptions")),
    ("Deadlines the schedule ignores",
     "Does the schedule meet every deadline and date that the prompt and the plan state?",
     ("project_plan", "schedule")),
    ("Risks without owners",
     "Does every serious risk have a role of the team that owns it and a concrete response?",
     ("assumptions", "team")),
    ("Boilerplate instead of specifics",
     "Which parts are generic text that would fit any project, instead of this project's own places, figures, "
     "names and dates?", ("project_plan", "team")),
    ("Work nobody does",
     "Does every phase and deliverable have a role of the team that does it, and does the team have the skills "
     "the work needs?", ("project_plan", "schedule", "team")),
    ("Assumptions presented as facts",
     "Which figures and claims does the plan treat as settled although nothing supports or tests them?",
     ("project_plan", "assumptions")),
    ("Prerequisites without time",
     "Which permits, approvals, funding or contracts must exist before the work starts, and does the schedule "
     "leave time to obtain each?", ("schedule", "assumptions")),
    ("Success that cannot be measured",
     "Are the goal and the success metrics measurable, each with a target, a unit and a date?", ("project_plan",)),
)


class AuditAnswer(BaseModel):
    finding: Finding = Field(description="serious problem: the plan cannot be trusted on this point until it is fixed.")
    evidence: list[str] = Field(description="One to five short quotes or ids from the plan that show the finding.",
                                json_schema_extra=bounded(5, chars=240, soft=True))
    explanation: str = Field(description="Two or three sentences: what is wrong, or why nothing is.")
    fix: str = Field(description="The change that would fix it, in one sentence; empty when nothing is wrong.",
                     json_schema_extra=bounded(chars=240))


class AuditItem(BaseModel):
    """One check as answered: the check is ours, the answer the model's."""

    id: str
    flaw: str
    question: str
    answer: AuditAnswer


class SelfAuditResult(BaseModel):
    items: list[AuditItem] = Field(default_factory=list, description="The checks in checklist order.")


SYSTEM_PROMPT = """You audit a finished project plan for one flaw that generated plans are known for.
Answer the check's question for this plan only, from the sections given. Quote the plan's own
words or ids as evidence; a finding without evidence is worthless. Call it a serious problem
only when the plan cannot be trusted on this point until it is fixed, and say what would fix it."""


def execute(llm: LLMExecutor, check: AuditCheck, *, plan: str, project_plan: str, project: WBSProject,
            durations: DurationEstimatesAnswer, dependencies: TaskDependenciesAnswer, fingerprint: dict,
            assumptions: str, team: str) -> AuditItem:
    sections = {"project_plan": project_plan, "assumptions": assumptions, "team": team}
    tail = ({"schedule": schedule_digest(level2_schedule(project, durations, dependencies, fingerprint))}
            if "schedule" in check.reads else {})
    user = condensed_user_prompt(plan=plan, **{name: text for name, text in sections.items() if name in check.reads},
                             tail={**tail, "check": f"{check.flaw}: {check.question}"})
    answer = llm.structured(AuditAnswer, SYSTEM_PROMPT, user)
    return AuditItem(id=check.id, flaw=check.flaw, question=check.question, answer=answer)


def merge(items: list[AuditItem]) -> SelfAuditResult:
    """The checks in the order given (the fan-out's index order): never re-sorted."""
    return SelfAuditResult(items=list(items))


def to_markdown(result: SelfAuditResult) -> str:
    if not result.items:
        return document("Self-audit", "_No check was answered._")
    blocks = [table(["Check", "Flaw", "Finding"], [[i.id, i.flaw, i.answer.finding] for i in result.items])]
    for item in result.items:
        blocks += [heading(f"{item.id} {item.flaw}: {item.answer.finding}", 3), f"_{one_line(item.question)}_",
                   one_line(item.answer.explanation), "**Evidence**\n\n" + bullets(item.answer.evidence)]
        if one_line(item.answer.fix):
            blocks.append(f"**Fix:** {one_line(item.answer.fix)}")
    return document("Self-audit", *blocks)
