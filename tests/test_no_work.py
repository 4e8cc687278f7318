"""A scaled-out worker the central scheduler hands nothing: the pause, the patience, the line it
stops with, and how `status` shows it. No luigid: a clock under the test's control, luigid's
answers as dicts."""

from __future__ import annotations

import json

import pytest
from luigi.task_status import DISABLED, PENDING, RUNNING, UNKNOWN

from planexe_pipeline.no_work import LONGEST_PAUSE_S, REPORT_AFTER_S, NoWorkWait, plan_counts, waiting_for
from planexe_pipeline.telemetry.events import NoWorkEvent, RunEvent, TaskEvent
from planexe_pipeline.telemetry.live_view import status_lines
from planexe_pipeline.telemetry.run_state import Outlook, run_state, status_dict

WAIT_INTERVAL = 0.02  # the shipped [worker] wait_interval


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def waiting(patience_s: float = 30.0) -> tuple[NoWorkWait, Clock]:
    clock = Clock()
    return NoWorkWait(patience_s=patience_s, first_pause_s=WAIT_INTERVAL, clock=clock), clock


def test_the_pause_doubles_up_to_a_few_asks_a_second_and_a_task_or_progress_starts_it_over():
    wait, _ = waiting()
    pauses = []
    for _ in range(8):
        pauses.append(wait.pause_s)
        wait.answered(got_task=False)
    assert pauses == pytest.approx([0.02, 0.04, 0.08, 0.16, 0.25, 0.25, 0.25, 0.25])
    assert LONGEST_PAUSE_S <= 0.5, "more than a few asks a second would be no back-off"
    wait.answered(got_task=True)
    assert wait.pause_s == WAIT_INTERVAL
    for _ in range(8):
        wait.answered(got_task=False)
    wait.moved()  # a task of the plan ended on another worker: work may be ready, ask soon
    assert wait.pause_s == WAIT_INTERVAL


def test_asking_in_vain_for_a_minute_is_a_few_asks_a_second():
    wait, clock = waiting(patience_s=600)
    asks = 0
    while clock.now < 160:
        asks += 1
        wait.answered(got_task=False)
        clock.now += wait.pause_s + WAIT_INTERVAL  # the worker's pause, then Luigi's own wait
    assert asks / 60 <= 1 / LONGEST_PAUSE_S
    assert asks / 60 > 3  # and not so few that work made ready elsewhere waits long


def test_stuck_only_while_nothing_of_the_plan_runs_anywhere():
    wait, clock = waiting(patience_s=30)
    for _ in range(100):  # another worker runs the chain this one waits for: no patience is used
        wait.idle(running_anywhere=True)
        clock.now += 1
    assert wait.stuck_for_s == 0 and not wait.out_of_patience and not wait.report_due()
    wait.idle(running_anywhere=False)
    clock.now += REPORT_AFTER_S
    wait.idle(running_anywhere=False)
    assert wait.report_due() and not wait.report_due(), "said once per stretch"
    clock.now += 30 - REPORT_AFTER_S - 0.1
    assert not wait.out_of_patience
    clock.now += 0.1
    assert wait.out_of_patience and wait.stuck_for_s == pytest.approx(30)
    wait.idle(running_anywhere=True)  # something runs again: the stretch is over
    assert not wait.out_of_patience and wait.stuck_for_s == 0
    wait.idle(running_anywhere=False)
    clock.now += 29
    wait.answered(got_task=True)  # handed a task: over too
    assert wait.stuck_for_s == 0


def node(name: str, status: str, deps: tuple[str, ...] = (), **params) -> dict:
    return {"name": name, "status": status, "deps": list(deps), "params": params}


def test_the_line_names_what_the_pending_tasks_wait_for():
    # Shapes of luigid's dep_graph(root, include_done=False): a dependency it never heard of is
    # UNKNOWN (its name from the task id, no parameters).
    never_told = {"Merge_x": node("Merge", PENDING, ("Item_1", "Item_2")), "Item_1": node("Item", UNKNOWN),
                  "Item_2": node("Item", UNKNOWN), "Root_x": node("Root", PENDING, ("Merge_x",))}
    assert waiting_for(never_told) == "they wait for tasks it was never told of: 2 Item"
    assert plan_counts(never_told) == (2, 0)
    given_up = {"Root_x": node("Root", PENDING, ("Draft_3",)), "Draft_3": node("Draft", DISABLED, index=3)}
    assert waiting_for(given_up).startswith("they wait for tasks it gave up on")
    assert "Draft [3]" in waiting_for(given_up) and "see the visualiser" in waiting_for(given_up)
    many = {f"Part_{i}": node("Part", UNKNOWN) for i in range(3)}
    many |= {f"Other{i}_x": node(f"Other{i}", UNKNOWN) for i in range(3)}
    assert waiting_for(many) == "they wait for tasks it was never told of: 3 Part, Other0, Other1 and 1 more"
    not_handed = {"Root_x": node("Root", PENDING, ("Ext_x",)), "Ext_x": node("Ext", PENDING)}
    assert waiting_for(not_handed) == "ready but not handed out: Ext"
    assert waiting_for({}) == "the central scheduler holds nothing of the plan"
    assert plan_counts({"A": node("A", RUNNING), "B": node("B", PENDING)}) == (1, 1)


def test_status_shows_a_worker_handed_nothing_until_the_plan_moves_again():
    run = RunEvent(event="start", start=1000.0, status="running", pid=4242, scaled_out=True, run_id="r")
    stuck = NoWorkEvent(start=1010.0, end=1016.0, status="waiting", worker=4242, host="elsewhere", pending=51,
                        reason="the central scheduler handed this worker nothing ...")
    state = run_state("run", [("elsewhere", run), ("elsewhere", stuck)], now=1020.0)
    assert [(w.worker, w.pending, w.gave_up) for w in state.no_work] == [(4242, 51, False)]
    snapshot = status_dict(state, Outlook(0.3, 91, 30, 60, None, []), now=1020.0)
    lines = status_lines(snapshot)
    assert any("worker 4242@elsewhere handed nothing for 10s" in line and "51 tasks pending" in line
               for line in lines), lines
    assert json.dumps(snapshot["no_work"])  # in `status --json` too
    moved = TaskEvent(event="end", status="ok", task_id="T_1", task_family="T", start=1017.0, end=1018.0, worker=4242)
    assert run_state("run", [("elsewhere", run), ("elsewhere", stuck), ("elsewhere", moved)], now=1020.0).no_work == []
