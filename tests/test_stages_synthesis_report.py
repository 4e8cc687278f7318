"""Synthesis stages and tasks: the stages answer from their inputs (simulator), the review keeps
its question order, and the tasks read exactly what they need."""

from __future__ import annotations

import json

import luigi

from planexe_pipeline.stages import executive_summary, pitch, premortem, questions_answers, review_plan
from planexe_pipeline.tasks.report import Report, section_tasks
from planexe_pipeline.tasks.synthesis import (ExecutiveSummary, Pitch, PlanReview, Premortem, QuestionsAnswers,
                                              ReviewPlanItem)
from support.synthesis_folder import (LLM, PLAN, PLAN_WORDS, START, build, dependencies, estimates, prepopulate,
                                     small_schedule, wbs_level2, write_text)
from support.stage_checks import simulator, words


def assert_section(markdown: str, title: str) -> None:
    assert markdown.startswith(f"## {title}") and "\n\n" in markdown, markdown[:80]
    used = words(markdown) & PLAN_WORDS
    assert len(used) >= 3, f"markdown does not use the plan's words: {sorted(used)}"


class CannedExecutor:
    """Answers every structured call with a fixed model instance: for our own post-processing."""

    def __init__(self, answer):
        self.answer = answer
        self.calls: list[tuple[str, str]] = []

    def structured(self, output_cls, system_prompt, user_prompt):
        assert isinstance(self.answer, output_cls)
        self.calls.append((system_prompt, user_prompt))
        return self.answer


# -- stages --------------------------------------------------------------------------------

def test_pitch_comes_from_the_plan_in_one_call_laid_out_by_our_code():
    llm = CannedExecutor(pitch.execute(simulator(), plan=PLAN, project_plan="Lease premises in Lyon, install the oven."))
    result = pitch.execute(llm, plan=PLAN, project_plan="Lease premises in Lyon, install the oven.")
    assert len(llm.calls) == 1 and isinstance(result, pitch.PitchAnswer) and result.stakeholder_benefits
    md = pitch.to_markdown(result)
    assert_section(md, "Pitch: ")
    assert "### Who benefits" in md and "**The ask:**" in md


def test_review_question_list_is_ours_and_fixed():
    topics = [q.topic for q in review_plan.REVIEW_QUESTIONS]
    assert topics == ["Risks", "Assumptions", "KPIs", "Data gaps", "Stakeholders", "Regulation", "Budget",
                      "Timeline", "Dependencies", "Quick wins"]
    assert [q.id for q in review_plan.REVIEW_QUESTIONS] == [f"R-{i}" for i in range(1, 11)]


def test_review_item_keeps_our_question_and_uses_the_plan():
    question = review_plan.REVIEW_QUESTIONS[6]
    item = review_plan.execute(simulator(), question, plan=PLAN, project_plan="Lease premises.", wbs="T-1 Premises",
                               team="M-1 Baker", expert_review="E-1 critic", pitch="Pitch text")
    assert (item.id, item.topic, item.question) == (question.id, question.topic, question.question)
    assert item.answer.findings and item.answer.recommendations
    md = review_plan.to_markdown(review_plan.merge([item]))
    assert_section(md, "Plan review")
    assert "### R-7 Budget" in md


def test_review_question_reaches_the_model_after_the_plan():
    canned = review_plan.ReviewAnswer(summary="s", findings=["f"], recommendations=["r"])
    llm = CannedExecutor(canned)
    review_plan.execute(llm, review_plan.REVIEW_QUESTIONS[0], plan=PLAN, project_plan="pp", wbs="wbs", team="team",
                        expert_review="experts", pitch="pitch")
    _, user = llm.calls[0]
    assert user.startswith("# Plan\n\n" + PLAN)
    assert review_plan.REVIEW_QUESTIONS[0].question in user


def test_review_merge_keeps_the_given_index_order():
    answer = review_plan.ReviewAnswer(summary="s", findings=[], recommendations=[])
    items = [review_plan.ReviewItem(id=q.id, topic=q.topic, question=q.question, answer=answer)
             for q in review_plan.REVIEW_QUESTIONS]
    shuffled = [items[i] for i in (3, 0, 9, 1, 2, 8, 4, 7, 5, 6)]
    assert [i.id for i in review_plan.merge(shuffled).items] == [i.id for i in shuffled]
    md = review_plan.to_markdown(review_plan.merge(items))
    positions = [md.index(f"### {q.id} {q.topic}") for q in review_plan.REVIEW_QUESTIONS]
    assert positions == sorted(positions)


def test_executive_summary_sees_the_schedule_digest():
    schedule = small_schedule()
    digest = executive_summary.schedule_digest(schedule)
    assert "Start 2025-03-03, last day 2025-03-17 (15 calendar days)." in digest
    assert "Critical path: T-1.1.1 Sign the lease -> T-2.1.1 Install the oven" in digest
    fingerprint = {"start_date": START.isoformat()}
    level2 = executive_summary.level2_schedule(wbs_level2(), estimates(), dependencies(), fingerprint)
    # Level 3 splits each task's estimate without moving it: the same dates, task by task.
    assert {(t.id, t.start, t.end) for t in level2.tasks} == {
        (t.id, t.start, t.end) for t in schedule.tasks if t.id.count(".") < 2}
    assert "Critical path: T-1.1 Lease -> T-2.1 Oven works" in executive_summary.schedule_digest(level2)
    result = executive_summary.execute(simulator(), plan=PLAN, project_plan="pp", assumptions="assumptions",
                                       governance_bodies="governance", team="team", expert_review="experts",
                                       documents_to_find="find", documents_to_create="create", project=wbs_level2(),
                                       durations=estimates(), dependencies=dependencies(), fingerprint=fingerprint,
                                       pitch="pitch", review="review")
    assert isinstance(result, executive_summary.ExecutiveSummaryResult)
    md = executive_summary.to_markdown(result)
    assert_section(md, "Executive summary")
    assert "### Recommendation" in md and "### Next steps" in md


