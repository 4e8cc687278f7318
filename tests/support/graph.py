"""The plan's task graph (tasks/graph.py), dynamic fan-out edges included (known by class)."""

from __future__ import annotations

import luigi

from planexe_pipeline.pipeline import PLAN
from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.fanout import FanOutItem
from planexe_pipeline.tasks.graph import PlanGraph, closure

TEMPLATE_RUN = "/nonexistent-graph-run"


def walk(root: luigi.Task | type[PlanTask] | None = None) -> dict[str, set[str]]:
    """task family -> the families it requires, as the plan's graph from `root` holds them."""
    graph = PLAN if root is None else PlanGraph.build(root if isinstance(root, type) else type(root))
    return {family: set(deps) for family, deps in graph.deps.items()}


def upstream(graph: dict[str, set[str]], family: str) -> set[str]:
    """Every family `family` depends on, directly or not."""
    return closure(family, graph)


def task_class(family: str) -> type[PlanTask]:
    return luigi.task_register.Register.get_task_cls(family)


def declared_files(families, fan_out_width: int) -> set[str]:
    """Every file a run of these tasks writes, as their declarations name them."""
    files: set[str] = set()
    for family in families:
        cls = task_class(family)
        if issubclass(cls, FanOutItem):
            # A static list that --speed fast does not cap (a plan's parts) is written whole.
            width = fan_out_width if cls.capped_when_fast else len(cls(run_dir=TEMPLATE_RUN, index=0).all_items())
            files |= {f"{cls.stage_dir}/item-{i:03d}.json" for i in range(width)}
        else:
            files |= set(cls.files.values())
    return files
