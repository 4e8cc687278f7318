"""The gaps between tasks on the critical path, split by the worker's and task processes' stamps."""

from __future__ import annotations

import pytest

from planexe_pipeline.bench.workload import overhead_per_task_ms
from planexe_pipeline.cli import main
from planexe_pipeline.tasks.fanout import FanOutMerge
from planexe_pipeline.telemetry.event_log import parse_events, read_events
from planexe_pipeline.telemetry.events import DispatchEvent, TaskEvent, WorkerEvent
from planexe_pipeline.telemetry.overhead import PARTS, overhead_breakdown
from planexe_pipeline.telemetry.stats import compute_stats, stats_from_events
from planexe_pipeline.telemetry.stats_table import format_stats
from support.graph import task_class, walk


def execution(task_id, start, end, *, deps=(), status="ok", dispatched=None, process=None, handler=0.001,
              resources=()):
    family = task_id.split("_")[0]
    start_line = {"kind": "task", "event": "start", "task_id": task_id, "task_family": family, "start": start,
                  "resources": list(resources)}
    if dispatched is not None:
        start_line |= {"dispatched_at": dispatched, "process_started": process}
    end_line = {"kind": "task", "event": "end", "task_id": task_id, "task_family": family, "start": start,
                "end": end, "status": status, "deps": list(deps), "handler_s": handler, "resources": list(resources)}
    return [start_line, end_line]


def dispatch(task_id, dispatched, received, added=None, slot_freed=None):
    return {"kind": "dispatch", "task_id": task_id, "dispatched": dispatched, "forked": dispatched + 0.001,
            "received": received, "added": added, "slot_freed": slot_freed}


def test_each_gap_is_split_at_the_stamps_of_its_last_input_and_its_own_process():
    events = [{"kind": "run", "event": "start", "start": 0.0, "end": None},
              *execution("List", 0.1, 1.0, dispatched=0.05, process=0.08),
              dispatch("List", 0.05, received=1.004),
              # The merge runs once to yield its item, and again once the item is done.
              *execution("Merge", 1.010, 1.012, deps=["Item_0"], status="yielded", dispatched=1.006, process=1.008),
              dispatch("Merge", 1.006, received=1.013),
              *execution("Item_0", 1.030, 2.0, deps=["List"], dispatched=1.020, process=1.025),
              dispatch("Item_0", 1.020, received=2.002, added=1.015),
              *execution("Merge", 2.012, 2.020, deps=["Item_0", "List"], dispatched=2.005, process=2.010),
              dispatch("Merge", 2.005, received=2.025),
              {"kind": "run", "event": "end", "start": 0.0, "end": 2.030}]
    breakdown = overhead_breakdown(parse_events(events))
    assert breakdown.path_tasks == 3
    item, merge = breakdown.gaps
    assert item.task_id == "Item_0" and item.input_id == "List" and not item.merge
    assert item.gap_ms == pytest.approx(30.0)
    assert item.parts_ms == pytest.approx({"telemetry": 1.0, "hand-off": 3.0, "fan-out": 11.0, "busy": 0.0,
                                           "scheduler": 5.0, "fork": 5.0, "checks": 5.0, "unsplit": 0.0})
    assert merge.merge and merge.parts_ms == pytest.approx({
        "telemetry": 1.0, "hand-off": 1.0, "fan-out": 0.0, "busy": 0.0, "scheduler": 3.0, "fork": 5.0,
        "checks": 2.0, "unsplit": 0.0})
    assert sum(item.parts_ms.values()) == pytest.approx(item.gap_ms)
    assert breakdown.lead_in_ms == pytest.approx(100.0) and breakdown.tail_ms == pytest.approx(10.0)
    assert breakdown.merge_redispatch_ms == pytest.approx(12.0)
    assert breakdown.per_task_ms() == pytest.approx((30 + 12 + 100 + 10) / 3)


