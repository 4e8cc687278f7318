"""The graph's edges, each with its reason, read from the tasks' declarations.

docs/edges.md is written from here (`make docs`), and a test keeps it current, so the list of
edges a reader sees is always the one the scheduler follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import luigi

from planexe_pipeline.tasks.base import LLMTask, PlanTask
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge


@dataclass(frozen=True)
class Edge:
    task: str  # the reading task's family
    upstream: str
    name: str  # the input's name in the reader's declaration
    uses: str
    kind: str  # "reads", "items" (a merge runs its items) or "merge reads" (yielded with the items)


def task_edges(cls: type[PlanTask]) -> list[Edge]:
    """The edges into one task class, as it declares them."""
    edges = [Edge(cls.task_family, spec.task.task_family, name, spec.uses, "reads")
             for name, spec in cls.declared_inputs().items()]
    if issubclass(cls, FanOutMerge):
        edges.append(Edge(cls.task_family, cls.item_task.task_family, "items", "every item, merged in index order",
                          "items"))
        edges += [Edge(cls.task_family, spec.task.task_family, name, spec.uses, "merge reads")
                  for name, spec in cls.merge_inputs.items()]
    return edges


def plan_classes(root: type[PlanTask]) -> list[type[PlanTask]]:
    """Every task class the root depends on, itself included, in file-number order."""
    seen: dict[str, type[PlanTask]] = {}
    todo = [root]
    while todo:
        cls = todo.pop()
        if cls.task_family not in seen:
            seen[cls.task_family] = cls
            todo += [luigi.task_register.Register.get_task_cls(e.upstream) for e in task_edges(cls)]
    return sorted(seen.values(), key=lambda c: (c.number, issubclass(c, FanOutMerge), c.task_family))


def edge_lines(root: type[PlanTask]) -> list[str]:
    """`Task <- Upstream` per edge (two files of one upstream are one edge), the merges' item and
    merge-only edges marked: a plain list that changes only when an edge does."""
    marks = {"reads": "", "items": " (items)", "merge reads": " (merge)"}
    return sorted({f"{e.task} <- {e.upstream}{marks[e.kind]}" for cls in plan_classes(root) for e in task_edges(cls)})


def _kind_of(cls: type[PlanTask]) -> str:
    if issubclass(cls, FanOutItem):
        return "LLM, one per item"
    if issubclass(cls, FanOutMerge):
        return "merge"
    return "LLM" if issubclass(cls, LLMTask) else "code"


def edges_markdown(root: type[PlanTask]) -> str:
    lines = ["# The plan's edges", "",
             "Every input of every task, with what the task takes from it. Generated from the tasks' `inputs`",
             "declarations by `make docs`; a test fails when this file and the code disagree.", "",
             "| # | task | group | kind | reads | for |", "|---|---|---|---|---|---|"]
    for cls in plan_classes(root):
        for e in task_edges(cls):
            upstream = e.upstream + {"items": " (its items)", "merge reads": " (yielded with the items)"}.get(e.kind, "")
            lines.append(f"| {cls.number:03d} | {cls.task_family} | {cls.group} | {_kind_of(cls)} | {upstream} "
                         f"| {e.uses} |")
    return "\n".join(lines) + "\n"
