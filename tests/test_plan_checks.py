"""The plan's checks, stage by stage: the screening's verdict and its one line, the directives
and how the adherence merge ranks them (worst first, weighted by importance), the self-audit's
fixed checklist, and where they sit in the graph (off the plan's critical path)."""

from __future__ import annotations

import pytest

from planexe_pipeline.errors import PromptUnusable
from planexe_pipeline.llm.executor import LLMExecutor, NamedModel
from planexe_pipeline.llm.simulator import SimulatedLLM
from planexe_pipeline.prompts.catalog import load_catalog
from planexe_pipeline.stages import directive_adherence, directives, prompt_screening, self_audit
from planexe_pipeline.stages.directive_adherence import DirectiveAdherenceAnswer, merge, overall_percent
from planexe_pipeline.stages.directives import Directive, DirectiveList
from planexe_pipeline.stages.prompt_screening import ScreeningResult, unusable_line
from planexe_pipeline.tasks.base import LLMTask
from planexe_pipeline.tasks.checks import FINISHED_PLAN, ScreenPrompt
from planexe_pipeline.tasks.fanout import FanOutItem
from planexe_pipeline.tasks.print_parts import PrintPart
from support.graph import task_class, walk  # imports the pipeline, which fills the priority table
from support.graph import upstream as upstream_of
from support.stage_checks import simulator
from support.synthesis_folder import dependencies, estimates, wbs_level2

PLAN = "Build a 5 MW solar farm near Esbjerg in Denmark by 2028, without diesel generators, for under DKK 40 million."
GRAPH = walk()


def upstream(family: str) -> set[str]:
    return upstream_of(GRAPH, family)


class CannedAnswer:
    """Stands for the executor: answers every call with one model instance."""

    def __init__(self, answer):
        self.answer = answer

    def structured(self, output_cls, system_prompt, user_prompt):
        return self.answer


# -- screening -------------------------------------------------------------------------------

def test_the_simulator_finds_every_sample_prompt_usable():
    for prompt in load_catalog():
        result = prompt_screening.execute(simulator(), plan=prompt.prompt)
        assert result.verdict == "usable" and result.goal and not result.stops_the_run(), prompt.id


def test_a_prompt_holding_a_marker_is_judged_unusable_with_a_reason_and_what_to_change():
    llm = LLMExecutor([NamedModel.of("judge", SimulatedLLM(seed=42, unusable_prompts=["asdf"]))])
    result = prompt_screening.execute(llm, plan="asdf asdf test plan")
    assert result.verdict == "unusable" and result.stops_the_run()
    assert result.problem in prompt_screening.Problem.__args__ and result.reason and result.what_to_change
    assert prompt_screening.execute(llm, plan=PLAN).verdict == "usable", "only the marked prompt"


def test_the_unusable_line_is_one_printable_line_with_verdict_reason_and_change():
    result = ScreeningResult(verdict="unusable", problem="placeholder or test", reason="It says\n'test'.\x1b[2J",
                             what_to_change="Describe the project, where and by when.")
    line = unusable_line(result)
    assert line.startswith(f"{PromptUnusable.prefix} (placeholder or test): It says 'test'.")
    assert "Change the prompt: Describe the project, where and by when" in line and "--no-screen" in line
    assert "\n" not in line and all(c.isprintable() for c in line)


@pytest.mark.parametrize("result, says", [
    (ScreeningResult(verdict="skipped"), "not screened"),
    (ScreeningResult(verdict="usable", goal="Power 1,500 homes."), "usable"),
    (ScreeningResult(verdict="unusable", problem="too short", reason="r", what_to_change="c"), "The run stopped here."),
    (ScreeningResult(verdict="unusable", problem="too short", reason="r", what_to_change="c", planned_anyway=True),
     "made anyway"),
    (ScreeningResult(verdict="unusable", problem="no actionable goal", reason="no 100% sure",
                     what_to_change="no 100% sure", unfounded=True), "no reason to act on"),
])
def test_the_screening_section_says_what_happened(result, says):
    markdown = prompt_screening.to_markdown(result)
    assert markdown.startswith("## Prompt screening") and says in markdown


def test_only_an_unusable_verdict_not_planned_anyway_stops_the_run():
    assert [ScreeningResult(verdict=v).stops_the_run() for v in ("usable", "unusable", "skipped")] == [False, True, False]
    assert not ScreeningResult(verdict="unusable", planned_anyway=True).stops_the_run()
    assert not ScreeningResult(verdict="unusable", unfounded=True).stops_the_run()


