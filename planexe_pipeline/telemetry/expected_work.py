"""What a run expects to do, recorded once when it starts: every stage, in the plan's order, with
how many tasks it runs, whether they are LLM calls, how long a call is expected to take and which
stages it waits for.

The process that starts a run holds the task graph and writes this record (tasks/expected_work.py);
`status`, the progress lines and the live view read it and never import the graph, which is what
lets `status` of a running plan answer in a fraction of a second. A fan-out's width is known only
once its list is written: a reader takes it from the merge's end line (it lists its items) as soon
as the merge has handed them out. Until then it is a guess: the median width of the plan's lists
known so far (FIRST_GUESS_WIDTH before there are any), capped as --speed caps it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from planexe_pipeline.run_folder import write_whole
from planexe_pipeline.telemetry.event_log import telemetry_dir
from planexe_pipeline.telemetry.events import Event, TaskEvent

EXPECTED_WORK_FILE = "expected_work.json"  # in the run's telemetry folder
# The width of a fan-out whose list is not written yet, before the plan has written any list:
# the middle of what the stages ask for (two to eight items).
FIRST_GUESS_WIDTH = 5


def guessed_width(known: list[int], cap: int | None) -> int:
    """A fan-out's width while its list is not written: as wide as the plan's lists known so far."""
    width = round(statistics.median(known)) if known else FIRST_GUESS_WIDTH
    return width if cap is None else min(cap, width)


@dataclass(frozen=True)
class ExpectedStage:
    family: str  # the task family
    tasks: int
    llm: bool  # each of its tasks makes an LLM call
    expected_s: float  # seconds one of its calls takes in the latency model; 0 for a step of our own
    after: tuple[str, ...] = ()  # the stages it waits for
    items_of: str | None = None  # a fan-out's items: the merge that hands them out
    estimated: bool = False  # `tasks` is a guess until that merge lists its items
    cap: int | None = None  # the most items --speed lets a guessed fan-out have


@dataclass(frozen=True)
class ExpectedWork:
    root: str  # the family of the task the run was asked for
    speed: str
    stages: tuple[ExpectedStage, ...]  # in the plan's order: a stage after every stage it waits for

    @property
    def tasks(self) -> int:
        return sum(stage.tasks for stage in self.stages)

    @property
    def llm_calls(self) -> int:
        return sum(stage.tasks for stage in self.stages if stage.llm)

    @property
    def estimated(self) -> list[str]:
        """The merges whose fan-out width is still a guess."""
        return sorted(stage.items_of for stage in self.stages if stage.estimated and stage.items_of)

    def with_widths(self, lines: Iterable[Event]) -> "ExpectedWork":
        """The same work with each guessed width replaced by the one its merge's end line lists,
        and the widths still guessed taken again from every list known by then."""
        guessed = {stage.items_of: stage for stage in self.stages if stage.estimated and stage.items_of}
        if not guessed:
            return self
        widths: dict[str, int] = {}
        for event in lines:
            if isinstance(event, TaskEvent) and event.is_end and event.task_family in guessed:
                widths[guessed[event.task_family].family] = listed_items(event, guessed[event.task_family].family)
        if not widths:
            return self
        known = [widths.get(stage.family, stage.tasks) for stage in self.stages
                 if stage.items_of and (stage.family in widths or not stage.estimated)]

        def updated(stage: ExpectedStage) -> ExpectedStage:
            if stage.family in widths:
                return dataclasses.replace(stage, tasks=widths[stage.family], estimated=False)
            if stage.estimated:
                return dataclasses.replace(stage, tasks=guessed_width(known, stage.cap))
            return stage

        return dataclasses.replace(self, stages=tuple(map(updated, self.stages)))

    def to_record(self) -> dict[str, Any]:
        return {"root": self.root, "speed": self.speed, "stages": [
            {key: list(value) if isinstance(value, tuple) else value
             for key, value in dataclasses.asdict(stage).items()} for stage in self.stages]}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "ExpectedWork":
        stages = tuple(ExpectedStage(family=str(s["family"]), tasks=int(s["tasks"]), llm=bool(s["llm"]),
                                     expected_s=float(s["expected_s"]), after=tuple(s.get("after", ())),
                                     items_of=s.get("items_of"), estimated=bool(s.get("estimated", False)),
                                     cap=s.get("cap"))
                       for s in record["stages"])
        return cls(root=str(record["root"]), speed=str(record["speed"]), stages=stages)


def listed_items(merge_end: TaskEvent, item_family: str) -> int:
    """How many items of `item_family` a merge's end line lists among what it read (task ids
    start with their family and an underscore)."""
    return sum(1 for dep in merge_end.deps if dep.startswith(f"{item_family}_"))


def expected_work_path(run_dir: str | os.PathLike) -> Path:
    return telemetry_dir(run_dir) / EXPECTED_WORK_FILE


def write_expected_work(run_dir: str | os.PathLike, work: ExpectedWork) -> Path:
    path = expected_work_path(run_dir)
    # The workers of a scaled-out plan each write it as they start.
    write_whole(path, json.dumps(work.to_record(), indent=1, sort_keys=True) + "\n")
    return path


def read_expected_work(run_dir: str | os.PathLike) -> ExpectedWork | None:
    """The record of the run's expected work, or None for a run that wrote none (or a damaged one)."""
    try:
        return ExpectedWork.from_record(json.loads(expected_work_path(run_dir).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
