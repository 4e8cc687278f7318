"""Synthesis stages and the report: the stages answer from their inputs (simulator), the
review keeps its question order, and the report assembles every section in reading order."""

from __future__ import annotations

import datetime
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import luigi
import pytest

from planexe_pipeline.llm.executor import LLMExecutor, NamedModel
from planexe_pipeline.llm.simulator import SimulatedLLM
from planexe_pipeline.pipeline import FullPlan
from planexe_pipeline.report import assemble
from planexe_pipeline.report.html import WBSNode, render_report_html
from planexe_pipeline.stages import executive_summary, pitch, premortem, questions_answers, review_plan
from planexe_pipeline.stages.schedule import ScheduleTask, compute_schedule
from planexe_pipeline.stages.wbs import WBSProject, WBSTask
from planexe_pipeline.tasks.report import REPORT_SECTIONS, SECTION_TASKS, Report
from planexe_pipeline.tasks.synthesis import (CreatePitch, ExecutiveSummary, PitchMarkdown, PlanReview, Premortem,
                                              QuestionsAnswers, ReviewPlan)

PLAN = ("Open a sourdough bakery in Lyon with a wood-fired oven, selling to cafes and weekend markets, "
        "financed by a cooperative of local farmers.")
PLAN_WORDS = {"sourdough", "bakery", "lyon", "wood-fired", "oven", "cafes", "weekend", "markets",
              "financed", "cooperative", "local", "farmers", "selling"}
START = datetime.date(2025, 3, 3)
LLM = "simulated-instant"


def simulator() -> LLMExecutor:
    return LLMExecutor([NamedModel.of("simulated", SimulatedLLM(seed=42))])


def words(markdown: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z\-]+", markdown)}


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


def small_schedule():
    tasks = [
        ScheduleTask(id="T-1", title="Premises", level=1),
        ScheduleTask(id="T-1.1", title="Lease", parent_id="T-1", level=2),
        ScheduleTask(id="T-1.1.1", title="Sign the lease", parent_id="T-1.1", duration_days=10, level=3),
        ScheduleTask(id="T-2", title="Oven", level=1),
        ScheduleTask(id="T-2.1", title="Oven works", parent_id="T-2", level=2),
        ScheduleTask(id="T-2.1.1", title="Install the oven", parent_id="T-2.1", duration_days=5, level=3),
    ]
    return compute_schedule(tasks, [("T-2.1.1", "T-1.1.1")], START)


# -- stages --------------------------------------------------------------------------------

def test_pitch_and_polished_pitch_come_from_the_plan():
    llm = simulator()
    notes = pitch.execute(llm, plan=PLAN, project_plan="Lease premises in Lyon, install the oven.",
                          related_resources="Lyon bakers guild", wbs="T-1 Premises")
    assert isinstance(notes, pitch.Pitch) and notes.stakeholder_benefits
    notes_md = pitch.to_markdown(notes)
    assert_section(notes_md, "Pitch: ")
    polished = pitch.polish(llm, notes_md)
    assert isinstance(polished, pitch.PolishedPitch) and polished.paragraphs
    polished_md = pitch.polished_to_markdown(polished)
    assert_section(polished_md, "Pitch")
    assert all(f"### {p.heading}" in polished_md for p in polished.paragraphs)


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
    result = executive_summary.execute(simulator(), plan=PLAN, project_plan="pp", assumptions="assumptions",
                                       governance="governance", team="team", expert_review="experts",
                                       documents="documents", schedule=schedule, pitch="pitch", review="review")
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
    result = premortem.execute(simulator(), plan=PLAN, assumptions="assumptions", executive_summary="summary")
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
                                                executive_summary="summary"))
    b = premortem.to_markdown(premortem.execute(simulator(), plan=PLAN, assumptions="assumptions",
                                                executive_summary="summary"))
    assert a == b


# -- assembling the report -----------------------------------------------------------------