def test_a_resumed_run_measures_each_run_s_own_time_not_the_pause_between_them():
    # Run 1 ends 0.1 s after A; 100 s later run 2 resumes the folder and runs B, which reads A.
    events = [{"kind": "run", "event": "start", "start": 0.0},
              *execution("A", 0.1, 1.0, dispatched=0.05, process=0.08), dispatch("A", 0.05, received=1.004),
              {"kind": "run", "event": "end", "start": 0.0, "end": 1.1},
              {"kind": "run", "event": "start", "start": 101.0},
              *execution("B", 101.2, 102.0, deps=["A"], dispatched=101.15, process=101.18),
              dispatch("B", 101.15, received=102.002),
              {"kind": "run", "event": "end", "start": 101.0, "end": 102.1}]
    breakdown = overhead_breakdown(parse_events(events))
    (gap,) = breakdown.gaps
    # A's end to run 1's end, then run 2's start to B's start: not the 100 s between the runs.
    assert gap.gap_ms == pytest.approx(100.0 + 200.0)
    assert gap.parts_ms["scheduler"] == pytest.approx(96.0 + 150.0), "the pause falls inside this part"
    assert sum(gap.parts_ms.values()) == pytest.approx(gap.gap_ms)
    assert breakdown.lead_in_ms == pytest.approx(100.0) and breakdown.tail_ms == pytest.approx(100.0)
    stats = stats_from_events(parse_events(events))
    assert stats.makespan_seconds == pytest.approx(1.1 + 1.1)
    assert stats.overhead["per_task_ms"] == pytest.approx((300.0 + 100.0 + 100.0) / 2)


def test_a_rerun_that_had_nothing_to_do_adds_its_own_span_to_the_tail_not_the_pause():
    events = [{"kind": "run", "event": "start", "start": 0.0}, *execution("A", 0.1, 1.0),
              {"kind": "run", "event": "end", "start": 0.0, "end": 1.1},
              {"kind": "run", "event": "start", "start": 101.0},
              {"kind": "run", "event": "end", "start": 101.0, "end": 101.5}]
    assert overhead_breakdown(parse_events(events)).tail_ms == pytest.approx(100.0 + 500.0)


def test_waiting_for_a_free_task_process_is_capacity_not_scheduling():
    # B is ready when A's result arrives (1.002) but every process is busy until one frees at 1.040.
    events = [*execution("A", 0.0, 1.0, dispatched=0.0, process=0.0), dispatch("A", 0.0, received=1.002),
              *execution("B", 1.050, 2.0, deps=["A"], dispatched=1.045, process=1.048),
              dispatch("B", 1.045, received=2.002, slot_freed=1.040)]
    (gap,) = overhead_breakdown(parse_events(events)).gaps
    assert gap.parts_ms["busy"] == pytest.approx(38.0) and gap.parts_ms["scheduler"] == pytest.approx(5.0)
    # A process that came free before B was ready is no wait of B's.
    events[-1]["slot_freed"] = 0.5
    (gap,) = overhead_breakdown(parse_events(events)).gaps
    assert gap.parts_ms["busy"] == 0.0 and gap.parts_ms["scheduler"] == pytest.approx(43.0)


def test_a_gap_without_stamps_is_unsplit_not_misfiled():
    events = [*execution("A", 0.0, 1.0, handler=None), *execution("B", 1.050, 2.0, deps=["A"])]
    (gap,) = overhead_breakdown(parse_events(events)).gaps
    assert gap.parts_ms["unsplit"] == pytest.approx(50.0)
    assert all(gap.parts_ms[p] == 0.0 for p in PARTS if p != "unsplit")


def two_parts(resources, print_slots=1):
    """Two sections printed after the schedule, one print slot: the second waits for the first."""
    return parse_events([{"kind": "run", "event": "start", "start": 0.0, "print_slots": print_slots},
                         *execution("Schedule", 0.1, 1.0),
                         *execution("PDFPartWBS", 1.02, 2.0, deps=["Schedule"], resources=resources),
                         *execution("PDFPartSchedule", 2.02, 3.0, deps=["Schedule"], resources=resources),
                         *execution("PDFExport", 3.02, 3.1, deps=["PDFPartWBS", "PDFPartSchedule"]),
                         {"kind": "run", "event": "end", "start": 0.0, "end": 3.12}])


