"""The work breakdown: phases (level 1), their tasks (level 2), and the tree our code numbers.

The model proposes phases and tasks; our code numbers them by position (phases T-1..,
tasks T-1.1..), so ids are stable and never taken from what the model wrote. A level-2 task
names its phase by the id we showed it; an id we did not show is read as "same phase as the
task before" (models list tasks phase by phase), and a phase left without tasks gets one
task of its own so every phase has work to estimate, decompose and schedule.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.answer_ids import normalise_id
from planexe_pipeline.stages.markdown import bullets, context, document, heading, one_line
from planexe_pipeline.stages.schedule import DatedSchedule, ScheduleTask, compute_schedule

MAX_PHASES = 8
# Each level-2 task costs a duration estimate and a decomposition call; beyond this the plan
# is too fine-grained for a first schedule anyway.
MAX_LEVEL2_TASKS = 48
ASKED_PHASES = 6  # level 1 asks for four to six phases
ASKED_TASKS_PER_PHASE = 6  # level 2 asks for three to six tasks per phase
ASKED_LEVEL2_TASKS = ASKED_PHASES * ASKED_TASKS_PER_PHASE


class WBSTask(BaseModel):
    id: str = Field(description="Our id: T-p (phase), T-p.k (task), T-p.k.j (subtask).")
    title: str
    description: str = ""
    duration_days: float | None = Field(default=None, description="Estimated working days; None for phases.")
    duration_defaulted: bool = Field(default=False, description="No usable estimate: our default was used.")
    children: list["WBSTask"] = Field(default_factory=list)


class WBSProject(BaseModel):
    title: str
    final_deliverable: str
    phases: list[WBSTask] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="What our code changed in the model's answer.")

    def level2_tasks(self) -> list[WBSTask]:
        return [task for phase in self.phases for task in phase.children]

    def phase_of(self, task_id: str) -> WBSTask | None:
        return next((p for p in self.phases if any(t.id == task_id for t in p.children)), None)


# -- level 1 ----------------------------------------------------------------------------------
class PhaseAnswer(BaseModel):
    title: str = Field(description="Phase name, e.g. 'Site selection and permitting'.")
    description: str = Field(description="What the phase delivers, in one or two sentences.",
                             json_schema_extra=bounded(chars=300))


class Level1Answer(BaseModel):
    project_title: str = Field(description="Short title of the project.")
    final_deliverable: str = Field(description="The one thing that exists when the project is done.")
    phases: list[PhaseAnswer] = Field(description="Four to six phases in the order they start.",
                                      json_schema_extra={"minItems": 4, "maxItems": ASKED_PHASES})


class Phase(BaseModel):
    id: str
    title: str
    description: str


class WBSLevel1(BaseModel):
    project_title: str
    final_deliverable: str
    phases: list[Phase]


LEVEL1_SYSTEM_PROMPT = """You set up the top of a work breakdown structure for a project plan.
Name the project and its final deliverable, then split the work into four to six phases
in the order they start, from preparation to handover. Each phase must end in something
tangible (an approval, a build, a launch), and together they must cover the whole plan."""


def number_phases(answer: Level1Answer) -> WBSLevel1:
    phases = [p for p in answer.phases if one_line(p.title)][:MAX_PHASES]
    if not phases:
        phases = [PhaseAnswer(title=one_line(answer.final_deliverable) or "Project delivery", description="")]
    return WBSLevel1(project_title=one_line(answer.project_title), final_deliverable=answer.final_deliverable,
                     phases=[Phase(id=f"T-{i}", title=one_line(p.title), description=p.description)
                             for i, p in enumerate(phases, 1)])


def execute_level1(llm: LLMExecutor, plan: str, project_plan: str) -> WBSLevel1:
    answer = llm.structured(Level1Answer, LEVEL1_SYSTEM_PROMPT, context(plan=plan, project_plan=project_plan))
    return number_phases(answer)


def phases_text(level1: WBSLevel1) -> str:
    return "\n".join(f"- {p.id}: {p.title}. {one_line(p.description)}".rstrip() for p in level1.phases)


def level1_to_markdown(level1: WBSLevel1) -> str:
    return document("Work breakdown: phases", f"**{level1.project_title}**: {one_line(level1.final_deliverable)}",
                    phases_text(level1))


# -- level 2 ----------------------------------------------------------------------------------
class Level2TaskAnswer(BaseModel):
    phase_id: str = Field(description="Id of the phase the task belongs to, exactly as listed (e.g. T-2).")
    title: str = Field(description="Task name starting with a verb, e.g. 'Commission the grid study'.")
    description: str = Field(description="What is done and what it produces, in one or two sentences.",
                             json_schema_extra=bounded(chars=300))


class Level2Answer(BaseModel):
    tasks: list[Level2TaskAnswer] = Field(
        description="Tasks of every phase, listed phase by phase in the order they would start.",
        # Soft: what the prompt asks at most, above the standard workload's width; tasks come phase
        # by phase, so a trim shortens the last phase, and the note says so.
        json_schema_extra=bounded(ASKED_LEVEL2_TASKS, width="wbs_level2_tasks", soft=True))


class Level2Task(BaseModel):
    phase_id: str = Field(description="Phase id after our mapping.")
    title: str
    description: str
    phase_guessed: bool = Field(default=False, description="The model named no known phase; ours was inferred.")


class WBSLevel2(BaseModel):
    tasks: list[Level2Task] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


LEVEL2_SYSTEM_PROMPT = """You break each phase of a project into its main tasks (level 2 of the work breakdown).
For every listed phase give three to six tasks a team lead could own and estimate, each
starting with a verb and producing something checkable. Name the phase of each task by its
id exactly as listed, and list the tasks phase by phase in the order work would start.
Use the data collection notes to include the surveys, studies and approvals the plan needs."""


def map_level2(level1: WBSLevel1, answer: Level2Answer) -> WBSLevel2:
    known = [p.id for p in level1.phases]
    tasks: list[Level2Task] = []
    notes: list[str] = []
    previous = known[0]
    for raw in answer.tasks:
        if not one_line(raw.title):
            notes.append("dropped a task with no title")
            continue
        pid = normalise_id(raw.phase_id)
        guessed = pid not in known
        if guessed:
            notes.append(f"task '{one_line(raw.title)[:60]}' named unknown phase '{one_line(raw.phase_id)[:20]}'; "
                         f"put in {previous}")
            pid = previous
        if len(tasks) == MAX_LEVEL2_TASKS:
            notes.append(f"kept the first {MAX_LEVEL2_TASKS} tasks; dropped the rest")
            break
        tasks.append(Level2Task(phase_id=pid, title=one_line(raw.title), description=raw.description,
                                phase_guessed=guessed))
        previous = pid
    return WBSLevel2(tasks=tasks, notes=notes)


def execute_level2(llm: LLMExecutor, *, plan: str, project_plan: str, level1: WBSLevel1,
                   data_collection: str) -> WBSLevel2:
    user = context(plan=plan, phases=phases_text(level1), project_plan=project_plan, data_collection=data_collection)
    return map_level2(level1, llm.structured(Level2Answer, LEVEL2_SYSTEM_PROMPT, user))


def level2_to_markdown(level1: WBSLevel1, level2: WBSLevel2) -> str:
    blocks: list[str] = []
    for phase in level1.phases:
        blocks += [heading(f"{phase.id} {phase.title}", 3),
                   bullets(t.title for t in level2.tasks if t.phase_id == phase.id)]
    if level2.notes:
        blocks += ["**Adjustments**", bullets(level2.notes)]
    return document("Work breakdown: tasks per phase", *blocks)


# -- the numbered tree --------------------------------------------------------------------------
def build_project12(level1: WBSLevel1, level2: WBSLevel2) -> WBSProject:
    """Ids by position: the k-th task of phase T-p is T-p.k, whatever the model called it."""
    phases: list[WBSTask] = []
    notes = list(level2.notes)
    for phase in level1.phases:
        own = [t for t in level2.tasks if t.phase_id == phase.id]
        if not own:
            notes.append(f"phase {phase.id} had no tasks; it is carried out as one task")
            own = [Level2Task(phase_id=phase.id, title=phase.title, description=phase.description)]
        children = [WBSTask(id=f"{phase.id}.{k}", title=t.title, description=t.description)
                    for k, t in enumerate(own, 1)]
        phases.append(WBSTask(id=phase.id, title=phase.title, description=phase.description, children=children))
    return WBSProject(title=level1.project_title, final_deliverable=level1.final_deliverable,
                      phases=phases, notes=notes)


def _days(task: WBSTask) -> str:
    if task.duration_days is None:
        return ""
    days = f"{task.duration_days:g} day{'s' if task.duration_days != 1 else ''}"
    return f" ({days}{', default' if task.duration_defaulted else ''})"


def outline(project: WBSProject, with_descriptions: bool = True) -> str:
    """The tree as an indented list, ids first; also the form the later prompts show the model."""
    lines: list[str] = []

    def walk(task: WBSTask, depth: int) -> None:
        text = f"{task.id} {one_line(task.title)}{_days(task)}"
        if with_descriptions and task.description and depth < 2:
            text += f": {one_line(task.description)}"
        lines.append(f"{'  ' * depth}- {text}")
        for child in task.children:
            walk(child, depth + 1)

    for phase in project.phases:
        walk(phase, 0)
    return "\n".join(lines)


def project_to_markdown(project: WBSProject, title: str) -> str:
    blocks = [f"**{project.title}**: {one_line(project.final_deliverable)}", outline(project)]
    if project.notes:
        blocks += ["**Adjustments**", bullets(project.notes)]
    return document(title, *blocks)


# -- schedule input -----------------------------------------------------------------------------
def plan_schedule(project: WBSProject, dependencies: list[tuple[str, str]], start: date) -> DatedSchedule:
    """Every WBS node as a schedule task; subtasks of one task run one after another (their
    durations were scaled to add up to the task's estimate), plus the model's dependencies."""
    tasks: list[ScheduleTask] = []
    chain: list[tuple[str, str]] = []

    def walk(task: WBSTask, parent: str | None, level: int) -> None:
        tasks.append(ScheduleTask(id=task.id, title=task.title, parent_id=parent, level=level,
                                  duration_days=task.duration_days if task.duration_days is not None else 1.0))
        for before, after in zip(task.children, task.children[1:]):
            if level == 2:
                chain.append((after.id, before.id))
        for child in task.children:
            walk(child, task.id, level + 1)

    for phase in project.phases:
        walk(phase, None, 1)
    return compute_schedule(tasks, chain + list(dependencies), start)
