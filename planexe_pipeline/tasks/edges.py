"""The graph's edges, each with its reason, as the plan's graph (tasks/graph.py) holds them.

docs/edges.md is written from here (`make docs`), and a test keeps it current, so the list of
edges a reader sees is always the one the scheduler follows.
"""

from __future__ import annotations

from planexe_pipeline.tasks.graph import ITEMS, MERGE_READS, READS, PlanGraph


def edge_lines(graph: PlanGraph) -> list[str]:
    """`Task <- Upstream` per edge (two files of one upstream are one edge), the merges' item and
    merge-only edges marked: a plain list that changes only when an edge does."""
    marks = {READS: "", ITEMS: " (items)", MERGE_READS: " (merge)"}
    return sorted({f"{e.task} <- {e.upstream}{marks[e.kind]}" for e in graph.edges()})


def edges_markdown(graph: PlanGraph) -> str:
    lines = ["# The plan's edges", "",
             "Every input of every task, with what the task takes from it. Generated from the tasks' `inputs`",
             "declarations by `make docs`; a test fails when this file and the code disagree.", "",
             "| # | task | group | kind | reads | for |", "|---|---|---|---|---|---|"]
    for node in graph.nodes.values():
        for e in node.edges:
            upstream = e.upstream + {ITEMS: " (its items)", MERGE_READS: " (yielded with the items)"}.get(e.kind, "")
            lines.append(f"| {node.number:03d} | {node.family} | {node.cls.group} | {node.kind} | {upstream} "
                         f"| {e.uses} |")
    return "\n".join(lines) + "\n"
