"""planexe-pipeline status: where a run stands and what is left, from its folder alone.

What is done, in flight and failed comes from the telemetry (telemetry/run_state.py). What is
left comes from the plan's graph (tasks/graph.py) of the run folder: a fan-out's width is read
from its list once the run has written it, and until then taken as the median width of the
plan's lists written so far (FIRST_GUESS_WIDTH before there are any), capped as --speed caps it.
So nothing here names a stage or counts tasks: a stage added to the graph is expected as soon as
it is in it.

- progress: done work over all expected work, each task weighted by its expected seconds (the
  latency model's; a step without an LLM call weighs a twentieth of an average call), a task in
  flight counted for the part of its expected time it has run.
- eta_s: the longest chain of what is left, each call's expected seconds scaled by how this run's
  calls compare with the model so far, a call in flight counted for what it has left; or, when
  the slots (or the provider's current limit) are fewer than the calls left can use, the calls'
  seconds over the slots, if that is longer. Unknown (null) until the run's first call is done.
- cost_usd: what the plan's priced calls cost so far, over every run of its folder; and
  cost_projected_usd: that, plus each LLM call left at what a call of its stage has cost so far
  (of any stage while its own has none). Unknown (null) until a priced call is answered.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import dataclass, field

from planexe_pipeline.dag import heaviest_to_end
from planexe_pipeline.pipeline import EXPECTED_SECONDS, PLAN, FullPlan
from planexe_pipeline.tasks.fanout import FanOutItem
from planexe_pipeline.telemetry.events import Event, EventFollower
from planexe_pipeline.telemetry.live_view import LiveView, status_lines
from planexe_pipeline.telemetry.run_state import Outlook, RunState, run_state, status_dict, status_of_finished

Key = tuple[str, "int | None"]  # (stage, item): the same in any spelling of the run folder's path
# The width of a fan-out whose list is not written yet, before the plan has written any list:
# the middle of what the stages ask for (two to eight items).
FIRST_GUESS_WIDTH = 5
LOCAL_STEP_WEIGHT = 1 / 20
# A call past its expected time still has this share of it to go, not nothing.
OVERDUE_SHARE = 0.1
# A graph with guessed widths is walked again (to read the lists written since) at most this often.
REWALK_S = 5.0


@dataclass(frozen=True)
class Node:
    key: Key
    llm: bool
    expected_s: float  # the latency model's, before scaling
    deps: tuple[Key, ...]


@dataclass
class ExpectedGraph:
    nodes: dict[Key, Node]
    estimated: list[str] = field(default_factory=list)  # fan-outs whose width is not known yet

    @property
    def llm_calls(self) -> int:
        return sum(node.llm for node in self.nodes.values())


def _guessed_width(item: FanOutItem, widths: list[int]) -> int:
    """A list not written yet: as wide as the lists written so far, capped as --speed caps it."""
    width = round(statistics.median(widths)) if widths else FIRST_GUESS_WIDTH
    cap = item.fanout_cap() if item.capped_when_fast else None
    return width if cap is None else min(cap, width)


def expected_graph(run_dir: str) -> ExpectedGraph:
    """Every task the plan will run, with the edges the scheduler will see, fan-outs included:
    the plan's graph of this run folder (tasks/graph.py)."""
    run = PLAN.instances(str(run_dir), guess=_guessed_width)
    nodes = {}
    for key, deps in run.deps.items():
        node = PLAN.nodes[key[0]]
        nodes[key] = Node(key, node.llm, node.expected_s, deps)
    return ExpectedGraph(nodes, list(run.estimated))


def outlook(graph: ExpectedGraph, state: RunState, now: float) -> Outlook:
    nodes = graph.nodes
    done = {key for key in nodes if key in state.done_keys}
    running = {(f.stage, f.item): f.since for f in state.in_flight}
    measured = sum(s for _, s in state.finished_llm)
    modelled = sum(EXPECTED_SECONDS.get(family, 0.0) for family, _ in state.finished_llm)
    scale = measured / modelled if modelled > 0 and measured > 0 else None

    calls = [n.expected_s for n in nodes.values() if n.llm] or [1.0]
    local_weight = statistics.mean(calls) * LOCAL_STEP_WEIGHT
    total = finished = 0.0
    left: dict[Key, float] = {}  # seconds each task not done still needs
    for key, node in nodes.items():
        weight = node.expected_s if node.llm else local_weight
        total += weight
        if key in done:
            finished += weight
            continue
        expected = node.expected_s * scale if scale is not None else None
        if key in running and expected:
            ran = max(0.0, now - running[key])
            finished += weight * min(ran / expected, 0.95)
            left[key] = max(expected - ran, expected * OVERDUE_SHARE)
        else:
            left[key] = expected or 0.0
    progress = 1.0 if state.plan_complete else (finished / total if total else 0.0)
    eta = None
    if state.plan_complete:
        eta = 0.0
    elif scale is not None and state.state in ("running", "stalled"):
        eta = max(_longest_chain(nodes, left), _slot_bound(nodes, left, state))
    return Outlook(round(progress, 4), len(nodes), len(done), graph.llm_calls,
                   None if eta is None else round(eta, 2), sorted(graph.estimated), projected_cost(graph, state))