def test_headings_nest_under_the_report_section():
    md = "## Pitch\n\nIntro.\n\n### Why\n\nBecause.\n\n#### Detail\n\n> # quoted\n\n```\n# code\n```\n"
    out = assemble.normalise_headings(md, top_level=3)
    assert "Pitch" not in out
    assert "\n### Why\n" in out and "\n#### Detail\n" in out
    assert "> # quoted" in out and "```\n# code\n```" in out
    assert assemble.normalise_headings("# Schedule\n\nFrom.\n\n## Critical path\n", 1) == "From.\n\n# Critical path\n"
    assert assemble.normalise_headings("Plain.\n", 3) == "Plain.\n"


def section_texts() -> dict[str, str]:
    return {s.key: f"## {s.title}\n\nBody of {s.key}.\n\n### Detail\n\nMore." for s in REPORT_SECTIONS}


def test_report_sections_follow_the_declared_reading_order():
    keys = [s.key for s in REPORT_SECTIONS]
    assert keys[:3] == ["executive-summary", "pitch", "purpose"], "the decision-maker's pages first"
    assert keys.index("wbs") < keys.index("schedule-table") < keys.index("review")
    for field in ("key", "title", "position"):
        values = [getattr(s, field) for s in REPORT_SECTIONS]
        assert len(values) == len(set(values)), f"two sections declare the same {field}"
    assert [s.position for s in REPORT_SECTIONS] == sorted(s.position for s in REPORT_SECTIONS)
    sections = assemble.report_sections(REPORT_SECTIONS, section_texts())
    md = assemble.plan_markdown("Project plan: Bakery", PLAN, sections)
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings == ["The idea", "Contents"] + [s.title for s in REPORT_SECTIONS]
    assert md.startswith("# Project plan: Bakery\n")
    assert "\n### Detail\n" in md
    html_keys = [s.key for s in assemble.report_sections(REPORT_SECTIONS, section_texts(), for_html=True)]
    assert html_keys == [k for k in keys if k != "wbs"]
    with pytest.raises(KeyError):
        assemble.report_sections(REPORT_SECTIONS, {"pitch": "x"})


def test_gantt_shows_phases_and_tasks_in_wbs_order():
    chart = assemble.gantt_chart(small_schedule())
    assert [(b.id, b.level) for b in chart.bars] == [("T-1", 1), ("T-1.1", 2), ("T-2", 1), ("T-2.1", 2)]
    assert all(b.critical for b in chart.bars)
    assert chart.bars[2].start == START + datetime.timedelta(days=10)
    deeper = assemble.gantt_chart(small_schedule(), max_depth=3)
    assert [b.id for b in deeper.bars] == ["T-1", "T-1.1", "T-1.1.1", "T-2", "T-2.1", "T-2.1.1"]


def test_wbs_tree_keeps_ids_titles_and_durations():
    project = WBSProject(title="Bakery", final_deliverable="An open bakery", phases=[
        WBSTask(id="T-1", title="Premises", children=[
            WBSTask(id="T-1.1", title="Lease", duration_days=10, children=[
                WBSTask(id="T-1.1.1", title="Sign", duration_days=10)])])])
    [phase] = assemble.wbs_tree(project)
    assert (phase.id, phase.title, phase.duration_days) == ("T-1", "Premises", None)
    assert phase.children[0].children[0] == WBSNode(id="T-1.1.1", title="Sign", duration_days=10, children=())


class StrictParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.ids += [v for k, v in attrs if k == "id"]
        self.scripts += tag == "script"


def test_assembled_html_renders_every_section():
    schedule = small_schedule()
    page = render_report_html(title="Project plan: Bakery", prompt=PLAN,
                              sections=assemble.report_sections(REPORT_SECTIONS, section_texts(), for_html=True),
                              wbs=[], gantt=assemble.gantt_chart(schedule),
                              links=assemble.report_links("060-plan.md"), meta=assemble.report_meta(schedule))
    parser = StrictParser()
    parser.feed(page)
    parser.close()
    assert parser.scripts == 0
    expected = [s.key for s in REPORT_SECTIONS if s.key != "wbs"]
    assert [i for i in parser.ids if i in expected] == expected
    assert 'href="timeline.html"' in page


# -- tasks: edges ------------------------------------------------------------------------------

def required(task) -> set[str]:
    return {type(t).__name__ for t in luigi.task.flatten(task.requires())}


