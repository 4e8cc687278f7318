"""Checks: the plan checks its prompt and itself.

Two calls read the prompt alone and start with the first stages: the screening (can this be
planned at all?) and the user's directives. Nothing of the plan waits for either, so they cost
the critical path nothing; an unusable verdict stops the run at once (the worker ends a run on
a failure that its task says ends it). At the end, two fan-outs judge the finished plan: one
call per directive (honoured, softened, contradicted...) and one per check of a fixed
checklist. Both read the plan through sections that are done before the last synthesis calls
(the project plan, the dates of the level-2 tasks, the assumptions, the roster), never the
executive summary or the Q&A, so their items and merges end before the plan's own last step.
"""

from __future__ import annotations

import os

from planexe_pipeline.errors import PromptUnusable, UnreadableOutput
from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import directive_adherence, directives, prompt_screening, self_audit
from planexe_pipeline.stages.directives import Directive, DirectiveList
from planexe_pipeline.stages.prompt_screening import ScreeningResult
from planexe_pipeline.stages.self_audit import AuditCheck
from planexe_pipeline.tasks.assumptions import ConsolidateAssumptions
from planexe_pipeline.tasks.base import LLMStage
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge
from planexe_pipeline.tasks.inputs import Input, read_model
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import IDEA, Setup
from planexe_pipeline.tasks.team import FindTeamMembers
from planexe_pipeline.tasks.wbs import DurationEstimates, TaskDependencies, WBSProject12

__all__ = ["ScreenPrompt", "ExtractDirectives", "DirectiveAdherenceItem", "DirectiveAdherence", "SelfAuditItem",
           "SelfAudit"]


class ScreenPrompt(LLMStage):
    """Usable or not, from the prompt alone; an unusable verdict fails this task and stops the run.

    The verdict is written either way. An unusable one on file is not a finished step: a rerun of
    the folder stops again with the same verdict, read back rather than asked again, unless the
    run is told not to screen (`no_screen`), which then records that the plan was made anyway."""

    number, stem = 2, "screen_prompt"
    section = Section("prompt-screening", "Prompt screening", position=5)
    inputs = {"plan": IDEA}
    execute, to_markdown = prompt_screening.execute, prompt_screening.to_markdown

    @property
    def priority(self) -> int:  # type: ignore[override]
        # Its verdict can end the run, so it starts with the first calls whatever the slots: right
        # after the head of the plan's longest chain, which it must not hold up (dispatched first,
        # its process was forked before that head's, ~20 ms later on the critical path).
        return max(self.priorities.values(), default=0) - 1

    def recorded(self) -> ScreeningResult | None:
        """The verdict already in the run folder, if there is one that reads back."""
        target = self.output()["json"]
        if not os.path.exists(target.path):
            return None
        try:
            return read_model(target, ScreeningResult)
        except UnreadableOutput:
            return None

    def failure_ends_run(self) -> bool:
        # The verdict, not a model that failed to give one: that failure is any task's.
        recorded = self.recorded()
        return recorded is not None and recorded.stops_the_run()

    def complete(self) -> bool:
        if not super().complete():
            return False
        recorded = self.recorded()
        return recorded is not None and not recorded.stops_the_run()

    def run(self):
        result = self.recorded()  # None, or an unusable verdict: anything else is a finished step
        if not self.settings.screen:
            result = (prompt_screening.skipped() if result is None
                      else result.model_copy(update={"planned_anyway": True}))
        elif result is None:
            result = self.call(self.execute, self.executor())
        self.write_stage(result, self.to_markdown(result))
        if result.stops_the_run():
            raise PromptUnusable(prompt_screening.unusable_line(result))


class ExtractDirectives(LLMStage):
    number, stem = 3, "directives"
    inputs = {"plan": IDEA}
    execute, to_markdown = directives.execute, directives.to_markdown


class AfterThePlan:
    """A check's call yields an LLM slot to the plan's own calls of the same urgency.

    Its remaining path (its call, then the report) ties with the plan's last calls: the Q&A,
    the premortem, a data area. Its items were added to the scheduler first (a static list is
    yielded at the start), so on a tie they went first; with slots scarce that delayed the plan's
    last call itself."""

    @property
    def priority(self) -> int:  # type: ignore[override]
        return super().priority - 1


# What the checks of the finished plan judge it by: sections done before the plan's last calls.
# The dates come from the level-2 tasks, as the executive summary's do: level 3 splits each task's
# estimate without moving it, and waiting for it would put its 24 calls before the checks.
FINISHED_PLAN = {"plan": IDEA,
                 "project_plan": Input(ProjectPlan, "the goal, scope, budget and milestones to judge"),
                 "project": Input(WBSProject12, "the phases and tasks, to date: deadlines met or missed"),
                 "durations": Input(DurationEstimates, "how long each task takes, to date"),
                 "dependencies": Input(TaskDependencies, "which task waits for which, to date"),
                 "fingerprint": Input(Setup, "the first day of the schedule", output="fingerprint"),
                 "assumptions": Input(ConsolidateAssumptions, "the figures, places and risks the plan rests on"),
                 "team": Input(FindTeamMembers, "the roles that own the work and the risks")}


class DirectiveAdherenceItem(AfterThePlan, FanOutItem[Directive]):
    """One directive judged against the finished plan."""

    number, stem = 63, "directive_adherence"
    result_model = directive_adherence.DirectiveAdherenceAnswer
    items_input = "directives"
    inputs = {"directives": Input(ExtractDirectives, "the user's directives: one call each"), **FINISHED_PLAN}
    execute = directive_adherence.execute

    def all_items(self):
        return self.read("directives", DirectiveList).directives


class DirectiveAdherence(FanOutMerge):
    item_task = DirectiveAdherenceItem
    section = Section("directives", "Directives honoured", position=190)
    execute, to_markdown = directive_adherence.merge, directive_adherence.to_markdown


class SelfAuditItem(AfterThePlan, FanOutItem[AuditCheck]):
    """One check of the fixed checklist put to the finished plan; the list is ours, so it is static."""

    number, stem = 64, "self_audit"
    result_model = self_audit.AuditItem
    inputs = FINISHED_PLAN
    execute = self_audit.execute

    def all_items(self):
        return self_audit.CHECKLIST


class SelfAudit(FanOutMerge):
    item_task = SelfAuditItem
    section = Section("self-audit", "Self-audit", position=200)
    execute, to_markdown = self_audit.merge, self_audit.to_markdown