@pytest.mark.parametrize("reason, what_to_change, acted_on", [
    ("no 100% sure", "no 100% sure", False),  # what a 270M model answered: nothing to act on
    ("It says only 'test' and names no project.", "It says only 'test' and names no project.", False),
    ("It says only 'test' and names no project.", "Describe the project, where and by when.", True),
    ("Too short.", "Describe the project, where and by when.", False),
])
def test_an_unusable_verdict_stops_the_run_only_when_it_says_why_and_what_to_do(reason, what_to_change, acted_on):
    answer = prompt_screening.ScreeningAnswer(screening=prompt_screening.UnusablePrompt(
        verdict="unusable", problem="no actionable goal", reason=reason, what_to_change=what_to_change))
    result = prompt_screening.execute(CannedAnswer(answer), plan="Build a solar farm in Denmark.")
    assert result.verdict == "unusable" and result.stops_the_run() is acted_on


# -- directives and how the plan honours them ----------------------------------------------------

def test_directives_are_numbered_by_our_code_in_the_order_given():
    result = directives.execute(simulator(), plan=PLAN)
    assert [d.id for d in result.directives] == [f"DIR-{i}" for i in range(1, len(result.directives) + 1)]
    assert result.directives and "| DIR-1 |" in directives.to_markdown(result)


def judged(index: int, rating: str, importance: str) -> DirectiveAdherenceAnswer:
    directive = Directive(id=f"DIR-{index}", kind="requirement", statement=f"directive {index}", importance=importance)
    return DirectiveAdherenceAnswer(directive=directive, rating=rating, evidence=f"evidence {index}",
                                    issue=f"issue {index}")


def test_the_merge_ranks_worst_first_then_by_importance_then_in_the_prompts_order():
    items = [judged(1, "fully honoured", "critical"), judged(2, "partially honoured", "low"),
             judged(3, "contradicted", "low"), judged(4, "ignored", "critical"), judged(5, "partially honoured", "high"),
             judged(6, "softened", "medium"), judged(7, "unsolicited caveat", "low"), judged(8, "contradicted", "high")]
    report = merge(items, DirectiveList(directives=[i.directive for i in items]))
    assert [a.directive.id for a in report.directives] == ["DIR-8", "DIR-3", "DIR-4", "DIR-6", "DIR-5", "DIR-2",
                                                           "DIR-7", "DIR-1"]
    assert report.unchecked == []


def test_the_overall_percentage_weighs_each_directive_by_its_importance():
    # critical 4 x 100, low 1 x 0, high 3 x 50, critical 4 x 0 = 550 of 12 weights
    items = [judged(1, "fully honoured", "critical"), judged(2, "contradicted", "low"),
             judged(3, "partially honoured", "high"), judged(4, "ignored", "critical")]
    assert overall_percent(items) == 46
    assert overall_percent([judged(1, "unsolicited caveat", "low"), judged(2, "softened", "low")]) == 50
    assert overall_percent([]) is None


def test_the_section_lists_the_contradicted_directive_first_with_its_issue_and_evidence():
    items = [judged(1, "fully honoured", "critical"), judged(2, "contradicted", "medium")]
    listed = DirectiveList(directives=[i.directive for i in items] + [judged(3, "ignored", "low").directive])
    markdown = directive_adherence.to_markdown(merge(items, listed))
    rows = [line for line in markdown.splitlines() if line.startswith("| DIR-")]
    assert rows[0].startswith("| DIR-2 | contradicted | medium |") and rows[1].startswith("| DIR-1 | fully honoured")
    assert "**Overall: 67%**" in markdown  # medium 2 x 0 + critical 4 x 100, of 6
    issues = markdown.split("### Issues", 1)[1]
    assert "#### DIR-2 contradicted: directive 2" in issues and "issue 2" in issues and "Evidence: evidence 2" in issues
    assert "DIR-1" not in issues, "a fully honoured directive raises no issue"
    assert "Not judged in this run" in markdown and "DIR-3 directive 3" in markdown


def test_no_directive_no_table():
    report = merge([], DirectiveList())
    assert report.overall_percent is None
    assert "states no directive" in directive_adherence.to_markdown(report)


# -- the self-audit ----------------------------------------------------------------------------