def test_questions_answers_five_to_eight():
    result = questions_answers.execute(simulator(), plan=PLAN, project_plan="pp", executive_summary="summary")
    assert 5 <= len(result.questions) <= 8
    md = questions_answers.to_markdown(result)
    assert_section(md, "Questions and answers")
    assert "### 1. " in md
    too_many = questions_answers.QuestionsAnswersResult(
        questions=[questions_answers.QuestionAnswer(question=f"Q{i}?", answer="A") for i in range(11)])
    trimmed = questions_answers.execute(CannedExecutor(too_many), plan=PLAN, project_plan="pp",
                                        executive_summary="summary")
    assert [q.question for q in trimmed.questions] == [f"Q{i}?" for i in range(8)]


def test_premortem_ids_are_ours_and_modes_have_signs_and_mitigations():
    result = premortem.execute(simulator(), plan=PLAN, assumptions="assumptions", project_plan="plan")
    assert [m.id for m in result.failure_modes] == [f"FM-{i}" for i in range(1, len(result.failure_modes) + 1)]
    assert result.failure_modes
    for mode in result.failure_modes:
        assert mode.likelihood in ("low", "medium", "high")
        assert mode.early_warning_signs and mode.mitigations
    md = premortem.to_markdown(result)
    assert_section(md, "Premortem")
    assert "a year later" in md and "**Early warning signs**" in md and "**Mitigations**" in md


def test_stage_output_is_deterministic():
    a = premortem.to_markdown(premortem.execute(simulator(), plan=PLAN, assumptions="assumptions",
                                                project_plan="plan"))
    b = premortem.to_markdown(premortem.execute(simulator(), plan=PLAN, assumptions="assumptions",
                                                project_plan="plan"))
    assert a == b


# -- tasks ------------------------------------------------------------------------------------

def test_the_report_reads_every_section_and_nothing_else():
    # Sections are found through the task registry: a task that declares one is read by the
    # report, whatever module defines it.
    report = Report(run_dir="/nonexistent-run")
    required = {name: type(task) for name, task in report.requires().items()}
    assert required.pop("setup").__name__ == "Setup"
    assert {task.section.key: task for task in section_tasks()} == required
    assert {"ExecutiveSummary", "ProjectPlan", "WBSProject123", "Schedule", "Premortem"} <= {
        task.__name__ for task in required.values()}


def test_review_fan_out_is_the_static_question_list():
    assert [t.index for t in PlanReview(run_dir="/r").item_tasks()] == list(range(10))
    assert [t.index for t in PlanReview(run_dir="/r", speed="fast").item_tasks()] == [0, 1]


# -- tasks: Luigi runs over a pre-populated run folder ----------------------------------------
def synthesis_upstream(run_dir: str, speed: str = "full"):
    tasks = [Pitch(run_dir=run_dir, speed=speed), ReviewPlanItem(run_dir=run_dir, speed=speed, index=0),
             ExecutiveSummary(run_dir=run_dir, speed=speed), Premortem(run_dir=run_dir, speed=speed)]
    synthesis = {"Pitch", "PlanReview", "ReviewPlanItem"}
    return [t for task in tasks for t in luigi.task.flatten(task.requires()) if type(t).__name__ not in synthesis]


def test_synthesis_tasks_run_on_a_prepopulated_folder(tmp_path):
    run_dir = str(tmp_path)
    prepopulate(tmp_path, synthesis_upstream(run_dir, "fast"), speed="fast")
    build([QuestionsAnswers(run_dir=run_dir, speed="fast", llm=LLM), Premortem(run_dir=run_dir, speed="fast", llm=LLM)])
    names = [cls.files["json"][:-5] for cls in (Pitch, PlanReview, ExecutiveSummary, QuestionsAnswers, Premortem)]
    assert names == ["058-pitch", "059-review_plan", "060-executive_summary", "061-questions_answers", "062-premortem"]
    for name in names:
        assert (tmp_path / f"{name}.json").is_file() and (tmp_path / f"{name}.md").is_file(), name
    assert sorted(p.name for p in (tmp_path / "059-review_plan").iterdir()) == ["item-000.json", "item-001.json"]
    review = json.loads((tmp_path / "059-review_plan.json").read_text())
    assert [i["id"] for i in review["items"]] == ["R-1", "R-2"]
    assert_section((tmp_path / "060-executive_summary.md").read_text(), "Executive summary")
    assert_section((tmp_path / "062-premortem.md").read_text(), "Premortem")


def test_plan_review_merges_items_in_index_order(tmp_path):
    answer = review_plan.ReviewAnswer(summary="s", findings=["f"], recommendations=["r"])
    # Written last-first, so neither file age nor directory order can stand in for the index.
    for index in reversed(range(10)):
        q = review_plan.REVIEW_QUESTIONS[index]
        item = review_plan.ReviewItem(id=q.id, topic=q.topic, question=q.question,
                                      answer=answer.model_copy(update={"summary": f"answer {index}"}))
        write_text(tmp_path / "059-review_plan" / f"item-{index:03d}.json", item.model_dump_json())
    build([PlanReview(run_dir=str(tmp_path), llm=LLM)], workers=1)
    review = json.loads((tmp_path / "059-review_plan.json").read_text())
    assert [i["id"] for i in review["items"]] == [f"R-{i}" for i in range(1, 11)]
    assert [i["answer"]["summary"] for i in review["items"]] == [f"answer {i}" for i in range(10)]
