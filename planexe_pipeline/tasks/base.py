"""The task shapes every stage uses: PlanTask, LLMTask and LLMStage (fan-outs: tasks/fanout.py).

A task reads exactly the outputs it declares (`inputs`, tasks/inputs.py), calls a stage's pure
function, and writes its numbered files in the run folder through Luigi targets (atomic: written
to a temporary file, renamed when closed), so a killed run never leaves a half file that looks
complete. Every concrete task is registered where it is defined (`PLAN_TASKS`): the report's
sections, the edge table and the tests find the tasks there, not in hand-kept lists.
"""

from __future__ import annotations

import json
import os
import sys
from functools import cached_property
from typing import Any, Callable, ClassVar, TypeVar

import luigi
from pydantic import BaseModel

from planexe_pipeline import run_settings
from planexe_pipeline.errors import UnreadableOutput
from planexe_pipeline.llm.executor import LLMExecutor, NamedModel
from planexe_pipeline.llm.limiter import SharedLimiter
from planexe_pipeline.llm.spend import PlanSpend
from planexe_pipeline.report.sections import Section
from planexe_pipeline.run_settings import RunSettings
from planexe_pipeline.stages.markdown import FLAGS_KEY, with_flags
from planexe_pipeline.tasks import run_io
from planexe_pipeline.tasks.inputs import Input, check_declaration, keyword_forms, read_as, read_json
from planexe_pipeline.tasks.run_io import TaskIO
from planexe_pipeline.telemetry import task_events

M = TypeVar("M", bound=BaseModel)

# Every task class that writes files of a plan, by task family, in the order they were defined.
PLAN_TASKS: dict[str, type["PlanTask"]] = {}


_said_unreadable: set[str] = set()
_read_back: set[tuple] = set()  # outputs this process has read back whole: (class, path, size, mtime)
# Luigi forks task processes from the process that imported the graph and asks both whether a
# yielded task is complete; only the parent speaks, so each file is named once.
_SPEAKER_PID = os.getpid()


def _stat(path: str) -> os.stat_result | None:
    """The file's stat, or None where there is no file."""
    try:
        return os.stat(path)
    except OSError:
        return None


def _say_redoing(error: UnreadableOutput) -> None:
    if os.getpid() == _SPEAKER_PID and error.path not in _said_unreadable:
        _said_unreadable.add(error.path)
        print(f"planexe-pipeline: {error.path} is unreadable: redoing that step", file=sys.stderr, flush=True)


