"""The work a run expects, from the plan's graph (tasks/graph.py): written once when the run starts
(telemetry/expected_work.py says who reads it and why).

A fan-out is as wide as its list when the folder holds it (a resumed run, a list of our own), and
otherwise guessed from the lists the graph could read (telemetry/expected_work.guessed_width).
Nothing here names a stage: a stage added to the graph is expected as soon as it is in it.
"""

from __future__ import annotations

from collections import Counter

from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.fanout import FanOutItem
from planexe_pipeline.tasks.graph import PlanGraph
from planexe_pipeline.tasks.full_plan import FullPlan
from planexe_pipeline.telemetry.expected_work import ExpectedStage, ExpectedWork, guessed_width


def expected_work(root: PlanTask) -> ExpectedWork:
    """Every task the run of `root` will run, counted by stage in the plan's order, with the
    stages' edges: the graph of the root's run folder."""
    graph = PlanGraph.build(type(root))
    caps: dict[str, int | None] = {}

    def guess(item: FanOutItem, widths: list[int]) -> int:
        cap = caps[item.task_family] = item.fanout_cap() if item.capped_when_fast else None
        return guessed_width(widths, cap)

    run = graph.instances(root.run_dir, guess=guess)
    tasks = Counter(family for family, _ in run.deps)
    # A step done by definition (an export format this run does not write) is no work of the run.
    skipped = {family for family, node in graph.nodes.items() if not node.cls.in_this_run()}
    stages = tuple(ExpectedStage(family=family, tasks=tasks[family], llm=node.llm, expected_s=node.expected_s,
                                 after=tuple(d for d in graph.deps[family] if d not in skipped),
                                 items_of=graph.merge_of(family) if node.fan_out_item else None,
                                 estimated=family in caps, cap=caps.get(family))
                   for family, node in graph.nodes.items() if family not in skipped)
    return ExpectedWork(root=root.task_family, speed=root.settings.speed, stages=stages)


def walked_expectation(run_dir: str) -> ExpectedWork:
    """The expected work of a plan's folder whose run recorded none (started by an older version)."""
    return expected_work(FullPlan(run_dir=str(run_dir)))
