"""TaskDependencies: which phases and tasks must finish before others can start.

The model answers per id; our rule maps the answer onto the ids we asked about (unknown
dropped, first answer wins, unanswered ids get no dependencies, flagged). References to
unknown ids, to the task itself and between a phase and its own tasks (a phase is the sum of
its tasks, so neither can wait for the other) are dropped here; cycles are left to the
schedule, which drops the edge that closes one, in a fixed order.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.answer_ids import map_answers, map_id_list
from planexe_pipeline.stages.markdown import bullets, user_prompt, document, table
from planexe_pipeline.stages.wbs import ASKED_LEVEL2_TASKS, MAX_PHASES, WBSProject, outline

MAX_DEPENDS_ON = 6


class DependencyAnswer(BaseModel):
    task_id: str = Field(description="Id of the phase or task, exactly as listed (e.g. T-2.3).")
    # hard: more ids than a task can wait for is a degenerate answer, not a near miss
    depends_on_ids: list[str] = Field(json_schema_extra=bounded(MAX_DEPENDS_ON),
        description="Ids that must be finished before this one can start; empty if it can start at once.")
    rationale: str = Field(description="One sentence: why it has to wait, or why it can start right away.",
                           json_schema_extra=bounded(chars=200))


class DependenciesAnswer(BaseModel):
    dependencies: list[DependencyAnswer] = Field(description="One entry per listed phase and task, in list order.",
                                                 json_schema_extra=bounded(MAX_PHASES + ASKED_LEVEL2_TASKS, soft=True))


class TaskDependency(BaseModel):
    task_id: str
    title: str
    depends_on: list[str] = Field(default_factory=list, description="Known ids only, in the model's order.")
    rationale: str = ""
    defaulted: bool = Field(default=False, description="The model did not answer for this id: no dependencies.")


class TaskDependenciesAnswer(BaseModel):
    model_config = ConfigDict(title="TaskDependencies")  # the name models know it by

    dependencies: list[TaskDependency] = Field(default_factory=list, description="In WBS order.")
    ignored_answers: list[str] = Field(default_factory=list)

    def edges(self) -> list[tuple[str, str]]:
        """(task, prerequisite) pairs, as the schedule takes them."""
        return [(d.task_id, before) for d in self.dependencies for before in d.depends_on]


SYSTEM_PROMPT = """You sequence the work of a project plan.
For every listed phase and task, name the ids that must be finished before it can start:
permits before construction, funding before purchasing, design before build. Only name
real prerequisites (not everything earlier), use the ids exactly as listed, and leave the
list empty for work that can start at once."""


def asked_items(project: WBSProject) -> list[tuple[str, str]]:
    """(id, title) of every phase and level-2 task, in WBS order."""
    return [(t.id, t.title) for phase in project.phases for t in [phase, *phase.children]]


def _contains(a: str, b: str) -> bool:
    return a.startswith(b + ".") or b.startswith(a + ".")


def map_dependencies(project: WBSProject, answer: DependenciesAnswer) -> TaskDependenciesAnswer:
    asked = asked_items(project)
    ids = [tid for tid, _ in asked]
    mapping = map_answers(ids, answer.dependencies, lambda a: a.task_id)
    ignored = list(mapping.dropped)
    out: list[TaskDependency] = []
    for tid, title in asked:
        found = mapping.get(tid)
        if found is None:
            out.append(TaskDependency(task_id=tid, title=title, defaulted=True))
            continue
        depends_on = []
        for before in map_id_list(ids, found.depends_on_ids, exclude=tid):
            if _contains(tid, before):
                ignored.append(f"'{tid}' depends on '{before}': one contains the other")
            else:
                depends_on.append(before)
        out.append(TaskDependency(task_id=tid, title=title, rationale=found.rationale, depends_on=depends_on))
    return TaskDependenciesAnswer(dependencies=out, ignored_answers=ignored)


def execute(llm: LLMExecutor, plan: str, project: WBSProject) -> TaskDependenciesAnswer:
    user = user_prompt(plan=plan, work_breakdown=outline(project))
    return map_dependencies(project, llm.structured(DependenciesAnswer, SYSTEM_PROMPT, user))


def to_markdown(result: TaskDependenciesAnswer) -> str:
    rows = [[d.task_id, d.title, ", ".join(d.depends_on) or ("(no answer)" if d.defaulted else "-"), d.rationale]
            for d in result.dependencies]
    blocks = [table(["ID", "Task", "Depends on", "Why"], rows)]
    if result.ignored_answers:
        blocks += ["**Ignored answers**", bullets(result.ignored_answers)]
    return document("Task dependencies", *blocks)
