"""WBSLevel3: split one level-2 task into subtasks, knowing how long the task takes.

The model proposes subtasks with durations; our code scales them to add up to the task's
estimate (the subtasks run one after another in the schedule), so the estimate made with
the whole plan in view stays the task's length. The merge numbers subtasks T-p.k.j by
position and builds the full tree.
"""

from __future__ import annotations

import math
from typing import Sequence

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.durations import DEFAULT_DURATION_DAYS, DurationChunk, DurationEstimatesAnswer
from planexe_pipeline.stages.durations import merge as merge_durations
from planexe_pipeline.stages.markdown import user_prompt, one_line
from planexe_pipeline.stages.wbs import WBSProject, WBSTask

MAX_SUBTASKS = 8


class TaskToDecompose(BaseModel):
    id: str
    title: str
    description: str
    phase_title: str
    duration_days: int
    duration_defaulted: bool = False


class SubtaskAnswer(BaseModel):
    title: str = Field(description="Subtask name starting with a verb.")
    description: str = Field(description="What is done and what it produces, in one sentence.",
                             json_schema_extra=bounded(chars=240))
    duration_days: float = Field(description="Working days this subtask takes, as a number.")


class DecompositionAnswer(BaseModel):
    subtasks: list[SubtaskAnswer] = Field(description="Three to five subtasks in the order they are done.",
                                          json_schema_extra={"minItems": 3, "maxItems": 5})


class Subtask(BaseModel):
    title: str
    description: str
    duration_days: float = Field(description="Scaled by our code so the subtasks add up to the task.")
    proposed_days: float | None = Field(default=None, description="What the model proposed.")


class Decomposition(BaseModel):
    task_id: str = Field(description="Our id of the decomposed level-2 task.")
    duration_days: int
    duration_defaulted: bool = False
    subtasks: list[Subtask] = Field(default_factory=list)


SYSTEM_PROMPT = """You break one task of a project plan into the subtasks that carry it out.
Give three to five subtasks in the order they are done, each starting with a verb and ending
in something checkable, with its working days. The task's total length is given: make the
subtask durations fit inside it, and keep every subtask specific to this plan."""


def tasks_to_decompose(project: WBSProject, durations: DurationEstimatesAnswer) -> list[TaskToDecompose]:
    """Every level-2 task in WBS order, with its estimate (or our default, flagged, when the
    estimate is missing, as under --speed fast where not every chunk is estimated)."""
    known = durations.by_id()
    out = []
    for phase in project.phases:
        for t in phase.children:
            est = known.get(t.id)
            out.append(TaskToDecompose(
                id=t.id, title=t.title, description=t.description, phase_title=phase.title,
                duration_days=est.duration_days if est else DEFAULT_DURATION_DAYS,
                duration_defaulted=est.defaulted if est else True))
    return out


def _usable(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and value > 0


def _apportion(weights: list[float], units: int) -> list[int]:
    """`units` split in proportion to `weights` (largest remainder, ties to the earlier one),
    then topped up so that each gets at least one unit, taken from the largest share."""
    n = len(weights)
    quotas = [units * w / sum(weights) for w in weights]
    shares = [math.floor(q) for q in quotas]
    by_remainder = sorted(range(n), key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in by_remainder[: units - sum(shares)]:
        shares[i] += 1
    for i in range(n):
        while shares[i] < 1:
            donor = max(range(n), key=lambda j: (shares[j], -j))
            shares[donor] -= 1
            shares[i] += 1
    return shares


def rescale_durations(proposed: Sequence[float | None], total: int) -> list[float]:
    """Durations proportional to `proposed` that add up to exactly `total` days.

    Whole days when there are at least as many days as subtasks (each at least one day), else
    hundredths of a day. An unusable proposal weighs as much as the average usable one.
    """
    n = len(proposed)
    if n == 0:
        return []
    usable = [float(p) for p in proposed if _usable(p)]
    fill = sum(usable) / len(usable) if usable else 1.0
    weights = [float(p) if _usable(p) else fill for p in proposed]
    if not math.isfinite(sum(weights)):  # absurdly large proposals: equal shares
        weights = [1.0] * n
    if total >= n:
        return [float(d) for d in _apportion(weights, total)]
    return [c / 100 for c in _apportion(weights, total * 100)]


def decompose_answer(task: TaskToDecompose, answer: DecompositionAnswer) -> Decomposition:
    raw = [s for s in answer.subtasks if one_line(s.title)][:MAX_SUBTASKS]
    days = rescale_durations([s.duration_days for s in raw], task.duration_days)
    return Decomposition(
        task_id=task.id, duration_days=task.duration_days, duration_defaulted=task.duration_defaulted,
        subtasks=[Subtask(title=one_line(s.title), description=s.description, duration_days=d,
                          proposed_days=s.duration_days if _usable(s.duration_days) else None)
                  for s, d in zip(raw, days)])


def task_text(task: TaskToDecompose) -> str:
    length = f"Total length: {task.duration_days} working days."
    if task.duration_days < 3:
        length += f" Give at most {task.duration_days} subtask{'s' if task.duration_days > 1 else ''}."
    return f"{one_line(task.title)} (phase: {one_line(task.phase_title)})\n\n{one_line(task.description)}\n\n{length}"


def execute(llm: LLMExecutor, plan: str, task: TaskToDecompose) -> Decomposition:
    user = user_prompt(plan=plan, task_to_break_down=task_text(task))
    return decompose_answer(task, llm.structured(DecompositionAnswer, SYSTEM_PROMPT, user))


def decompose(llm: LLMExecutor, task: WBSTask, *, plan: str, project: WBSProject,
              durations: DurationChunk) -> Decomposition:
    """One level-2 task broken down, knowing its estimate from the chunk that holds it."""
    todo = tasks_to_decompose(project, merge_durations([durations]))
    return execute(llm, plan, next(t for t in todo if t.id == task.id))


def build_project123(project12: WBSProject, durations: DurationEstimatesAnswer,
                     decompositions: list[Decomposition]) -> WBSProject:
    """The full tree: each level-2 task with its duration and its subtasks T-p.k.j by position.
    A task without a decomposition (--speed fast) stays a leaf with its own duration."""
    by_task = {d.task_id: d for d in decompositions}
    tasks = {t.id: t for t in tasks_to_decompose(project12, durations)}
    phases: list[WBSTask] = []
    for phase in project12.phases:
        children: list[WBSTask] = []
        for t in phase.children:
            info = tasks[t.id]
            dec = by_task.get(t.id)
            subtasks = [WBSTask(id=f"{t.id}.{j}", title=s.title, description=s.description,
                                duration_days=s.duration_days)
                        for j, s in enumerate(dec.subtasks if dec else [], 1)]
            children.append(t.model_copy(update={"duration_days": float(info.duration_days),
                                                 "duration_defaulted": info.duration_defaulted,
                                                 "children": subtasks}))
        phases.append(phase.model_copy(update={"children": children}))
    return project12.model_copy(update={"phases": phases})
