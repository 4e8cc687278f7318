"""WBS: phases, tasks, dependencies, durations, subtasks, and the dated schedule."""

from __future__ import annotations

import datetime

from planexe_pipeline.errors import InputError
from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import durations, task_dependencies, wbs, wbs_level3
from planexe_pipeline.stages.durations import DurationChunk, DurationEstimates as DurationEstimatesModel
from planexe_pipeline.stages.schedule import schedule_to_csv, schedule_to_mermaid, to_markdown as schedule_markdown
from planexe_pipeline.stages.task_dependencies import TaskDependencies as TaskDependenciesModel
from planexe_pipeline.stages.wbs import WBSLevel1 as WBSLevel1Model, WBSLevel2 as WBSLevel2Model, WBSProject, WBSTask
from planexe_pipeline.stages.wbs_level3 import Decomposition
from planexe_pipeline.tasks.base import FanOutItem, FanOutMerge, LLMTask, PlanTask
from planexe_pipeline.tasks.context import DataCollection
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import Setup

__all__ = ["WBSLevel1", "WBSLevel2", "WBSProject12", "TaskDependencies", "EstimateDurationsItem", "DurationEstimates",
           "WBSLevel3Item", "WBSProject123", "Schedule"]


class WBSLevel1(LLMTask):
    group = "wbs"
    number, stem = 46, "wbs_level1"

    def requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan)}

    def run(self):
        result = wbs.execute_level1(self.executor(), self.input_text("setup", "plan"), self.input_text("project_plan"))
        self.write_stage(result, wbs.level1_to_markdown(result))


class WBSLevel2(LLMTask):
    group = "wbs"
    number, stem = 47, "wbs_level2"

    def requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan),
                "level1": self.clone(WBSLevel1), "data_collection": self.clone(DataCollection)}

    def run(self):
        level1 = self.input_model("level1", WBSLevel1Model)
        result = wbs.execute_level2(self.executor(), plan=self.input_text("setup", "plan"),
                                    project_plan=self.input_text("project_plan"), level1=level1,
                                    data_collection=self.input_text("data_collection"))
        self.write_stage(result, wbs.level2_to_markdown(level1, result))


class WBSProject12(PlanTask):
    group = "wbs"
    number, stem = 48, "wbs_project_level1_and_level2"

    def requires(self):
        return {"level1": self.clone(WBSLevel1), "level2": self.clone(WBSLevel2)}

    def run(self):
        result = wbs.build_project12(self.input_model("level1", WBSLevel1Model),
                                     self.input_model("level2", WBSLevel2Model))
        self.write_stage(result, wbs.project_to_markdown(result, "Work breakdown: phases and tasks"))


class TaskDependencies(LLMTask):
    group = "wbs"
    number, stem = 49, "task_dependencies"

    def requires(self):
        return {"setup": self.clone(Setup), "wbs12": self.clone(WBSProject12)}

    def run(self):
        result = task_dependencies.execute(self.executor(), self.input_text("setup", "plan"),
                                           self.input_model("wbs12", WBSProject))
        self.write_stage(result, task_dependencies.to_markdown(result))


class EstimateDurationsItem(FanOutItem[list]):
    """Item i estimates level-2 tasks 3i..3i+2 (in WBS order)."""

    group = "wbs"
    number, stem = 50, "estimate_durations"
    result_model = DurationChunk

    def list_requires(self):
        return {"wbs12": self.clone(WBSProject12)}

    def context_requires(self):
        return {"setup": self.clone(Setup)}

    def all_items(self):
        return durations.chunk_tasks(self.input_model("wbs12", WBSProject))

    def process(self, item):
        return durations.execute(self.executor(), self.input_text("setup", "plan"), item)


class DurationEstimates(FanOutMerge):
    item_task = EstimateDurationsItem

    def merge(self, results):
        merged = durations.merge(results)
        self.write_stage(merged, durations.to_markdown(merged))


class WBSLevel3Item(FanOutItem[WBSTask]):
    """Item i decomposes the i-th level-2 task (in WBS order), knowing its estimated duration.

    Level-2 tasks are estimated in chunks of CHUNK_SIZE in the same order, so task i's
    estimate is in chunk i // CHUNK_SIZE."""

    group = "wbs"
    number, stem = 51, "wbs_level3"
    result_model = Decomposition

    def list_requires(self):
        return {"wbs12": self.clone(WBSProject12)}

    def context_requires(self):
        # Only the duration chunk holding this task, not the merged table: each decomposition
        # starts as soon as its own estimate exists, and the merge leaves the critical path.
        chunk = self.clone(EstimateDurationsItem, index=self.index // durations.CHUNK_SIZE)
        return {"setup": self.clone(Setup), "durations": chunk}

    def all_items(self):
        return self.input_model("wbs12", WBSProject).level2_tasks()

    def process(self, item: WBSTask):
        chunk = durations.merge([self.input_model("durations", DurationChunk)])
        todo = wbs_level3.tasks_to_decompose(self.input_model("wbs12", WBSProject), chunk)
        task = next(t for t in todo if t.id == item.id)
        return wbs_level3.execute(self.executor(), self.input_text("setup", "plan"), task)


class WBSProject123(FanOutMerge):
    group = "wbs"
    item_task = WBSLevel3Item
    number, stem = 52, "wbs_project_level1_level2_level3"
    section = Section("wbs", "Work breakdown structure", position=140, in_html=False)

    def merge_requires(self):
        # The durations of tasks that got no decomposition (--speed fast) come from here; a
        # static requirement would hold back the items until every chunk was estimated.
        return {"durations": self.clone(DurationEstimates)}

    def merge(self, results):
        result = wbs_level3.build_project123(self.input_model("wbs12", WBSProject),
                                             self.merge_input_model("durations", DurationEstimatesModel), results)
        self.write_stage(result, wbs.project_to_markdown(result, "Work breakdown structure"))


class Schedule(PlanTask):
    group = "wbs"
    number, stem, kinds = 53, "schedule", ("json", "md", "csv", "mmd")
    section = Section("schedule-table", "Schedule", position=150, html_title="Schedule table")

    def requires(self):
        return {"setup": self.clone(Setup), "wbs123": self.clone(WBSProject123),
                "dependencies": self.clone(TaskDependencies)}

    def first_day(self) -> datetime.date:
        # The fingerprint's date, fixed when the run began, so a resumed run keeps its dates.
        recorded = self.input_json("setup", "fingerprint").get("start_date") or self.start_date
        if not recorded:
            raise InputError(f"run folder {self.run_dir} records no start date: pass --start-date YYYY-MM-DD")
        try:
            return datetime.date.fromisoformat(recorded)
        except ValueError:
            raise InputError(f"start date '{recorded}' is not a date: use YYYY-MM-DD") from None

    def run(self):
        project = self.input_model("wbs123", WBSProject)
        edges = self.input_model("dependencies", TaskDependenciesModel).edges()
        result = wbs.plan_schedule(project, edges, self.first_day())
        self.write_stage(result, schedule_markdown(result))
        self.write_text("csv", schedule_to_csv(result))
        self.write_text("mmd", schedule_to_mermaid(result, project.title or "Schedule"))