def test_the_checklist_is_ours_fixed_and_each_check_reads_sections_the_task_provides():
    assert [c.id for c in self_audit.CHECKLIST] == [f"A-{i}" for i in range(1, len(self_audit.CHECKLIST) + 1)]
    assert len(self_audit.CHECKLIST) >= 8
    for check in self_audit.CHECKLIST:
        assert check.reads and set(check.reads) <= set(self_audit.SECTIONS), check.id
    dates = {"project", "durations", "dependencies", "fingerprint"}  # the schedule, dated by our code
    assert set(FINISHED_PLAN) == {"plan", *(set(self_audit.SECTIONS) - {"schedule"}), *dates}


class Recorder:
    """Answers like the simulator, keeping every user message."""

    def __init__(self):
        self.users: list[str] = []
        self.llm = simulator()

    def structured(self, output_cls, system_prompt, user_prompt):
        self.users.append(user_prompt)
        return self.llm.structured(output_cls, system_prompt, user_prompt)


def test_each_check_sees_its_own_sections_and_its_question_last():
    recorder = Recorder()
    sections = dict(plan=PLAN, project_plan="## Project plan\n\nPLAN-TEXT", project=wbs_level2(),
                    durations=estimates(), dependencies=dependencies(), fingerprint={"start_date": "2027-01-04"},
                    assumptions="## Assumptions\n\nASSUMPTIONS-TEXT", team="## Team\n\nTEAM-TEXT")
    items = [self_audit.execute(recorder, check, **sections) for check in self_audit.CHECKLIST]
    assert [i.id for i in self_audit.merge(items).items] == [c.id for c in self_audit.CHECKLIST]
    for check, user in zip(self_audit.CHECKLIST, recorder.users):
        for name, marker in (("project_plan", "PLAN-TEXT"), ("assumptions", "ASSUMPTIONS-TEXT"), ("team", "TEAM-TEXT"),
                             ("schedule", "Critical path:")):
            assert (marker in user) == (name in check.reads), (check.id, name)
        assert user.startswith(f"# Plan\n\n{PLAN}") and user.rstrip().endswith(check.question)


# -- where the checks sit in the graph ------------------------------------------------------------

def test_screening_and_directives_read_the_prompt_alone_and_only_the_report_waits_for_the_screening():
    assert GRAPH["ScreenPrompt"] == {"Setup"} and GRAPH["ExtractDirectives"] == {"Setup"}
    readers = [f for f, deps in GRAPH.items() if "ScreenPrompt" in deps]
    # and the screening's own section printed for the PDF and the Word file
    assert [f for f in readers if not issubclass(task_class(f), PrintPart)] == ["Report"]


def test_the_checks_of_the_finished_plan_do_not_wait_for_the_last_synthesis_calls():
    late = {"ExecutiveSummary", "QuestionsAnswers", "Premortem", "PlanReview", "ReviewPlanItem", "Pitch",
            "ConsolidateGovernance", "DataCollection", "DocumentsMarkdown"}
    level3 = {"WBSLevel3Item", "WBSProject123", "Schedule"}  # dated from level 2, as the summary is
    for family in ("DirectiveAdherenceItem", "DirectiveAdherence", "SelfAuditItem", "SelfAudit"):
        assert not ((late | level3) & upstream(family)), family
        assert {"ProjectPlan", "DurationEstimates", "TaskDependencies"} <= upstream(family), family


def test_the_screening_starts_right_after_the_head_of_the_longest_chain():
    screening = ScreenPrompt(run_dir="/nonexistent-run").priority
    firsts = {f: ScreenPrompt.priorities[f] for f, deps in GRAPH.items() if deps == {"Setup"} and f != "ScreenPrompt"}
    assert sorted(firsts.values())[-1] > screening > sorted(firsts.values())[-2], firsts


def test_with_slots_scarce_a_check_yields_to_the_plans_calls_of_the_same_urgency():
    checks = {"ScreenPrompt", "ExtractDirectives", "DirectiveAdherenceItem", "SelfAuditItem"}
    table = ScreenPrompt.priorities
    plan_calls = [f for f in GRAPH if issubclass(task_class(f), LLMTask) and f not in checks]
    for family in ("DirectiveAdherenceItem", "SelfAuditItem"):
        ties = [f for f in plan_calls if table[f] == table[family]]
        assert "QuestionsAnswers" in ties, "the plan's last call is as urgent as a check, by the table"
        assert all(task_class(family)(run_dir="/r", index=0).priority < table[f] for f in ties), family