def projected_cost(graph: ExpectedGraph, state: RunState) -> float | None:
    """Spent, plus every LLM call not done at what a call of its stage has cost so far."""
    money = state.money
    if money.cost_usd is None:
        return None
    left = [money.per_call(key[0]) for key, node in graph.nodes.items() if node.llm and key not in state.done_keys]
    return money.cost_usd + sum(cost or 0.0 for cost in left)


def _longest_chain(nodes: dict[Key, Node], left: dict[Key, float]) -> float:
    """The heaviest chain of what is left, each task weighing the seconds it still needs."""
    chains = heaviest_to_end({key: left.get(key, 0.0) for key in nodes},
                             [(dep, key) for key, node in nodes.items() for dep in node.deps if dep in nodes])
    return max((chains[key] for key in left), default=0.0)


def _slot_bound(nodes: dict[Key, Node], left: dict[Key, float], state: RunState) -> float:
    slots = [n for n in (state.llm_slots, state.provider_limit) if n]
    return sum(s for key, s in left.items() if nodes[key].llm) / min(slots) if slots else 0.0


def _root_end(state: RunState) -> float | None:
    """When the plan's last task ended ok in the current run, if it has."""
    ended = [end for end, family, _, _ in state.finished_families if family == FullPlan.task_family]
    return ended[-1] if ended else None


class StatusTracker:
    """A run's status, read again as its telemetry grows: each look reads what is new."""

    def __init__(self, run_dir: str | os.PathLike, stall_after_s: float | None = None):
        self.run_dir = str(run_dir)
        self.stall_after_s = stall_after_s
        self._follower = EventFollower(run_dir)
        self._lines: list[tuple[str, Event]] = []
        self._graph: ExpectedGraph | None = None
        self._graph_done = -1
        self._walked_at = 0.0

    def snapshot(self, now: float | None = None) -> dict:
        now = time.time() if now is None else now
        self._lines += self._follower.new_events()
        state = run_state(self.run_dir, self._lines, now=now, stall_after_s=self.stall_after_s)
        root_end = _root_end(state)
        if root_end is not None and state.state in ("running", "stalled"):
            # The plan is complete; its run is still writing its end line. The live view draws its
            # last frame then: counted against the graph last walked (a width guessed a moment
            # before), it read "running 98%, 149/151 tasks" above the run's "Done".
            state.state, state.ended = "done", root_end
        if state.plan_complete:
            return status_of_finished(state)
        # Walk the graph again only when a width is still a guess and a task finished since.
        stale = (self._graph is not None and self._graph.estimated and len(state.tasks_done) != self._graph_done
                 and time.monotonic() - self._walked_at >= REWALK_S)
        if self._graph is None or stale:
            self._graph, self._graph_done = expected_graph(self.run_dir), len(state.tasks_done)
            self._walked_at = time.monotonic()
        return status_dict(state, outlook(self._graph, state, now), now)


def watch(tracker: StatusTracker, interval_s: float, *, as_json: bool, terminal: bool) -> int:
    """Show the status again every interval_s until the run is no longer going on.

    In a terminal one block is redrawn; elsewhere a line (or a JSON line) each time it changes."""
    if terminal:
        view = LiveView(tracker.snapshot, interval_s=interval_s)
        view.start()
        try:
            while tracker.snapshot()["state"] in ("running", "stalled"):
                time.sleep(interval_s)
        finally:
            view.stop()
        return 0
    last = None
    while True:
        snapshot = tracker.snapshot()
        text = json.dumps(snapshot, sort_keys=True) if as_json else status_lines(snapshot)[0]
        changed = text if as_json else (snapshot["state"], snapshot["tasks"]["done"], snapshot["llm_calls"]["done"])
        if changed != last:
            print(text, flush=True)
            last = changed
        if snapshot["state"] not in ("running", "stalled"):
            return 0
        time.sleep(interval_s)