def test_requires_edges_equal_the_spec():
    run = "/nonexistent-run"
    # Pitch and review read the WBS down to level 2: level 3 and the schedule stay off their path.
    assert required(CreatePitch(run_dir=run)) == {"Setup", "ProjectPlan", "RelatedResources", "WBSProject12"}
    assert required(PitchMarkdown(run_dir=run)) == {"CreatePitch"}
    assert required(ReviewPlan(run_dir=run, index=0)) == {"Setup", "ProjectPlan", "WBSProject12", "TeamMarkdown",
                                                          "ExpertReview", "PitchMarkdown"}
    assert required(PlanReview(run_dir=run)) == set()  # a static list: only its items (dynamic)
    assert PlanReview.item_task is ReviewPlan
    assert required(ExecutiveSummary(run_dir=run)) == {
        "Setup", "ProjectPlan", "ConsolidateAssumptions", "ConsolidateGovernance", "TeamMarkdown", "ExpertReview",
        "DocumentsMarkdown", "Schedule", "PitchMarkdown", "PlanReview"}
    assert required(QuestionsAnswers(run_dir=run)) == {"Setup", "ProjectPlan", "ExecutiveSummary"}
    assert required(Premortem(run_dir=run)) == {"Setup", "ConsolidateAssumptions", "ExecutiveSummary"}
    # The report reads every task that declares a section, and the setup for the prompt.
    assert required(Report(run_dir=run)) == {"Setup"} | {task.__name__ for task in SECTION_TASKS}
    assert {"ExecutiveSummary", "ProjectPlan", "WBSProject123", "Schedule", "Premortem"} <= required(Report(run_dir=run))
    assert [task.section for task in SECTION_TASKS] == list(REPORT_SECTIONS)
    assert required(FullPlan(run_dir=run)) == {"Report"}


def test_review_fan_out_is_the_static_question_list():
    assert [t.index for t in PlanReview(run_dir="/r").item_tasks()] == list(range(10))
    assert [t.index for t in PlanReview(run_dir="/r", speed="fast").item_tasks()] == [0, 1]


# -- tasks: Luigi runs over a pre-populated run folder ----------------------------------------
def _write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def wbs_project() -> WBSProject:
    return WBSProject(title="Bakery", final_deliverable="An open bakery", phases=[
        WBSTask(id="T-1", title="Premises", children=[
            WBSTask(id="T-1.1", title="Lease", duration_days=10, children=[
                WBSTask(id="T-1.1.1", title="Sign the lease", duration_days=10)])]),
        WBSTask(id="T-2", title="Oven", children=[
            WBSTask(id="T-2.1", title="Oven works", duration_days=5, children=[
                WBSTask(id="T-2.1.1", title="Install the oven", duration_days=5)])])])


def prepopulate(run_dir, tasks, speed: str = "full") -> None:
    """Every output of `tasks` as an upstream stage would leave it: Luigi takes them as done."""
    for task in tasks:
        for key, target in task.output().items():
            path = Path(target.path)
            name = type(task).__name__
            if key == "plan":
                text = PLAN + "\n"
            elif key == "fingerprint":
                text = json.dumps({"prompt_sha256": "0" * 64, "speed": speed, "start_date": START.isoformat()})
            elif name == "IdentifyPurpose" and key == "json":
                text = json.dumps({"purpose": "business", "topic": "Lyon sourdough bakery",
                                   "goal_statement": "Open it.", "reasoning": "A shop."})
            elif name == "WBSProject123" and key == "json":
                text = wbs_project().model_dump_json()
            elif name == "Schedule" and key == "json":
                text = small_schedule().model_dump_json()
            elif key == "md":
                text = (f"## {name} title\n\nBody of {name}: the Lyon sourdough bakery.\n\n"
                        f"### Detail of {name}\n\nMore about the wood-fired oven.\n")
            else:
                text = "{}\n"
            _write(path, text)


def build(tasks, workers: int = 4) -> None:
    result = luigi.build(tasks, workers=workers, local_scheduler=True, detailed_summary=True)
    assert result.status == luigi.execution_summary.LuigiStatusCode.SUCCESS, result.summary_text


