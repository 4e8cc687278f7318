"""Longest paths through a weighted DAG: the one helper every longest path of the package uses.

The plan's priorities and the status's ETA want, for every task, the heaviest chain from it to
the end (`heaviest_to_end`); the critical path of a recorded run wants the heaviest chain of all
(`longest_path`). Both are the same sweep in topological order, one of them on the reversed edges.
Nodes are any hashable keys (task families, (family, item) pairs, task ids).
"""

from __future__ import annotations

import heapq
import math
from typing import Hashable, Iterable, Mapping, TypeVar

K = TypeVar("K", bound=Hashable)


def _order(node) -> str:
    # Ties and the sweep's order go by the node's name, so the same graph always gives the same
    # chain and the same float sums.
    return node if isinstance(node, str) else repr(node)


def heaviest_paths(nodes: Mapping[K, float], edges: Iterable[tuple[K, K]]) -> tuple[dict[K, float], dict[K, K | None]]:
    """For every node, the weight of the heaviest path that ends at it (itself included), and the
    node before it on that path. Edges go upstream -> downstream; an edge naming an unknown node is
    ignored. A cycle is a ValueError naming it."""
    for node, weight in nodes.items():
        if not isinstance(weight, (int, float)) or math.isnan(weight) or weight < 0:
            raise ValueError(f"node {node!r} has weight {weight!r}; weights must be >= 0")
    successors: dict[K, set[K]] = {node: set() for node in nodes}
    predecessors: dict[K, set[K]] = {node: set() for node in nodes}
    for upstream, downstream in edges:
        if upstream in successors and downstream in successors:
            successors[upstream].add(downstream)
            predecessors[downstream].add(upstream)
    order = _topological_order(successors, predecessors)
    if len(order) < len(nodes):
        stuck = set(nodes) - set(order)
        cycle = _find_cycle(stuck, predecessors)
        raise ValueError(f"dependency cycle: {' -> '.join(map(str, cycle + cycle[:1]))}")
    best: dict[K, float] = {}
    previous: dict[K, K | None] = {}
    for node in order:
        chosen: K | None = None
        for upstream in sorted(predecessors[node], key=_order):
            if chosen is None or best[upstream] > best[chosen]:
                chosen = upstream
        best[node] = float(nodes[node]) + (best[chosen] if chosen is not None else 0.0)
        previous[node] = chosen
    return best, previous


def longest_path(nodes: Mapping[K, float], edges: Iterable[tuple[K, K]]) -> tuple[float, list[K]]:
    """The heaviest path through the DAG (weights on nodes) and its nodes, first to last. Ties go
    to the smaller name, so that the same graph always gives the same chain."""
    best, previous = heaviest_paths(nodes, edges)
    if not best:
        return 0.0, []
    last = min(best, key=lambda node: (-best[node], _order(node)))
    path: list[K] = []
    cursor: K | None = last
    while cursor is not None:
        path.append(cursor)
        cursor = previous[cursor]
    path.reverse()
    return best[last], path


def heaviest_to_end(nodes: Mapping[K, float], edges: Iterable[tuple[K, K]]) -> dict[K, float]:
    """For every node, the weight of the heaviest path from it (itself included) to any end."""
    best, _ = heaviest_paths(nodes, [(downstream, upstream) for upstream, downstream in edges])
    return best


def _topological_order(successors: Mapping[K, set[K]], predecessors: Mapping[K, set[K]]) -> list[K]:
    # A heap rather than a queue keeps the order, and so the float sums, identical run to run.
    waiting = {node: len(ups) for node, ups in predecessors.items()}
    ready = [(_order(node), node) for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[K] = []
    while ready:
        _, node = heapq.heappop(ready)
        order.append(node)
        for downstream in successors[node]:
            waiting[downstream] -= 1
            if waiting[downstream] == 0:
                heapq.heappush(ready, (_order(downstream), downstream))
    return order


def _find_cycle(stuck: set[K], predecessors: Mapping[K, set[K]]) -> list[K]:
    # Every node Kahn's algorithm could not release has a stuck predecessor, so walking
    # backwards through stuck nodes must revisit one: that loop is a cycle.
    seen: dict[K, int] = {}
    walk: list[K] = []
    node = min(stuck, key=_order)
    while node not in seen:
        seen[node] = len(walk)
        walk.append(node)
        node = min((up for up in predecessors[node] if up in stuck), key=_order)
    cycle = list(reversed(walk[seen[node]:]))
    start = cycle.index(min(cycle, key=_order))
    return cycle[start:] + cycle[:start]
