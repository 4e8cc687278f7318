"""WBS: phases, tasks, dependencies, durations, subtasks, and the dated schedule."""

from __future__ import annotations


from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import durations, task_dependencies, wbs, wbs_level3
from planexe_pipeline.stages.durations import DurationChunk, DurationEstimatesAnswer
from planexe_pipeline.stages.schedule import DatedSchedule, schedule_to_csv, schedule_to_mermaid
from planexe_pipeline.stages.schedule import to_markdown as schedule_markdown
from planexe_pipeline.stages.task_dependencies import TaskDependenciesAnswer
from planexe_pipeline.stages.wbs import Phase, PhaseTasks, WBSLevel1Answer, WBSProject, WBSTask
from planexe_pipeline.stages.wbs_level3 import Decomposition
from planexe_pipeline.tasks.base import LLMStage, PlanTask, section_text
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import IDEA, Setup

__all__ = ["WBSLevel1", "WBSLevel2Item", "WBSProject12", "TaskDependencies", "EstimateDurationsItem", "DurationEstimates",
           "WBSLevel3Item", "WBSProject123", "Schedule"]


class WBSLevel1(LLMStage):
    number, stem = 50, "wbs_level1"
    inputs = {"plan": IDEA, "project_plan": Input(ProjectPlan, "the deliverables and milestones to split into phases")}
    execute, to_markdown = wbs.execute_level1, wbs.level1_to_markdown


class WBSLevel2Item(FanOutItem[Phase]):
    """One phase broken into its tasks; every phase at the same time."""

    number, stem = 51, "wbs_level2"
    result_model = PhaseTasks
    items_input = "level1"
    inputs = {"plan": IDEA, "project_plan": Input(ProjectPlan, "the scope the phase's tasks must cover"),
              "level1": Input(WBSLevel1, "the phases: one call each, the others so as to stay within its own")}
    execute = wbs.execute_level2

    def all_items(self):
        return self.read("level1", WBSLevel1Answer).phases


class WBSProject12(FanOutMerge):
    item_task = WBSLevel2Item
    number, stem = 52, "wbs_project_level1_and_level2"
    execute = wbs.build_project12

    @staticmethod
    def to_markdown(project: WBSProject) -> str:
        return wbs.project_to_markdown(project, "Work breakdown: phases and tasks")


# Level-2 tasks by id, in WBS order: what the dependency, duration and decomposition calls work on.
WBS12 = Input(WBSProject12, "the level-2 tasks, by id")


class TaskDependencies(LLMStage):
    number, stem = 53, "task_dependencies"
    inputs = {"plan": IDEA, "project": WBS12}
    execute, to_markdown = task_dependencies.execute, task_dependencies.to_markdown


class EstimateDurationsItem(FanOutItem[list]):
    """Item i estimates level-2 tasks 3i..3i+2 (in WBS order)."""

    number, stem = 54, "estimate_durations"
    result_model = DurationChunk
    items_input = "wbs12"
    inputs = {"wbs12": WBS12, "plan": IDEA}
    execute = durations.execute

    def all_items(self):
        return durations.chunk_tasks(self.read("wbs12", WBSProject))


class DurationEstimates(FanOutMerge):
    item_task = EstimateDurationsItem
    execute, to_markdown = durations.merge, durations.to_markdown


def _chunk_of(index: int) -> int:
    return index // durations.CHUNK_SIZE


class WBSLevel3Item(FanOutItem[WBSTask]):
    """Item i decomposes the i-th level-2 task (in WBS order), knowing its estimated duration.

    Level-2 tasks are estimated in chunks of CHUNK_SIZE in the same order, so task i's
    estimate is in chunk i // CHUNK_SIZE: only that chunk is read, not the merged table, so
    each decomposition starts as soon as its own estimate exists."""

    number, stem = 55, "wbs_level3"
    result_model = Decomposition
    items_input = "project"
    inputs = {"project": WBS12, "plan": IDEA,
              "durations": Input(EstimateDurationsItem, "the estimate of this task", item=_chunk_of)}
    execute = wbs_level3.decompose

    def all_items(self):
        return self.read("project", WBSProject).level2_tasks()


class WBSProject123(FanOutMerge):
    item_task = WBSLevel3Item
    number, stem = 56, "wbs_project_level1_level2_level3"
    section = Section("wbs", "Work breakdown structure", position=140, page_part="wbs")
    # The durations of tasks that got no decomposition (--speed fast) come from here; a
    # static requirement would hold back the items until every chunk was estimated.
    merge_inputs = {"durations": Input(DurationEstimates, "the durations of tasks left undecomposed")}
    answer = WBSProject

    def merge(self, results):
        result = wbs_level3.build_project123(self.read("project", WBSProject),
                                             self.read("durations", DurationEstimatesAnswer), results)
        self.write_stage(result, wbs.project_to_markdown(result, "Work breakdown structure"))

    def rendered_from(self, result, flags):
        return {"md": section_text(wbs.project_to_markdown(result, "Work breakdown structure"), flags)}


class Schedule(PlanTask):
    number, stem, kinds = 57, "schedule", ("json", "md", "csv", "mmd")
    section = Section("schedule-table", "Schedule", position=150, page_part="gantt")
    answer = DatedSchedule
    inputs = {"fingerprint": Input(Setup, "the start date fixed when the run began", output="fingerprint"),
              "project": Input(WBSProject123, "every task with its duration"),
              "dependencies": Input(TaskDependencies, "which task waits for which")}

    def run(self):
        project = self.read("project", WBSProject)
        edges = self.read("dependencies", TaskDependenciesAnswer).edges()
        result = wbs.plan_schedule(project, edges, wbs.first_day(self.read("fingerprint", dict)))
        self.write_json("json", result)
        for key, text in self.rendered_from(result, self.quality_flags(), project.title).items():
            self.write_text(key, text)

    def rendered_from(self, result, flags, title: str | None = None):
        title = title if title is not None else self.read("project", WBSProject).title
        return {"md": section_text(schedule_markdown(result), flags), "csv": schedule_to_csv(result),
                "mmd": schedule_to_mermaid(result, title or "Schedule")}
