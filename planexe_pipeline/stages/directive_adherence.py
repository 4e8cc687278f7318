"""DirectiveAdherence: whether the finished plan honours each directive the user gave.

One call per directive (directives.py), all at the same time, each judging that directive
against the plan, its dates (the level-2 tasks dated, as the executive summary dates them), its
assumptions and its team, with evidence quoted from them.
The merge is our code: the directives worst first (a contradicted one at the top), and one
overall percentage, each directive weighted by its importance.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.directives import Directive, DirectiveList
from planexe_pipeline.stages.durations import DurationEstimatesAnswer
from planexe_pipeline.stages.executive_summary import level2_schedule, schedule_digest
from planexe_pipeline.stages.markdown import condensed_user_prompt, document, heading, one_line, table
from planexe_pipeline.stages.task_dependencies import TaskDependenciesAnswer
from planexe_pipeline.stages.wbs import WBSProject

Rating = Literal["fully honoured", "partially honoured", "softened", "ignored", "contradicted", "unsolicited caveat"]

# What each rating is worth toward the overall percentage, worst first: the order of the table.
RATING_SCORES: dict[str, int] = {"contradicted": 0, "ignored": 0, "softened": 25, "partially honoured": 50,
                                 "unsolicited caveat": 75, "fully honoured": 100}
IMPORTANCE_WEIGHTS: dict[str, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1}
_WORST_FIRST = list(RATING_SCORES)


class AdherenceAnswer(BaseModel):
    rating: Rating = Field(description="fully honoured: the plan does what the directive says; partially honoured: "
                                       "some of it; softened: the plan weakens it (a must becomes a should, a limit "
                                       "is relaxed); ignored: the plan never takes it up; contradicted: the plan does "
                                       "the opposite; unsolicited caveat: honoured, but hedged with a caveat the user "
                                       "did not ask for.")
    evidence: str = Field(description="Where the plan shows it: the section, and its words quoted briefly.",
                          json_schema_extra=bounded(chars=400))
    issue: str = Field(description="What the plan gets wrong about the directive, in one sentence; "
                                   "empty when it is fully honoured.", json_schema_extra=bounded(chars=240))


class DirectiveAdherenceAnswer(BaseModel):
    """One directive as judged: the directive is ours (from the list), the judgement the model's."""
    model_config = ConfigDict(title="DirectiveAdherence")  # the name models know it by

    directive: Directive
    rating: Rating
    evidence: str
    issue: str


class AdherenceReport(BaseModel):
    overall_percent: int | None = Field(description="Importance-weighted share honoured; None without directives.")
    directives: list[DirectiveAdherenceAnswer] = Field(default_factory=list, description="Worst first.")
    unchecked: list[Directive] = Field(default_factory=list,
                                       description="Directives this run did not judge (--speed fast caps the fan-out).")


SYSTEM_PROMPT = """You check whether a finished project plan honours one directive its user gave.
Read the directive, then the plan, its schedule, assumptions and team. Say whether the plan
honours it fully or partly, softens it, ignores it, contradicts it, or honours it while adding
a caveat the user did not ask for. Quote the plan's own words as evidence, naming the section
they come from, and say in one sentence what is wrong. Judge this directive only."""


def execute(llm: LLMExecutor, directive: Directive, *, plan: str, project_plan: str, project: WBSProject,
            durations: DurationEstimatesAnswer, dependencies: TaskDependenciesAnswer, fingerprint: dict,
            assumptions: str, team: str) -> DirectiveAdherenceAnswer:
    asked = f"{directive.id} ({directive.kind}, {directive.importance}): {one_line(directive.statement)}"
    schedule = schedule_digest(level2_schedule(project, durations, dependencies, fingerprint))
    user = condensed_user_prompt(plan=plan, project_plan=project_plan, assumptions=assumptions, team=team,
                             tail={"schedule": schedule, "directive": asked})
    answer = llm.structured(AdherenceAnswer, SYSTEM_PROMPT, user)
    return DirectiveAdherenceAnswer(directive=directive, **answer.model_dump())


def overall_percent(items: list[DirectiveAdherenceAnswer]) -> int | None:
    """The directives' ratings averaged, each weighted by its importance."""
    weights = [IMPORTANCE_WEIGHTS[item.directive.importance] for item in items]
    if not weights:
        return None
    return round(sum(w * RATING_SCORES[item.rating] for w, item in zip(weights, items)) / sum(weights))


def merge(items: list[DirectiveAdherenceAnswer], directives: DirectiveList) -> AdherenceReport:
    """Worst rating first; among equals, the more important directive first, then the prompt's order."""
    ranked = sorted(enumerate(items), key=lambda pair: (_WORST_FIRST.index(pair[1].rating),
                                                        -IMPORTANCE_WEIGHTS[pair[1].directive.importance], pair[0]))
    judged = {item.directive.id for item in items}
    return AdherenceReport(overall_percent=overall_percent(items), directives=[item for _, item in ranked],
                           unchecked=[d for d in directives.directives if d.id not in judged])


def to_markdown(report: AdherenceReport) -> str:
    unchecked = ("Not judged in this run (`--speed fast` caps every fan-out): "
                 + "; ".join(f"{d.id} {one_line(d.statement).rstrip('.')}" for d in report.unchecked) + "."
                 if report.unchecked else "")
    if not report.directives:
        return document("Directives honoured", unchecked or "The prompt states no directive to check the plan against.")
    weights = ", ".join(f"{name} {weight}" for name, weight in IMPORTANCE_WEIGHTS.items())
    summary = (f"**Overall: {report.overall_percent}%** of what the prompt asked is honoured "
               f"({len(report.directives)} directives, weighted by importance: {weights}).")
    rows = [[a.directive.id, a.rating, a.directive.importance, a.directive.statement] for a in report.directives]
    issues = [a for a in report.directives if a.rating != "fully honoured"]
    blocks = [summary, table(["Id", "Verdict", "Importance", "Directive"], rows)]
    if issues:
        blocks.append(heading("Issues", 3))
        for a in issues:
            blocks += [heading(f"{a.directive.id} {a.rating}: {a.directive.statement}", 4),
                       one_line(a.issue) or "_No issue stated._", f"Evidence: {one_line(a.evidence)}"]
    return document("Directives honoured", *blocks, unchecked)
