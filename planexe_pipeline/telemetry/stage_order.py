"""The stages of a run in the order a reader follows a plan: each after the stages it read, and a
fan-out's items under the merge that made them one stage.

The plan's own order (its stages' numbers, as the files are numbered) where the run recorded its
expected work (telemetry/expected_work.py); for a folder that recorded none, an order taken from the
telemetry (every end line lists the tasks it read). Neither needs the task graph.
"""

from __future__ import annotations

import heapq
from typing import Iterable

from planexe_pipeline.telemetry.events import TaskEvent
from planexe_pipeline.telemetry.expected_work import ExpectedWork


def stage_order(tasks: Iterable[TaskEvent], expected: ExpectedWork | None = None) -> tuple[list[str], dict[str, str]]:
    """(every stage in dependency order, item stage -> the stage it is merged into)."""
    tasks = [e for e in tasks if e.start is not None]
    family_of = {e.task_id: e.task_family for e in tasks}
    first: dict[str, float] = {}
    for e in tasks:
        first[e.task_family] = min(first.get(e.task_family, e.start), e.start)
    item_stages = {e.task_family for e in tasks if e.item is not None}
    upstream: dict[str, set[str]] = {family: set() for family in first}
    items_read: dict[str, dict[str, set[str]]] = {}  # stage -> item stage -> the item tasks it read
    for e in tasks:
        for dep in e.deps:
            source = family_of.get(dep)  # a task done before the telemetry began is not in it
            if source is None or source == e.task_family:
                continue
            upstream[e.task_family].add(source)
            if source in item_stages and e.task_family not in item_stages:
                items_read.setdefault(e.task_family, {}).setdefault(source, set()).add(dep)
    merged_into: dict[str, str] = {}
    for stage in sorted(item_stages):
        readers = [(len(read[stage]), reader) for reader, read in items_read.items() if stage in read]
        if readers:  # the stage that reads most of its items is the one that merges them
            merged_into[stage] = max(readers)[1]
    order = _dependency_order(first, upstream)
    if expected is not None:
        planned = [stage.family for stage in expected.stages]
        order = [f for f in planned if f in first] + [f for f in order if f not in planned]
        merged_into.update({stage.family: stage.items_of for stage in expected.stages
                            if stage.items_of and stage.family in first and stage.items_of in first})
    placed = [family for family in order if family not in merged_into]
    for stage, merge in sorted(merged_into.items(), key=lambda pair: order.index(pair[0]), reverse=True):
        placed.insert(placed.index(merge) + 1, stage)
    return placed, merged_into


def _dependency_order(first: dict[str, float], upstream: dict[str, set[str]]) -> list[str]:
    """Each stage after those it read; among stages ready together, the one that started first."""
    waiting = {family: len(ups) for family, ups in upstream.items()}
    downstream: dict[str, list[str]] = {}
    for family, ups in upstream.items():
        for up in ups:
            downstream.setdefault(up, []).append(family)
    ready = [(first[family], family) for family, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, family = heapq.heappop(ready)
        order.append(family)
        for down in downstream.get(family, ()):
            waiting[down] -= 1
            if waiting[down] == 0:
                heapq.heappush(ready, (first[down], down))
    # A cycle cannot come from a plan; lines written by hand can hold one: those stages go last.
    return order + sorted((f for f in first if f not in order), key=lambda f: (first[f], f))