def synthesis_upstream(run_dir: str, speed: str = "full"):
    tasks = [CreatePitch(run_dir=run_dir, speed=speed), ReviewPlan(run_dir=run_dir, speed=speed, index=0),
             ExecutiveSummary(run_dir=run_dir, speed=speed)]
    synthesis = {"CreatePitch", "PitchMarkdown", "PlanReview", "ReviewPlan"}
    return [t for task in tasks for t in luigi.task.flatten(task.requires()) if type(t).__name__ not in synthesis]


def test_synthesis_tasks_run_on_a_prepopulated_folder(tmp_path):
    run_dir = str(tmp_path)
    prepopulate(tmp_path, synthesis_upstream(run_dir, "fast"), speed="fast")
    build([QuestionsAnswers(run_dir=run_dir, speed="fast", llm=LLM), Premortem(run_dir=run_dir, speed="fast", llm=LLM)])
    for name in ("054-create_pitch", "055-pitch", "056-review_plan", "057-executive_summary",
                 "058-questions_answers", "059-premortem"):
        assert (tmp_path / f"{name}.json").is_file() and (tmp_path / f"{name}.md").is_file(), name
    assert sorted(p.name for p in (tmp_path / "056-review_plan").iterdir()) == ["item-000.json", "item-001.json"]
    review = json.loads((tmp_path / "056-review_plan.json").read_text())
    assert [i["id"] for i in review["items"]] == ["R-1", "R-2"]
    assert_section((tmp_path / "057-executive_summary.md").read_text(), "Executive summary")
    assert_section((tmp_path / "059-premortem.md").read_text(), "Premortem")


def test_plan_review_merges_items_in_index_order(tmp_path):
    answer = review_plan.ReviewAnswer(summary="s", findings=["f"], recommendations=["r"])
    # Written last-first, so neither file age nor directory order can stand in for the index.
    for index in reversed(range(10)):
        q = review_plan.REVIEW_QUESTIONS[index]
        item = review_plan.ReviewItem(id=q.id, topic=q.topic, question=q.question,
                                      answer=answer.model_copy(update={"summary": f"answer {index}"}))
        _write(tmp_path / "056-review_plan" / f"item-{index:03d}.json", item.model_dump_json())
    build([PlanReview(run_dir=str(tmp_path), llm=LLM)], workers=1)
    review = json.loads((tmp_path / "056-review_plan.json").read_text())
    assert [i["id"] for i in review["items"]] == [f"R-{i}" for i in range(1, 11)]
    assert [i["answer"]["summary"] for i in review["items"]] == [f"answer {i}" for i in range(10)]


class PageIds(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.ids += [v for k, v in attrs if k == "id"]


def test_report_assembles_a_prepopulated_folder_in_reading_order(tmp_path):
    run_dir = str(tmp_path)
    report = Report(run_dir=run_dir)
    upstream = list(luigi.task.flatten(report.requires()))
    prepopulate(tmp_path, upstream)
    hostile = tmp_path / "057-executive_summary.md"
    hostile.write_text(hostile.read_text() + "\n<script>alert(1)</script>\n", encoding="utf-8")
    build([Report(run_dir=run_dir)], workers=1)

    plan = (tmp_path / "060-plan.md").read_text(encoding="utf-8")
    assert plan.startswith("# Project plan: Lyon sourdough bakery\n")
    assert re.findall(r"^## (.+)$", plan, flags=re.M) == ["The idea", "Contents"] + [
        s.title for s in REPORT_SECTIONS]
    bodies = [plan.index(f"Body of {task.__name__}:") for task in SECTION_TASKS]
    assert bodies == sorted(bodies)
    assert "title\n" not in plan  # each stage's own title gave way to the report's
    assert "\n### Detail of ProjectPlan\n" in plan

    page = (tmp_path / "060-report.html").read_text(encoding="utf-8")
    parser = PageIds()
    parser.feed(page)
    parser.close()
    assert "script" not in parser.tags and "&lt;script&gt;" in page
    keys = [s.key for s in REPORT_SECTIONS if s.key != "wbs"]
    assert [i for i in parser.ids if i in keys] == keys
    assert parser.ids.index("premortem") < parser.ids.index("work-breakdown") < parser.ids.index("schedule")
    assert 'href="timeline.html"' in page
    assert "T-2.1.1" in page and "Install the oven" in page and "<svg" in page
