"""The work breakdown: phases (level 1), their tasks (level 2), and the tree our code numbers.

The model proposes phases and tasks; our code numbers them by position (phases T-1..,
tasks T-1.1..), so ids are stable and never taken from what the model wrote. Level 2 is
one call per phase, all at the same time, merged in phase order; a phase left without tasks
gets one task of its own so every phase has work to estimate, decompose and schedule.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from planexe_pipeline.errors import InputError
from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import WIDTH_KEY, bounded
from planexe_pipeline.stages.markdown import bullets, condensed_user_prompt, user_prompt, document, one_line
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
                                      json_schema_extra={"minItems": 4, "maxItems": ASKED_PHASES, WIDTH_KEY: "wbs_phases"})


class Phase(BaseModel):
    id: str
    title: str
    description: str


class WBSLevel1Answer(BaseModel):
    model_config = ConfigDict(title="WBSLevel1")  # the name models know it by

    project_title: str
    final_deliverable: str
    phases: list[Phase]


LEVEL1_SYSTEM_PROMPT = """You set up the top of a work breakdown structure for a project plan.
Name the project and its final deliverable, then split the work into four to six phases
in the order they start, from preparation to handover. Each phase must end in something
tangible (an approval, a build, a launch), and together they must cover the whole plan."""


def number_phases(answer: Level1Answer) -> WBSLevel1Answer:
    phases = [p for p in answer.phases if one_line(p.title)][:MAX_PHASES]
    if not phases:
        phases = [PhaseAnswer(title=one_line(answer.final_deliverable) or "Project delivery", description="")]
    return WBSLevel1Answer(project_title=one_line(answer.project_title), final_deliverable=answer.final_deliverable,
                     phases=[Phase(id=f"T-{i}", title=one_line(p.title), description=p.description)
                             for i, p in enumerate(phases, 1)])


def execute_level1(llm: LLMExecutor, plan: str, project_plan: str) -> WBSLevel1Answer:
    answer = llm.structured(Level1Answer, LEVEL1_SYSTEM_PROMPT, user_prompt(plan=plan, project_plan=project_plan))
    return number_phases(answer)


def phases_text(level1: WBSLevel1Answer) -> str:
    return "\n".join(f"- {p.id}: {p.title}. {one_line(p.description)}".rstrip() for p in level1.phases)


def level1_to_markdown(level1: WBSLevel1Answer) -> str:
    return document("Work breakdown: phases", f"**{level1.project_title}**: {one_line(level1.final_deliverable)}",
                    phases_text(level1))


# -- level 2: one call per phase ---------------------------------------------------------------
class Level2TaskAnswer(BaseModel):
    title: str = Field(description="Task name starting with a verb, e.g. 'Commission the grid study'.")
    description: str = Field(description="What is done and what it produces, in one or two sentences.",
                             json_schema_extra=bounded(chars=300))


class PhaseTasksAnswer(BaseModel):
    tasks: list[Level2TaskAnswer] = Field(
        description="Three to six tasks of this phase, in the order work would start.",
        # Soft: what the prompt asks at most; a trim drops the last tasks of the phase, and the note says so.
        json_schema_extra=bounded(ASKED_TASKS_PER_PHASE, width="wbs_tasks_per_phase", soft=True))


class Level2Task(BaseModel):
    phase_id: str = Field(description="The phase, by our id.")
    title: str
    description: str


class PhaseTasks(BaseModel):
    """One phase's tasks: an item of the level-2 fan-out."""

    phase_id: str
    tasks: list[Level2Task] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


LEVEL2_SYSTEM_PROMPT = """You break one phase of a project into its main tasks (level 2 of the work breakdown).
Give three to six tasks a team lead could own and estimate, each starting with a verb and
producing something checkable, in the order work would start. Stay within this phase: the
other phases are listed so that their work is left to them."""


def execute_level2(llm: LLMExecutor, phase: Phase, *, plan: str, project_plan: str,
                   level1: WBSLevel1Answer) -> PhaseTasks:
    others = "\n".join(f"- {p.id}: {p.title}" for p in level1.phases if p.id != phase.id)
    user = condensed_user_prompt(plan=plan, project_plan=project_plan,
                             tail={"phase_to_break_down": f"{phase.id}: {phase.title}. {one_line(phase.description)}",
                                   "other_phases": others})
    answer = llm.structured(PhaseTasksAnswer, LEVEL2_SYSTEM_PROMPT, user)
    tasks = [Level2Task(phase_id=phase.id, title=one_line(t.title), description=t.description)
             for t in answer.tasks if one_line(t.title)]
    dropped = len(answer.tasks) - len(tasks)
    return PhaseTasks(phase_id=phase.id, tasks=tasks,
                      notes=[f"phase {phase.id}: dropped {dropped} task{'s' if dropped > 1 else ''} with no title"]
                      if dropped else [])


# -- the numbered tree --------------------------------------------------------------------------
def build_project12(phase_tasks: list[PhaseTasks], level1: WBSLevel1Answer) -> WBSProject:
    """The phases' tasks, merged in phase order; ids by position: the k-th task of phase T-p is
    T-p.k, whatever the model called it. At most MAX_LEVEL2_TASKS in all."""
    phases: list[WBSTask] = []
    notes = [note for item in phase_tasks for note in item.notes]
    by_phase = {item.phase_id: item.tasks for item in phase_tasks}
    room = MAX_LEVEL2_TASKS
    for phase in level1.phases:
        own = by_phase.get(phase.id, [])
        if len(own) > max(room, 1):
            notes.append(f"phase {phase.id}: kept {max(room, 1)} of its {len(own)} tasks "
                         f"(at most {MAX_LEVEL2_TASKS} in the plan)")
            own = own[:max(room, 1)]
        room -= len(own)
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
def first_day(fingerprint: dict) -> date:
    """The schedule's first day: the one the run folder recorded when the run began, so that a
    resumed run keeps its dates."""
    recorded = fingerprint.get("start_date")
    if not recorded:
        raise InputError("the run folder records no start date: start the plan in a new folder")
    try:
        return date.fromisoformat(recorded)
    except ValueError:
        raise InputError(f"start date '{recorded}' is not a date: use YYYY-MM-DD") from None


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
