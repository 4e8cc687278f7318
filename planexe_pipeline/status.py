"""planexe-pipeline status: where a run stands and what is left, from its folder alone.

What is done, in flight and failed comes from the telemetry (telemetry/run_state.py). What is
left comes from the work the run expected when it started (telemetry/expected_work.py): its
stages in the plan's order, their tasks and edges, each fan-out's width once its merge has listed
its items. Nothing here imports the task graph, so a look at a running plan costs the reading of
its telemetry and nothing more.

- progress: done work over all expected work, each task weighted by its expected seconds (the
  latency model's; a step without an LLM call weighs a twentieth of an average call), a task in
  flight counted for the part of its expected time it has run.
- eta_s: the longest chain of what is left, each stage weighing the longest time one of its tasks
  still needs (a stage's tasks run side by side), each call's expected seconds scaled by how this
  run's calls compare with the model so far, a call in flight counted for what it has left; or,
  when the slots (or the provider's current limit) are fewer than the calls left can use, the
  calls' seconds over the slots, if that is longer. Unknown (null) until the run's first call is done.
- cost_usd: what the plan's priced calls cost so far, over every run of its folder; and
  cost_projected_usd: that, plus each LLM call left at what a call of its stage has cost so far
  (of any stage while its own has none). Unknown (null) until a priced call is answered.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Callable

from planexe_pipeline.dag import heaviest_to_end
from planexe_pipeline.telemetry.event_log import EventFollower
from planexe_pipeline.telemetry.events import Event
from planexe_pipeline.telemetry.expected_work import ExpectedWork, read_expected_work
from planexe_pipeline.telemetry.live_view import LiveView, status_lines
from planexe_pipeline.telemetry.run_state import Outlook, RunState, run_state, status_dict, status_of_finished

LOCAL_STEP_WEIGHT = 1 / 20
# A call past its expected time still has this share of it to go, not nothing.
OVERDUE_SHARE = 0.1


def outlook(work: ExpectedWork, state: RunState, now: float) -> Outlook:
    stages = {stage.family: stage for stage in work.stages}
    done_by_stage = Counter(family for family, _ in state.done_keys if family in stages)
    running: dict[str, list[float]] = {}
    for flight in state.in_flight:
        if flight.stage in stages and (flight.stage, flight.item) not in state.done_keys:
            running.setdefault(flight.stage, []).append(flight.since)
    expected = {family: stage.expected_s for family, stage in stages.items()}
    measured = sum(seconds for _, seconds in state.finished_llm)
    modelled = sum(expected.get(family, 0.0) for family, _ in state.finished_llm)
    scale = measured / modelled if modelled > 0 and measured > 0 else None

    calls = [(stage.expected_s, stage.tasks) for stage in work.stages if stage.llm and stage.tasks]
    mean_call = sum(s * n for s, n in calls) / sum(n for _, n in calls) if calls else 1.0
    total = finished = llm_left = 0.0
    tasks_done = 0
    left: dict[str, float] = {}  # per stage, the longest time one of its tasks still needs
    for stage in work.stages:
        weight = stage.expected_s if stage.llm else mean_call * LOCAL_STEP_WEIGHT
        done = min(done_by_stage[stage.family], stage.tasks)
        tasks_done += done
        total += weight * stage.tasks
        finished += weight * done
        call_s = stage.expected_s * scale if scale is not None else None
        needs = []
        for since in running.get(stage.family, [])[:stage.tasks - done]:
            ran = max(0.0, now - since)
            if call_s:
                finished += weight * min(ran / call_s, 0.95)
                needs.append(max(call_s - ran, call_s * OVERDUE_SHARE))
            else:
                needs.append(0.0)
        needs += [call_s or 0.0] * (stage.tasks - done - len(needs))
        left[stage.family] = max(needs, default=0.0)
        if stage.llm:
            llm_left += sum(needs)
    progress = 1.0 if state.plan_complete else (finished / total if total else 0.0)
    eta = None
    if state.plan_complete:
        eta = 0.0
    elif scale is not None and state.state in ("running", "stalled"):
        chains = heaviest_to_end(left, [(up, stage.family) for stage in work.stages for up in stage.after
                                        if up in stages])
        chain = max(chains.values(), default=0.0)
        slots = [n for n in (state.llm_slots, state.provider_limit) if n]
        eta = max(chain, llm_left / min(slots) if slots else 0.0)
    return Outlook(round(progress, 4), work.tasks, tasks_done, work.llm_calls,
                   None if eta is None else round(eta, 2), work.estimated, projected_cost(work, done_by_stage, state))


def projected_cost(work: ExpectedWork, done_by_stage: Counter, state: RunState) -> float | None:
    """Spent, plus every LLM call not done at what a call of its stage has cost so far."""
    money = state.money
    if money.cost_usd is None:
        return None
    left = [(money.per_call(stage.family), stage.tasks - min(done_by_stage[stage.family], stage.tasks))
            for stage in work.stages if stage.llm]
    return money.cost_usd + sum((cost or 0.0) * calls for cost, calls in left)


def _root_end(state: RunState, root: str) -> float | None:
    """When the run's root task last ended ok in the current run, if it has."""
    ended = [end for end, family, _, _ in state.finished_families if family == root]
    return ended[-1] if ended else None


class StatusTracker:
    """A run's status, read again as its telemetry grows: each look reads what is new.

    `expect(run_dir)` gives the expected work of a folder whose run recorded none (one started
    by an older version); it walks the task graph, so only a caller that holds the graph passes it."""

    def __init__(self, run_dir: str | os.PathLike, stall_after_s: float | None = None,
                 expect: Callable[[str], ExpectedWork] | None = None):
        self.run_dir = str(run_dir)
        self.stall_after_s = stall_after_s
        self._expect = expect
        self._follower = EventFollower(run_dir)
        self._lines: list[tuple[str, Event]] = []
        self._recorded: ExpectedWork | None = None
        self._work: ExpectedWork | None = None

    def expected(self) -> ExpectedWork:
        """The run's expected work, with each fan-out's width as far as the telemetry tells it."""
        if self._recorded is None:
            self._recorded = read_expected_work(self.run_dir)
        if self._recorded is None:
            if self._expect is None:
                raise ValueError(f"{self.run_dir} holds no record of its run's expected work "
                                 "(a run started by an older version): ask `planexe-pipeline status`")
            self._recorded = self._expect(self.run_dir)
        if self._work is None or self._work.estimated:
            self._work = self._recorded.with_widths(event for _, event in self._lines)
        return self._work

    def snapshot(self, now: float | None = None) -> dict:
        now = time.time() if now is None else now
        self._lines += self._follower.new_events()
        state = run_state(self.run_dir, self._lines, now=now, stall_after_s=self.stall_after_s)
        if state.plan_complete:
            return status_of_finished(state)
        work = self.expected()
        root_end = _root_end(state, work.root)
        if root_end is not None and state.state in ("running", "stalled"):
            # The plan is complete; its run is still writing its end line. The live view draws its
            # last frame then: it read "running 98%, 149/151 tasks" above the run's "Done".
            state.state, state.ended = "done", root_end
            return status_of_finished(state)
        return status_dict(state, outlook(work, state, now), now)


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
