"""The three task shapes every stage uses: PlanTask, LLMTask, and the fan-out pair.

A task reads exactly the outputs it requires, calls a stage's pure `execute()`, and writes its
numbered files in the run folder through Luigi targets (atomic: written to a temporary file,
renamed when closed), so a killed run never leaves a half file that looks complete.
"""

from __future__ import annotations

import json
import os
import sys
from functools import cached_property
from typing import Any, ClassVar, Generic, Sequence, TypeVar

import luigi
from pydantic import BaseModel

from planexe_pipeline.errors import UnreadableOutput
from planexe_pipeline.llm.config import load_llm_config, parse_model_list, resolve_models
from planexe_pipeline.llm.executor import LLMExecutor, NamedModel
from planexe_pipeline.llm.limiter import SharedLimiter
from planexe_pipeline.report.sections import Section
from planexe_pipeline.settings import retry_policy, pipeline
from planexe_pipeline.stages.markdown import FLAGS_KEY, with_flags
from planexe_pipeline.telemetry import task_events

M = TypeVar("M", bound=BaseModel)


def read_output(target: luigi.LocalTarget) -> str:
    try:
        with target.open("r") as fh:
            return fh.read()
    except UnicodeDecodeError:
        raise UnreadableOutput(target.path) from None


def read_model(target: luigi.LocalTarget, model: type[M]) -> M:
    text = read_output(target)
    try:
        return model.model_validate_json(text)
    except ValueError:  # invalid JSON and schema violations (pydantic's ValidationError) alike
        raise UnreadableOutput(target.path) from None


def read_json(target: luigi.LocalTarget) -> Any:
    text = read_output(target)
    try:
        return json.loads(text)
    except ValueError:
        raise UnreadableOutput(target.path) from None


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
    speed = luigi.ChoiceParameter(choices=["fast", "full"], default="full",
                                  description="fast caps every fan-out at [pipeline] fast_fanout_width items.")
    # Read once by Setup, or to run and fall back between models: they change no output's
    # identity, so they stay out of task ids and a resumed run may pass others.
    llm = luigi.Parameter(default="", significant=False, description="Models to try in order, comma-separated.")
    llm_config = luigi.Parameter(default="", significant=False, description="Path of llm_config.json.")
    prompt_file = luigi.Parameter(default="", significant=False, description="File holding the plan prompt.")
    prompt = luigi.Parameter(default="", significant=False, description="The plan prompt itself.")
    start_date = luigi.Parameter(default="", significant=False,
                                 description="First day of the schedule (YYYY-MM-DD); default: the day the run began.")

    # The declaration of a stage: its place in dependency order and its name give its files
    # (NNN-stem.json, NNN-stem.md, one per kind); its section, if any, is part of the report.
    number: ClassVar[int]
    stem: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]] = ("json", "md")
    group: ClassVar[str] = "plan"
    section: ClassVar[Section | None] = None
    files: ClassVar[dict[str, str]] = {}  # output key -> file name; derived from the above
    # task family -> Luigi priority, filled by the module that knows the whole graph
    # (pipeline.py); a task outside a plan (a test's own graph) schedules at 0.
    priorities: ClassVar[dict[str, int]] = {}
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
        if "stem" in vars(cls):
            cls.declare_files()

    @classmethod
    def declare_files(cls) -> None:
        cls.files = {kind: f"{cls.number:03d}-{cls.stem}.{kind}" for kind in cls.kinds}

    def output(self) -> dict[str, luigi.LocalTarget]:
        return {key: self.target(name) for key, name in self.files.items()}

    def target(self, name: str) -> luigi.LocalTarget:
        return luigi.LocalTarget(os.path.join(self.run_dir, name))

    def complete(self) -> bool:
        """Every output exists and reads back. A truncated write (a full disk on another host) or
        a broken hand edit makes the task not done, so a run redoes it instead of failing
        downstream on every resume."""
        outputs = luigi.task.flatten(self.output())
        if not outputs:
            return super().complete()
        stats = [_stat(target.path) for target in outputs]
        if None in stats:
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

    def telemetry_fields(self) -> dict[str, Any]:
        """What every task line of this task says about it."""
        return {"task_family": self.task_family, "task_id": self.task_id, "item": getattr(self, "index", None),
                "group": self.group, "llm": False}

    def dependency_ids(self) -> list[str]:
        """Every task this one reads, dynamic dependencies included: the edges of the timeline."""
        return sorted({t.task_id for t in luigi.task.flatten(self.requires())})

    # -- reading inputs ----------------------------------------------------------------------
    @cached_property
    def _inputs(self) -> Any:
        return super().input()

    def input(self) -> Any:
        # Luigi's input() calls requires(), which clones every upstream task again; the report
        # reads twenty inputs, a fifth of its time on the critical path's last step went there.
        return self._inputs

    def input_text(self, name: str, key: str = "md") -> str:
        return read_output(self.input()[name][key])

    def input_json(self, name: str, key: str = "json") -> Any:
        return read_json(self.input()[name][key])

    def input_model(self, name: str, model: type[M], key: str = "json") -> M:
        return read_model(self.input()[name][key], model)

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
            self.write_text("md", with_flags(markdown, self.quality_flags()).rstrip() + "\n")

    def quality_flags(self) -> list[str]:
        """Degenerate places of the LLM answers this task kept (llm/degeneracy.py), and of the
        items a merge merged: its files flag them where a reader will see them."""
        return [*(flag for executor in self.__dict__.get("_executors", ()) for flag in executor.flags),
                *self.__dict__.get("_item_flags", ())]

    # -- run-wide settings -------------------------------------------------------------------
    def model_names(self) -> list[str]:
        return parse_model_list(self.llm or pipeline().llm)

    def fanout_cap(self) -> int | None:
        return pipeline().fast_fanout_width if self.speed == "fast" else None


