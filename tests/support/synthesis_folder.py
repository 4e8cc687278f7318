"""A run folder for the synthesis and report tasks, every upstream output written by hand,
and the plan text their tests share."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import luigi

from planexe_pipeline.stages.durations import DurationEstimate, DurationEstimatesAnswer
from planexe_pipeline.stages.prompt_screening import ScreeningResult
from planexe_pipeline.stages.schedule import ScheduleTask, compute_schedule
from planexe_pipeline.stages.task_dependencies import TaskDependenciesAnswer, TaskDependency
from planexe_pipeline.stages.wbs import WBSProject, WBSTask

PLAN = ("Open a sourdough bakery in Lyon with a wood-fired oven, selling to cafes and weekend markets, "
        "financed by a cooperative of local farmers.")
PLAN_WORDS = {"sourdough", "bakery", "lyon", "wood-fired", "oven", "cafes", "weekend", "markets",
              "financed", "cooperative", "local", "farmers", "selling"}
START = datetime.date(2025, 3, 3)
LLM = "simulated-instant"


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


def write_text(path, text: str) -> None:
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


def wbs_level2() -> WBSProject:
    """The same plan down to level 2: what the executive summary dates its timeline from."""
    project = wbs_project()
    return project.model_copy(update={"phases": [
        phase.model_copy(update={"children": [t.model_copy(update={"children": [], "duration_days": None})
                                              for t in phase.children]}) for phase in project.phases]})


def estimates() -> DurationEstimatesAnswer:
    return DurationEstimatesAnswer(estimates=[DurationEstimate(task_id="T-1.1", title="Lease", duration_days=10),
                                        DurationEstimate(task_id="T-2.1", title="Oven works", duration_days=5)])


def dependencies() -> TaskDependenciesAnswer:
    return TaskDependenciesAnswer(dependencies=[
        TaskDependency(task_id="T-2.1", title="Oven works", depends_on=["T-1.1"])])


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
            elif name == "WBSProject12" and key == "json":
                text = wbs_level2().model_dump_json()
            elif name == "DurationEstimates" and key == "json":
                text = estimates().model_dump_json()
            elif name == "TaskDependencies" and key == "json":
                text = dependencies().model_dump_json()
            elif name == "ScreenPrompt" and key == "json":  # a finished screening is a usable verdict
                text = ScreeningResult(verdict="usable", goal="Open the bakery.").model_dump_json()
            elif key == "md":
                text = (f"## {name} title\n\nBody of {name}: the Lyon sourdough bakery.\n\n"
                        f"### Detail of {name}\n\nMore about the wood-fired oven.\n")
            else:
                text = "{}\n"
            write_text(path, text)


def build(tasks, workers: int = 4) -> None:
    result = luigi.build(tasks, workers=workers, local_scheduler=True, detailed_summary=True)
    assert result.status == luigi.execution_summary.LuigiStatusCode.SUCCESS, result.summary_text