def test_a_wait_for_a_print_slot_is_the_holder_s_work_on_the_chain_not_overhead():
    stats = stats_from_events(two_parts(["print"]))
    # The graph knows no slots: its longest chain skips the part that held the slot.
    assert stats.critical_path == ["Schedule", "PDFPartSchedule", "PDFExport"]
    assert stats.executed_chain == ["Schedule", "PDFPartWBS", "PDFPartSchedule", "PDFExport"]
    assert stats.executed_chain_seconds == pytest.approx(0.9 + 0.98 + 0.98 + 0.08)
    assert stats.resource_waits == [{"task_id": "PDFPartSchedule", "family": "PDFPartSchedule", "resource": "print",
                                     "holder": "PDFPartWBS", "holder_family": "PDFPartWBS"}]
    # Three 20 ms hand-offs, 100 ms lead-in, 20 ms tail over four tasks; the second's 1 s queue is none of it.
    assert stats.overhead["per_task_ms"] == pytest.approx(45.0)
    assert overhead_per_task_ms(stats, workers=16) == pytest.approx(45.0)
    assert stats.efficiency == pytest.approx(2.94 / 3.12)
    assert stats.print_seconds == pytest.approx(1.96) and stats.print_slots == 1
    assert "PDFPartSchedule waited for a print slot held by PDFPartWBS" in format_stats(stats)
    # With a second slot free, the part's late start was no wait for the first's.
    assert stats_from_events(two_parts(["print"], print_slots=2)).resource_waits == []


def test_without_a_resource_the_chain_is_the_critical_path_and_the_figures_stay():
    stats = stats_from_events(two_parts([]))
    assert stats.executed_chain == stats.critical_path == ["Schedule", "PDFPartSchedule", "PDFExport"]
    assert stats.resource_waits == [] and stats.efficiency == pytest.approx(stats.critical_path_seconds / 3.12)
    # As before resources were read: what the makespan leaves after the critical path, per task on it.
    before = (3.12 - stats.critical_path_seconds) / 3 * 1000
    assert overhead_per_task_ms(stats, workers=16) == pytest.approx(before)
    assert stats.overhead["per_task_ms"] == pytest.approx(before, abs=0.1)


@pytest.mark.slow
def test_a_run_with_workers_leaves_every_stamp(tmp_path):
    run_dir = tmp_path / "run"
    assert main(["run", "--prompt-id", "bakery-lyon", "--run-dir", str(run_dir), "--speed", "fast",
                 "--workers", "3", "--llm", "simulated-instant", "--start-date", "2027-01-04"]) == 0
    events = read_events(run_dir)
    ends = [e for e in events if isinstance(e, TaskEvent) and e.is_end]
    dispatches = [e for e in events if isinstance(e, DispatchEvent)]
    assert len(dispatches) == len(ends)  # one per execution, yielded merges included
    yields = [e.task_id for e in ends if e.status == "yielded"]
    merges = [f for f in walk() if issubclass(task_class(f), FanOutMerge)]
    assert len(yields) == len(set(yields)) == len(merges)  # every merge yields once, runs once more, and is done
    assert all(d.dispatched <= d.forked <= d.received for d in dispatches)
    starts = [e for e in events if isinstance(e, TaskEvent) and e.event == "start"]
    assert all(s.dispatched_at <= s.process_started <= s.start for s in starts)
    (worker,) = [e for e in events if isinstance(e, WorkerEvent)]
    assert worker.workers == 3 and worker.get_work_calls >= len(ends) and worker.processes_forked <= 3
    stats = compute_stats(run_dir)
    assert stats.overhead["path_tasks"] == len(stats.executed_chain)
    assert stats.overhead["parts_total_ms"]["unsplit"] == 0.0
    assert "overhead on the executed chain" in format_stats(stats)