class LLMTask(PlanTask):
    """A task that makes LLM calls: it holds one slot of the `llm` resource while it runs."""

    resources = {"llm": 1}

    def telemetry_fields(self) -> dict[str, Any]:
        return {**super().telemetry_fields(), "llm": True}

    def executor(self) -> LLMExecutor:
        entries = resolve_models(self.model_names(), load_llm_config(self.llm_config or None))
        # Every process of the run (and every host sharing the run folder) meets each provider
        # through one shared limit, which starts at the run's LLM slots.
        slots = luigi.configuration.get_config().getint("resources", "llm", 8)
        models = [NamedModel.from_entry(e, SharedLimiter(self.run_dir, endpoint=e.endpoint(), model=e.name,
                                                         cap=slots, limits=e.limits)
                                        if e.limits.adaptive or e.limits.stated else None) for e in entries]
        # A fan-out item's telemetry and failure report name its index.
        executor = LLMExecutor(models, run_dir=self.run_dir, stage=self.task_family, task_id=self.task_id,
                               item=getattr(self, "index", None), policy=retry_policy().policy(),
                               priority=self.priority)
        self.__dict__.setdefault("_executors", []).append(executor)  # for the flags of what it kept
        return executor


ItemT = TypeVar("ItemT")


class FanOutItem(LLMTask, Generic[ItemT]):
    """One LLM call of a fan-out: item `index` of the list its upstream produced.

    Subclasses declare the stage (`number`, `stem`, `group`: the items go to NNN-stem/, the
    merge writes NNN-stem.json and .md), the `result_model` they write, the tasks their list
    comes from (`list_requires`, also what the merge needs to know the width) and any other
    input (`context_requires`), and implement `all_items()` and `process()`.
    """

    index = luigi.IntParameter(description="Position of the item in its fan-out list, from 0.")

    stage_dir: ClassVar[str]
    result_model: ClassVar[type[BaseModel]]

    @classmethod
    def declare_files(cls) -> None:
        cls.stage_dir = f"{cls.number:03d}-{cls.stem}"

    def list_requires(self) -> dict[str, luigi.Task]:
        return {}

    def context_requires(self) -> dict[str, luigi.Task]:
        return {}

    def requires(self) -> dict[str, luigi.Task]:
        return {**self.list_requires(), **self.context_requires()}

    def output(self) -> dict[str, luigi.LocalTarget]:
        return {"json": self.target(os.path.join(self.stage_dir, f"item-{self.index:03d}.json"))}

    def all_items(self) -> Sequence[ItemT]:
        raise NotImplementedError

    def items(self) -> Sequence[ItemT]:
        """The fan-out list as the run sees it: capped under --speed fast."""
        items = list(self.all_items())
        cap = self.fanout_cap()
        return items[:cap] if cap is not None else items

    def process(self, item: ItemT) -> BaseModel:
        raise NotImplementedError

    def check_output(self, target: luigi.LocalTarget) -> None:
        read_model(target, self.result_model)  # an item's schema is known: check it whole

    def run(self) -> None:
        items = self.items()
        if not 0 <= self.index < len(items):
            raise IndexError(f"{self.task_family} has {len(items)} items; index {self.index} is out of range")
        self.write_json("json", self.process(items[self.index]))


