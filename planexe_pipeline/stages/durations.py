"""EstimateDurations: working days per level-2 task, asked three tasks per call.

Small chunks keep each answer short and let the calls run side by side. The model may answer
ids it was not asked about, answer one twice, skip one, or give a duration that is not a
positive number; our rule maps the answer onto the asked ids (unknown dropped, first answer
wins) and gives every task without a usable estimate a default it flags, so a chunk never fails.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.answer_ids import map_answers
from planexe_pipeline.stages.markdown import bullets, user_prompt, document, one_line, table
from planexe_pipeline.stages.wbs import WBSProject

CHUNK_SIZE = 3
DEFAULT_DURATION_DAYS = 10
# Dates past this many days would overflow a calendar; an estimate this large is a model error.
MAX_DURATION_DAYS = 1000


class TaskToEstimate(BaseModel):
    id: str
    title: str
    description: str
    phase_title: str


class DurationAnswer(BaseModel):
    task_id: str = Field(description="Id of the task, exactly as listed (e.g. T-2.3).")
    duration_days: float = Field(description="Working days the task takes with a normal team, as a number.")
    rationale: str = Field(description="One sentence: what drives the estimate.", json_schema_extra=bounded(chars=240))


class DurationsAnswer(BaseModel):
    estimates: list[DurationAnswer] = Field(description="One estimate per listed task, in list order.",
                                            json_schema_extra=bounded(CHUNK_SIZE, soft=True))


class DurationEstimate(BaseModel):
    task_id: str
    title: str
    duration_days: int = Field(description="Whole working days, at least 1.")
    rationale: str = ""
    defaulted: bool = Field(default=False, description="No usable estimate from the model: our default.")


class DurationChunk(BaseModel):
    estimates: list[DurationEstimate] = Field(default_factory=list, description="In the order asked.")
    ignored_answers: list[str] = Field(default_factory=list)


class DurationEstimatesAnswer(BaseModel):
    model_config = ConfigDict(title="DurationEstimates")  # the name models know it by

    estimates: list[DurationEstimate] = Field(default_factory=list, description="In WBS order.")
    ignored_answers: list[str] = Field(default_factory=list)

    def by_id(self) -> dict[str, DurationEstimate]:
        return {e.task_id: e for e in self.estimates}


SYSTEM_PROMPT = """You estimate how long tasks of a project plan take.
For each listed task give the working days it needs from start to finish with a normal
team for this plan's scale and location, including waiting on approvals or deliveries.
Answer every listed id exactly as written, with one sentence on what drives the estimate."""


def chunk_tasks(project: WBSProject, size: int = CHUNK_SIZE) -> list[list[TaskToEstimate]]:
    tasks = [TaskToEstimate(id=t.id, title=t.title, description=t.description, phase_title=phase.title)
             for phase in project.phases for t in phase.children]
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]


def map_estimates(chunk: list[TaskToEstimate], answer: DurationsAnswer) -> DurationChunk:
    mapping = map_answers([t.id for t in chunk], answer.estimates, lambda e: e.task_id)
    ignored = list(mapping.dropped)
    out: list[DurationEstimate] = []
    for task in chunk:
        found = mapping.get(task.id)
        days = found.duration_days if found is not None else None
        if days is None or not math.isfinite(days) or days <= 0:
            if found is not None:
                ignored.append(f"unusable duration {days!r} for '{task.id}'")
            out.append(DurationEstimate(task_id=task.id, title=task.title, duration_days=DEFAULT_DURATION_DAYS,
                                        rationale="No usable estimate from the model; default used.", defaulted=True))
            continue
        if days > MAX_DURATION_DAYS:
            ignored.append(f"duration {days:g} for '{task.id}' capped at {MAX_DURATION_DAYS}")
        whole = min(MAX_DURATION_DAYS, max(1, round(days)))
        out.append(DurationEstimate(task_id=task.id, title=task.title, duration_days=whole,
                                    rationale=found.rationale))
    return DurationChunk(estimates=out, ignored_answers=ignored)


def tasks_text(chunk: list[TaskToEstimate]) -> str:
    return "\n".join(f"- {t.id}: {one_line(t.title)} (phase: {one_line(t.phase_title)}). {one_line(t.description)}"
                     for t in chunk)


def execute(llm: LLMExecutor, chunk: list[TaskToEstimate], *, plan: str) -> DurationChunk:
    # Only the asked ids appear in the prompt: an id the model sees is an id it may answer.
    user = user_prompt(plan=plan, tasks_to_estimate=tasks_text(chunk))
    return map_estimates(chunk, llm.structured(DurationsAnswer, SYSTEM_PROMPT, user))


def merge(chunks: list[DurationChunk]) -> DurationEstimatesAnswer:
    return DurationEstimatesAnswer(estimates=[e for c in chunks for e in c.estimates],
                             ignored_answers=[x for c in chunks for x in c.ignored_answers])


def to_markdown(result: DurationEstimatesAnswer) -> str:
    rows = [[e.task_id, e.title, e.duration_days, "default" if e.defaulted else "", e.rationale]
            for e in result.estimates]
    blocks = [table(["ID", "Task", "Days", "Note", "Why"], rows)]
    if result.ignored_answers:
        blocks += ["**Ignored answers**", bullets(result.ignored_answers)]
    return document("Duration estimates", *blocks)