class PlanTask(luigi.Task):
    """A step of one plan run; its outputs are named files in `run_dir`."""

    run_dir = luigi.Parameter(description="Folder of this plan run; every output goes there.")
    # The run's settings are resolved once and recorded in its folder (run_settings.py); these
    # parameters are how Luigi's own command line gives them, over the folder's record. They change
    # no output's identity, so they stay out of task ids.
    speed = luigi.ChoiceParameter(choices=["fast", "full"], default="full", significant=False,
                                  description="fast caps every fan-out at [pipeline] fast_fanout_width items.")
    llm = luigi.Parameter(default="", significant=False, description="Models to try in order, comma-separated.")
    llm_config = luigi.Parameter(default="", significant=False, description="Path of llm_config.json.")
    prompt_file = luigi.Parameter(default="", significant=False, description="File holding the plan prompt.")
    prompt = luigi.Parameter(default="", significant=False, description="The plan prompt itself.")
    start_date = luigi.Parameter(default="", significant=False,
                                 description="First day of the schedule (YYYY-MM-DD); default: the day the run began.")
    no_screen = luigi.BoolParameter(default=False, significant=False,
                                    description="Plan the prompt without screening it first (ScreenPrompt).")

    # The declaration of a stage: its place in dependency order and its name give its files
    # (NNN-stem.json, NNN-stem.md, one per kind); its section, if any, is part of the report;
    # its group is the name of the module that defines it unless it says otherwise.
    number: ClassVar[int]
    stem: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]] = ("json", "md")
    group: ClassVar[str]
    section: ClassVar[Section | None] = None
    files: ClassVar[dict[str, str]] = {}  # output key -> file name; derived from the above
    binary: ClassVar[bool] = False  # its files are bytes, not text (the PDF and Word exports)
    text_output: ClassVar[str] = "md"  # the output a reader annotating `str` gets
    inputs: ClassVar[dict[str, Input]] = {}  # what it reads (tasks/inputs.py)
    # task family -> Luigi priority, filled by the module that knows the whole graph
    # (pipeline.py); a task outside a plan (a test's own graph) schedules at 0.
    priorities: ClassVar[dict[str, int]] = {}
    # The graph's node of a task class (tasks/graph.py, which registers it here): what requires()
    # returns is the node's edges, built and checked once from the declarations below.
    node_of: ClassVar[Callable[[type], Any]]
    # The model the task's JSON holds, where run() is code of its own (else it follows from execute).
    answer: ClassVar[type[BaseModel] | None] = None
    # The check of a run folder for edits and stale outputs before Luigi first looks at it
    # (tasks/revision.py, registered by pipeline.py): a run started by runner.py has done it before
    # it starts; a run from Luigi's own command line does it on its first look.
    check_folder: ClassVar[Callable[["PlanTask"], None] | None] = None
    _params_by_class: ClassVar[dict[type, list]] = {}

    @classmethod
    def get_params(cls) -> list:
        # Luigi finds a class's parameters with dir() on every call, and calls it for every task
        # object made (each requires() and input() clones its upstream tasks), every parameter
        # string and every line of its run summary: most of the CPU of walking the plan's graph
        # (59 ms a walk, 10 ms with this). A class's parameters are fixed once it is defined.
        params = PlanTask._params_by_class.get(cls)
        if params is None:
            params = PlanTask._params_by_class[cls] = super().get_params()
        return list(params)

    def clone(self, cls=None, **kwargs):
        # Every requires() clones its upstream tasks, and it is called again and again for the
        # same task: the walk of the graph, each merge's items added, each process's check of
        # its inputs. A clone with no parameter changed depends on this task and the class
        # alone, so each is made once (the walk of the plan: 29 ms -> 18 ms).
        if kwargs or cls is None:
            return super().clone(cls, **kwargs)
        clones = self.__dict__.setdefault("_clones", {})
        if cls not in clones:
            clones[cls] = super().clone(cls)
        return clones[cls]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "group" not in vars(cls):
            cls.group = cls.__module__.rsplit(".", 1)[-1]
        if "stem" in vars(cls):
            cls.declare_files()
        if "number" in vars(cls) or "files" in vars(cls):
            PLAN_TASKS[cls.task_family] = cls

    @classmethod
    def declare_files(cls) -> None:
        cls.files = {kind: f"{cls.number:03d}-{cls.stem}.{kind}" for kind in cls.kinds}

    @classmethod
    def declared_inputs(cls) -> dict[str, Input]:
        """What the task reads, by name: its requires(), and the edges in the docs."""
        return cls.inputs

    def output(self) -> dict[str, luigi.LocalTarget]:
        return {key: self.target(name) for key, name in self.files.items()}

    def target(self, name: str) -> luigi.LocalTarget:
        # Bytes as they are for a file of bytes (a PDF); text through Luigi's default format.
        return luigi.LocalTarget(os.path.join(self.run_dir, name), format=luigi.format.Nop if self.binary else None)

    def complete(self) -> bool:
        """Every output exists and reads back, and its record is not stale (its inputs changed, or
        someone asked for it again: tasks/revision.py). A truncated write (a full disk on another
        host) in a folder without records makes the task not done, so a run redoes it instead of
        failing downstream on every resume. A task the run does not run (in_this_run) is done,
        without a file, so what requires it runs."""
        if not self.in_this_run():
            return True
        if self.check_folder is not None:
            self.check_folder()
        outputs = luigi.task.flatten(self.output())
        if not outputs:
            return super().complete()
        stats = [_stat(target.path) for target in outputs]
        if None in stats or run_io.is_stale(self):
            return False
        try:
            for target, stat in zip(outputs, stats):
                # A task process checks the same inputs for task after task: a file read back
                # once is not parsed again until it changes (another size or time of writing).
                key = (type(self), target.path, stat.st_size, stat.st_mtime_ns)
                if key not in _read_back:
                    self.check_output(target)
                    _read_back.add(key)
        except UnreadableOutput as error:
            _say_redoing(error)
            return False
        return True

    def check_output(self, target: luigi.LocalTarget) -> None:
        """Raise UnreadableOutput unless the file reads back as what this task writes."""
        if target.path.endswith(".json"):
            read_json(target)

    @property
    def priority(self) -> int:  # type: ignore[override]
        return self.priorities.get(self.task_family, 0)

    @classmethod
    def in_this_run(cls) -> bool:
        """Whether a run runs this task. False for a step done by definition (an export format
        the run does not write): the run's expected work (tasks/expected_work.py) leaves it out."""
        return True

    def failure_ends_run(self) -> bool:
        """Whether the failure this task just had ends the whole run at once, the calls in flight
        included (worker.py), instead of leaving the tasks that do not need it to run on. Asked
        by the worker, after the failure."""
        return False

    def telemetry_fields(self) -> dict[str, Any]:
        """What every task line of this task says about it."""
        return {"task_family": self.task_family, "task_id": self.task_id, "item": getattr(self, "index", None),
                "group": self.group, "llm": False, "resources": tuple(sorted(self.process_resources()))}

    def dependency_ids(self) -> list[str]:
        """Every task this one reads, dynamic dependencies included: the edges of the timeline."""
        return sorted({t.task_id for t in luigi.task.flatten(self.requires())})

    # -- reading inputs ----------------------------------------------------------------------
    def upstream(self, spec: Input) -> luigi.Task:
        return self.clone(spec.task) if spec.item is None else self.clone(spec.task, index=spec.item(self.index))

    def requires(self) -> dict[str, luigi.Task]:
        return {name: self.upstream(spec) for name, spec in self.node_of(type(self)).reads.items()}

    @cached_property
    def _inputs(self) -> Any:
        return super().input()

    def input(self) -> Any:
        # Luigi's input() calls requires(), which clones every upstream task again; the report
        # reads twenty inputs, a fifth of its time on the critical path's last step went there.
        return self._inputs

    @cached_property
    def io(self) -> TaskIO:
        """Every input this task reads goes through here (tasks/run_io.py): its record says what
        its outputs were made from."""
        return TaskIO(self.run_dir)

    def read(self, name: str, form: Any = str) -> Any:
        """Input `name` as text (`str`), as a pydantic model, or as plain JSON (`dict`)."""
        return read_as(self.input()[name], self.declared_inputs()[name], form, self.io.read)

    def call(self, fn: Callable, *leading: Any) -> Any:
        """fn(*leading, every other parameter read from the input of the same name)."""
        return fn(*leading, **{name: self.read(name, form) for name, form in keyword_forms(fn, len(leading))})

    # -- writing outputs ---------------------------------------------------------------------
    def write_text(self, key: str, text: str) -> None:
        with self.output()[key].open("w") as fh:
            fh.write(text)

    def write_json(self, key: str, data: Any) -> None:
        if isinstance(data, BaseModel):
            data = data.model_dump(mode="json")
        if isinstance(data, dict) and self.quality_flags():
            data = {**data, FLAGS_KEY: self.quality_flags()}
        self.write_text(key, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def write_stage(self, result: BaseModel, markdown: str | None = None) -> None:
        """The usual pair: the stage's model as JSON, and its markdown section."""
        self.write_json("json", result)
        if markdown is not None and "md" in self.files:
            self.write_text("md", section_text(markdown, self.quality_flags()))

    def rendered_from(self, result: BaseModel, flags: list[str]) -> dict[str, str]:
        """The files a stage writes from its answer by code alone (its markdown), as run() writes
        them: after a person's edit of the JSON, the rest of the stage's files follow it."""
        to_markdown = getattr(self, "to_markdown", None)
        if to_markdown is None or "md" not in self.files:
            return {}
        return {"md": section_text(to_markdown(result), flags)}

    def quality_flags(self) -> list[str]:
        """Degenerate places of the LLM answers this task kept (llm/degeneracy.py), and of the
        items a merge merged: its files flag them where a reader will see them."""
        return [*(flag for executor in self.__dict__.get("_executors", ()) for flag in executor.flags),
                *self.__dict__.get("_item_flags", ())]

    # -- run-wide settings -------------------------------------------------------------------
    @property
    def settings(self) -> RunSettings:
        """The run's settings, as its folder recorded them (run_settings.py)."""
        return run_settings.for_task(self.run_dir, llm=self.llm, llm_config=self.llm_config, speed=self.speed,
                                     start_date=self.start_date, no_screen=self.no_screen)

    def fanout_cap(self) -> int | None:
        return self.settings.fanout_cap()


def section_text(markdown: str, flags: list[str]) -> str:
    return with_flags(markdown, flags).rstrip() + "\n"


def declare_stage_functions(cls: type, leading: int, not_for_fn: tuple[str, ...] = ()) -> None:
    """A task's `execute` and `to_markdown` are the stage's own functions, stored as given."""
    for attr in ("execute", "to_markdown"):
        fn = vars(cls).get(attr)
        if fn is not None and not isinstance(fn, staticmethod):
            setattr(cls, attr, staticmethod(fn))
    if "execute" in vars(cls) or "inputs" in vars(cls):
        execute = getattr(cls, "execute", None)
        if execute is not None:
            check_declaration(cls.__name__, execute, leading, cls.inputs, not_for_fn)


class MarkdownStage(PlanTask):
    """A stage made by our code alone: `execute(**inputs) -> str` is its markdown file."""

    kinds = ("md",)
    execute: ClassVar[Callable[..., str]]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declare_stage_functions(cls, leading=0)

    def run(self):
        self.write_text("md", self.call(self.execute))


class LLMTask(PlanTask):
    """A task that makes LLM calls: it holds one slot of the `llm` resource while it runs."""

    resources = {"llm": 1}

    def telemetry_fields(self) -> dict[str, Any]:
        return {**super().telemetry_fields(), "llm": True}

    def route(self) -> tuple[str | None, list[str]]:
        """The route of llm_config.json this task's calls take (its stage's, else its group's) and
        its models; else (None, the run's --llm): as the run's settings hold them."""
        return self.settings.route(self.task_family, self.group)

    def executor(self) -> LLMExecutor:
        settings = self.settings
        route, names = self.route()
        # What a person asked when they had this step asked again (planexe-pipeline redo): a
        # remark added to its prompt, another model (tasks/run_io.py keeps it in the record).
        asked = getattr(self, "previous_record", None)
        if asked is not None and asked.asked_model:
            route, names = None, [asked.asked_model]
        # Every process of the run (and every host sharing the run folder) meets each provider
        # through one shared limit, which starts at the run's LLM slots.
        models = [NamedModel.from_entry(e, SharedLimiter(self.run_dir, endpoint=e.endpoint(), model=e.name,
                                                         cap=settings.llm_slots, limits=e.limits)
                                        if e.limits.adaptive or e.limits.stated else None, route=route)
                  for e in settings.entries_for(names)]
        # A fan-out item's telemetry and failure report name its index.
        executor = LLMExecutor(models, run_dir=self.run_dir, stage=self.task_family, task_id=self.task_id,
                               item=getattr(self, "index", None), policy=settings.retry,
                               priority=self.priority, stage_name=self.stem,
                               spend=PlanSpend(self.run_dir, settings.budget_usd), remark=asked.remark if asked else None)
        self.__dict__.setdefault("_executors", []).append(executor)  # for the flags of what it kept
        return executor


class LLMStage(LLMTask):
    """One LLM call of a stage: `execute(llm, **inputs)` answers, `to_markdown` renders it."""

    execute: ClassVar[Callable[..., BaseModel]]
    to_markdown: ClassVar[Callable[[Any], str]]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declare_stage_functions(cls, leading=1)

    def run(self):
        result = self.call(self.execute, self.executor())
        self.write_stage(result, self.to_markdown(result))


# Every plan task marks its record stale when it starts and writes it when it is done (first, so
# that a task seen to have ended has its record), and writes its start and end lines, in whichever
# process runs it.
PlanTask.event_handler(luigi.Event.START)(run_io.begin)
PlanTask.event_handler(luigi.Event.SUCCESS)(run_io.finish)
PlanTask.event_handler(luigi.Event.START)(task_events.record_start)
PlanTask.event_handler(luigi.Event.SUCCESS)(task_events.record_success)
PlanTask.event_handler(luigi.Event.FAILURE)(task_events.record_failure)