class FanOutMerge(PlanTask):
    """Runs every item of a fan-out at once and merges their outputs in index order.

    The width is only known once the list exists, so `run()` yields all item tasks in one
    dynamic-dependency batch (one at a time would serialise them). Luigi re-enters `run()`
    from the top after the batch, so everything before the yield is a cheap read.
    """

    item_task: ClassVar[type[FanOutItem]]
    # Reading a list and merging files takes milliseconds: the plan's worker runs it itself
    # instead of handing it to a task process (worker.py).
    runs_in_worker: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs):
        # A fan-out is declared once, on its items; the merge writes the stage's files, under
        # the same number and name unless it declares its own (a merge that is a stage of its own).
        if "item_task" in vars(cls) and "stem" not in vars(cls):
            cls.number, cls.stem = cls.item_task.number, cls.item_task.stem
            if "group" not in vars(cls):
                cls.group = cls.item_task.group
        super().__init_subclass__(**kwargs)

    @cached_property
    def _probe(self) -> FanOutItem:
        return self.clone(self.item_task, index=0)

    def requires(self) -> dict[str, luigi.Task]:
        return self._probe.list_requires()

    def item_tasks(self) -> list[FanOutItem]:
        return [self.clone(self.item_task, index=i) for i in range(len(self._probe.items()))]

    def merge_requires(self) -> dict[str, luigi.Task]:
        """Inputs only the merge reads. They are yielded with the items, not required up front,
        so they never delay the moment the items are discovered and start."""
        return {}

    def merge_input_model(self, name: str, model: type[M], key: str = "json") -> M:
        return read_model(self.merge_requires()[name].output()[key], model)

    def dynamic_requires(self) -> list[luigi.Task]:
        """What run() yields: every item, then the merge-only inputs."""
        return [*self.item_tasks(), *self.merge_requires().values()]

    def dependency_ids(self) -> list[str]:
        return sorted({*super().dependency_ids(), *(t.task_id for t in self.dynamic_requires())})

    def run(self):
        batch = self.dynamic_requires()
        if not all(t.complete() for t in batch):
            task_events.record_end(self, "yielded")  # Luigi suspends us here without an event of its own
        yield batch
        items = [t for t in batch if isinstance(t, self.item_task)]
        self._item_flags = [f"item {t.index}: {flag}" for t in items for flag in _flags_of(t.output()["json"])]
        self.merge([read_model(t.output()["json"], t.result_model) for t in items])

    def merge(self, results: list[BaseModel]) -> None:
        raise NotImplementedError


def _flags_of(target: luigi.LocalTarget) -> list[str]:
    """The quality flags an item's file carries; most carry none, and are not parsed for it."""
    text = read_output(target)
    return read_json(target).get(FLAGS_KEY, []) if f'"{FLAGS_KEY}"' in text else []


# Every plan task writes its start and end lines, in whichever process runs it.
PlanTask.event_handler(luigi.Event.START)(task_events.record_start)
PlanTask.event_handler(luigi.Event.SUCCESS)(task_events.record_success)
PlanTask.event_handler(luigi.Event.FAILURE)(task_events.record_failure)
