"""Luigi priorities from the remaining critical path.

When LLM slots are scarce, the scheduler starts the runnable task with the highest priority.
Giving each task the expected length of the longest chain from it to the end of the plan
makes the long chains start first, so the short side branches fill the gaps instead of
delaying the critical path. Expected lengths come from the latency model (latency.py), which
was taken from measured hosted-model latencies.

The table is computed from the graph of a root task by the module that owns the whole graph
(pipeline.py), and handed to PlanTask.priorities: the tasks never import their own root.
"""

from __future__ import annotations

import luigi

from planexe_pipeline.latency import expected_seconds
from planexe_pipeline.tasks.base import LLMTask
from planexe_pipeline.tasks.fanout import FanOutMerge


def _deps(task: luigi.Task) -> list[luigi.Task]:
    deps = list(luigi.task.flatten(task.requires()))
    if isinstance(task, FanOutMerge):
        deps.append(task.clone(task.item_task, index=0))  # the dynamic edges, known by class
        deps.extend(task.merge_requires().values())
    return deps


def expected_call_seconds(cls: type) -> float:
    """Expected seconds of a task class's own LLM call; code takes none worth counting."""
    return expected_seconds(cls.stem) if issubclass(cls, LLMTask) else 0.0


def remaining_path_seconds(root: luigi.Task) -> dict[str, float]:
    """task family -> expected seconds from its start to the end of `root`."""
    downstream: dict[str, set[str]] = {}
    cost: dict[str, float] = {}
    stack, seen = [root], set()
    while stack:
        task = stack.pop()
        if task.task_family in seen:
            continue
        seen.add(task.task_family)
        cost[task.task_family] = expected_call_seconds(type(task))
        for dep in _deps(task):
            downstream.setdefault(dep.task_family, set()).add(task.task_family)
            stack.append(dep)

    memo: dict[str, float] = {}

    def remaining(family: str) -> float:
        if family not in memo:
            memo[family] = cost[family] + max((remaining(d) for d in downstream.get(family, ())), default=0.0)
        return memo[family]

    return {family: remaining(family) for family in cost}


def priority_table(remaining: dict[str, float]) -> dict[str, int]:
    # Luigi raises a task's priority to its dependents' (it passes priorities upstream), which a
    # remaining path allows: an upstream task has at least as much left as anything after it.
    return {family: int(round(seconds)) for family, seconds in remaining.items()}
