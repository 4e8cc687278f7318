"""The fan-out pair: one task per item of a list, and the merge that runs them all at once.

An item task declares the stage (`number`, `stem`: the items go to NNN-stem/, the merge writes
NNN-stem.json and .md), the `result_model` it writes, its `inputs` (tasks/inputs.py), which of
them holds the list (`items_input`; none for a list of our own), and `all_items()`. Its stage
function is `execute(llm, item, **inputs)`. The merge names its `item_task` and either the
stage's `execute(results)` and `to_markdown`, or a `merge()` of its own.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from typing import Any, Callable, ClassVar, Generic, Sequence, TypeVar

import luigi
from pydantic import BaseModel

from planexe_pipeline.errors import InputError, UnreadableOutput
from planexe_pipeline.stages.markdown import FLAGS_KEY
from planexe_pipeline.tasks import run_io
from planexe_pipeline.tasks.base import LLMTask, PlanTask, declare_stage_functions
from planexe_pipeline.tasks.inputs import Input, check_declaration, read_as, read_model
from planexe_pipeline.telemetry import task_events

ItemT = TypeVar("ItemT")


class FanOutItem(LLMTask, Generic[ItemT]):
    """One LLM call of a fan-out: item `index` of the list its upstream produced."""

    index = luigi.IntParameter(description="Position of the item in its fan-out list, from 0.")

    stage_dir: ClassVar[str]
    result_model: ClassVar[type[BaseModel]]
    items_input: ClassVar[str | None] = None  # the input holding the list: all the merge needs
    # --speed fast caps a fan-out over a list of things; not one answer written in parts,
    # which is whole only with every part.
    capped_when_fast: ClassVar[bool] = True
    execute: ClassVar[Callable[..., BaseModel]]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declare_stage_functions(cls, leading=2, not_for_fn=(cls.items_input,) if cls.items_input else ())

    @classmethod
    def declare_files(cls) -> None:
        cls.stage_dir = f"{cls.number:03d}-{cls.stem}"

    def output(self) -> dict[str, luigi.LocalTarget]:
        return {"json": self.target(os.path.join(self.stage_dir, f"item-{self.index:03d}.json"))}

    def all_items(self) -> Sequence[ItemT]:
        raise NotImplementedError

    def items(self) -> Sequence[ItemT]:
        """The fan-out list as the run sees it: capped under --speed fast."""
        items = list(self.all_items())
        cap = self.fanout_cap() if self.capped_when_fast else None
        return items[:cap] if cap is not None else items

    def process(self, item: ItemT) -> BaseModel:
        return self.call(self.execute, self.executor(), item)

    def check_output(self, target: luigi.LocalTarget) -> None:
        read_model(target, self.result_model)  # an item's schema is known: check it whole

    def run(self) -> None:
        items = self.items()
        if not 0 <= self.index < len(items):
            which = f"--index 0 to {len(items) - 1}" if items else "none to run"
            raise InputError(f"--index {self.index} is out of range: its list has {len(items)} items at "
                             f"--speed {self.speed} ({which})")
        self.write_json("json", self.process(items[self.index]))


class FanOutMerge(PlanTask):
    """Runs every item of a fan-out at once and merges their outputs in index order.

    The width is only known once the list exists, so `run()` yields all item tasks in one
    dynamic-dependency batch (one at a time would serialise them). Luigi re-enters `run()`
    from the top after the batch, so everything before the yield is a cheap read.
    """

    item_task: ClassVar[type[FanOutItem]]
    # Inputs only the merge reads. They are yielded with the items, not required up front, so
    # they never delay the moment the items are discovered and start.
    merge_inputs: ClassVar[dict[str, Input]] = {}
    # execute(results, **inputs): the items' results in index order, then any input by name.
    execute: ClassVar[Callable[..., BaseModel] | None] = None
    to_markdown: ClassVar[Callable[[Any], str] | None] = None
    # Reading a list and merging files takes milliseconds: the plan's worker runs it itself
    # instead of handing it to a task process (worker.py).
    runs_in_worker: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs):
        # A fan-out is declared once, on its items; the merge writes the stage's files, under
        # the same number, name and group unless it declares its own (a merge that is a stage
        # of its own).
        if "item_task" in vars(cls) and "stem" not in vars(cls):
            cls.number, cls.stem = cls.item_task.number, cls.item_task.stem
        if "item_task" in vars(cls) and "group" not in vars(cls):
            cls.group = cls.item_task.group
        super().__init_subclass__(**kwargs)
        for attr in ("execute", "to_markdown"):
            fn = vars(cls).get(attr)
            if fn is not None and not isinstance(fn, staticmethod):
                setattr(cls, attr, staticmethod(fn))
        if "execute" in vars(cls):
            # The merge may read its list; every merge-only input it declares, it must read.
            readable = {**cls.declared_inputs(), **cls.merge_inputs}
            check_declaration(cls.__name__, cls.execute, 1, readable, not_for_fn=tuple(cls.declared_inputs()))

    @classmethod
    def declared_inputs(cls) -> dict[str, Input]:
        name = cls.item_task.items_input
        return {name: cls.item_task.inputs[name]} if name else {}

    @cached_property
    def _probe(self) -> FanOutItem:
        return self.clone(self.item_task, index=0)

    def item_tasks(self) -> list[FanOutItem]:
        return [self.clone(self.item_task, index=i) for i in range(len(self._probe.items()))]

    def merge_requires(self) -> dict[str, luigi.Task]:
        return {name: self.upstream(spec) for name, spec in self.merge_inputs.items()}

    def read(self, name: str, form: Any = str) -> Any:
        if name in self.merge_inputs:
            return read_as(self.merge_requires()[name].output(), self.merge_inputs[name], form, self.io.read)
        return super().read(name, form)

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
        texts = [self.io.read(t.output()["json"]) for t in items]
        results = [_model_of(t, text) for t, text in zip(items, texts)]
        self._item_flags = [f"item {t.index}: {flag}" for t, text in zip(items, texts) for flag in _flags_of(text)]
        self.merge(results)
        run_io.remove_items_past(self._probe, len(items))

    def merge(self, results: list[BaseModel]) -> None:
        merged = self.call(self.execute, results)
        self.write_stage(merged, self.to_markdown(merged))


def _flags_of(text: str) -> list[str]:
    """The quality flags an item's file carries (tasks/base.py); most carry none, and are not parsed for it."""
    return json.loads(text).get(FLAGS_KEY, []) if f'"{FLAGS_KEY}"' in text else []


def _model_of(item: FanOutItem, text: str) -> BaseModel:
    try:
        return item.result_model.model_validate_json(text)
    except ValueError:  # invalid JSON and schema violations alike
        raise UnreadableOutput(item.output()["json"].path) from None
