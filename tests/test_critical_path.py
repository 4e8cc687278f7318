"""Critical path: exact answers on hand-made graphs, relationships on recorded telemetry."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from planexe_pipeline.dag import heaviest_to_end, longest_path
from planexe_pipeline.telemetry.critical_path import CriticalPath, executed_task_graph, run_critical_path
from planexe_pipeline.telemetry.event_log import parse_events
from planexe_pipeline.telemetry.stats import compute_stats, load_events

SMALL_RUN = Path(__file__).parent / "data" / "telemetry_small"


def test_heaviest_to_end_is_the_longest_path_from_each_node():
    nodes = {"a": 1.0, "b": 5.0, "c": 2.0, "d": 1.0, ("e", 0): 0.5}
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("c", ("e", 0))]
    assert heaviest_to_end(nodes, edges) == {"a": 7.0, "b": 6.0, "c": 3.0, "d": 1.0, ("e", 0): 0.5}


def test_chain_sums_every_node_in_order():
    assert longest_path({"a": 1.0, "b": 2.0, "c": 3.5}, [("a", "b"), ("b", "c")]) == (6.5, ["a", "b", "c"])


def test_diamond_takes_the_heavier_branch():
    nodes = {"a": 1.0, "b": 5.0, "c": 2.0, "d": 1.0}
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    assert longest_path(nodes, edges) == (7.0, ["a", "b", "d"])
    nodes["c"] = 9.0
    assert longest_path(nodes, edges) == (11.0, ["a", "c", "d"])


def test_ties_go_to_the_smaller_id_whatever_the_order():
    nodes = {"start": 1.0, "left": 2.0, "right": 2.0, "end": 1.0, "z_other_end": 3.0}
    edges = [("start", "right"), ("start", "left"), ("right", "end"), ("left", "end"), ("start", "z_other_end")]
    results = set()
    for seed in range(20):
        shuffled_edges, shuffled_nodes = edges[:], list(nodes.items())
        random.Random(seed).shuffle(shuffled_edges)
        random.Random(seed).shuffle(shuffled_nodes)
        total, path = longest_path(dict(shuffled_nodes), shuffled_edges)
        results.add((total, tuple(path)))
    # Three paths weigh 4.0: the smaller end id wins, reached through the smaller branch id.
    assert results == {(4.0, ("start", "left", "end"))}


def test_two_parallel_chains_pick_the_longer_one():
    nodes = {"x1": 3.0, "x2": 4.0, "y1": 5.0, "y2": 1.0, "y3": 0.5}
    edges = [("x1", "x2"), ("y1", "y2"), ("y2", "y3")]
    assert longest_path(nodes, edges) == (7.0, ["x1", "x2"])


def test_fan_out_goes_through_the_slowest_item():
    nodes = {"plan": 2.0, "agg": 0.5, "report": 1.0}
    items = {f"draft_{i}": weight for i, weight in enumerate([1.0, 4.0, 2.0, 3.0])}
    nodes.update(items)
    edges = [("plan", item) for item in items] + [(item, "agg") for item in items] + [("agg", "report")]
    assert longest_path(nodes, edges) == (7.5, ["plan", "draft_1", "agg", "report"])


def test_edges_to_unknown_nodes_are_ignored():
    nodes = {"a": 1.0, "b": 2.0}
    edges = [("done_last_week", "a"), ("a", "b"), ("b", "never_ran"), ("ghost", "phantom")]
    assert longest_path(nodes, edges) == (3.0, ["a", "b"])


def test_a_cycle_raises_naming_its_members_only():
    nodes = {"root": 1.0, "p": 1.0, "q": 1.0, "r": 1.0, "after": 1.0}
    edges = [("root", "p"), ("p", "q"), ("q", "r"), ("r", "p"), ("r", "after")]
    with pytest.raises(ValueError) as raised:
        longest_path(nodes, edges)
    message = str(raised.value)
    assert "cycle" in message
    assert all(node in message for node in ("p", "q", "r"))
    assert "root" not in message and "after" not in message


def test_a_self_loop_is_a_cycle():
    with pytest.raises(ValueError, match="solo"):
        longest_path({"solo": 1.0}, [("solo", "solo")])


def test_empty_graph_and_bad_weights():
    assert longest_path({}, [("a", "b")]) == (0.0, [])
    with pytest.raises(ValueError):
        longest_path({"a": -1.0}, [])


def _task(task_id, start, end, deps=(), status="ok", family=None, item=None):
    return {"kind": "task", "event": "end", "task_family": family or task_id.split("_")[0],
            "task_id": task_id, "item": item, "start": start, "end": end, "status": status,
            "pid": 1, "deps": list(deps), "group": "documents", "llm": True}


def _aggregator_run(first_run_status="yielded"):
    items = [f"Draft_{i}" for i in range(3)]
    return parse_events([
        _task("Plan_x", 0.0, 2.0),
        # The aggregator's first run only yields its items; its end line names them.
        _task("Drafts_x", 2.1, 2.2, deps=["Plan_x", *items], status=first_run_status),
        _task("Draft_0", 2.3, 3.0, deps=["Plan_x"], item=0),
        _task("Draft_1", 2.3, 6.3, deps=["Plan_x"], item=1),
        _task("Draft_2", 2.3, 4.0, deps=["Plan_x"], item=2, status="failed"),
        _task("Draft_2", 4.1, 5.0, deps=["Plan_x"], item=2),
        _task("Drafts_x", 6.5, 7.0, deps=["Plan_x"]),
        {"kind": "task", "event": "start", "task_family": "Report", "task_id": "Report_x",
         "start": 7.1, "end": None, "status": "running", "pid": 2},
        {"kind": "llm_call", "task_id": "Draft_1", "start": 2.4, "end": 6.2, "status": "ok"},
    ])


# The writer marks the suspended run "yielded"; an "ok" there must not win either.
@pytest.mark.parametrize("first_run_status", ["yielded", "ok"])
def test_executed_graph_keeps_only_the_aggregators_final_run(first_run_status):
    durations, edges = executed_task_graph(_aggregator_run(first_run_status))
    assert durations["Drafts_x"] == pytest.approx(0.5)
    assert durations["Draft_2"] == pytest.approx(0.9)  # the failed attempt does not count
    assert "Report_x" not in durations  # killed mid-run: no end line
    assert set(durations) == {"Plan_x", "Drafts_x", "Draft_0", "Draft_1", "Draft_2"}
    # Dynamic dependencies named only by the first, suspended run still become edges.
    assert {("Draft_0", "Drafts_x"), ("Draft_1", "Drafts_x"), ("Draft_2", "Drafts_x")} <= set(edges)
    assert ("Plan_x", "Draft_1") in edges


def test_run_critical_path_names_families_in_order():
    path = run_critical_path(_aggregator_run())
    assert isinstance(path, CriticalPath)
    assert path.task_ids == ("Plan_x", "Draft_1", "Drafts_x")
    assert path.families == ("Plan", "Draft", "Drafts")
    assert path.seconds == pytest.approx(2.0 + 4.0 + 0.5)


def test_recorded_run_path_is_a_dependency_chain_no_longer_than_the_run():
    events = load_events(SMALL_RUN)
    durations, edges = executed_task_graph(events)
    path = run_critical_path(events)
    assert len(path.task_ids) >= 2
    assert set(zip(path.task_ids, path.task_ids[1:])) <= set(edges)
    assert path.seconds == pytest.approx(sum(durations[t] for t in path.task_ids))
    # Brute force over every path of the recorded graph: none is heavier.
    successors: dict[str, list[str]] = {t: [] for t in durations}
    for upstream, downstream in edges:
        if upstream in durations and downstream in durations:
            successors[upstream].append(downstream)

    def heaviest_from(node: str) -> float:
        return durations[node] + max((heaviest_from(n) for n in successors[node]), default=0.0)

    assert path.seconds == pytest.approx(max(heaviest_from(t) for t in durations))
    assert path.seconds <= compute_stats(SMALL_RUN).makespan_seconds + 1e-6
