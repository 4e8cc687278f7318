"""The work a run expects, recorded when it starts: what status reads instead of the task graph."""

from __future__ import annotations

from planexe_pipeline.pipeline import FullPlan
from planexe_pipeline.status import outlook
from planexe_pipeline.tasks.expected_work import expected_work
from planexe_pipeline.telemetry.events import TaskEvent
from planexe_pipeline.telemetry.expected_work import (ExpectedStage, ExpectedWork, read_expected_work,
                                                      write_expected_work)
from planexe_pipeline.telemetry.run_state import InFlight, RunState

WORK = ExpectedWork(root="Merge", speed="full", stages=(
    ExpectedStage("Outline", tasks=1, llm=True, expected_s=10.0),
    ExpectedStage("PartItem", tasks=4, llm=True, expected_s=20.0, after=("Outline",), items_of="Merge", estimated=True),
    ExpectedStage("Merge", tasks=1, llm=False, expected_s=0.0, after=("Outline", "PartItem")),
))


def merge_end(status: str, items: int) -> TaskEvent:
    deps = ("Outline__run_full_0a", *(f"PartItem_{i}__run_full_{i:02x}" for i in range(items)))
    return TaskEvent(event="end", task_family="Merge", task_id="Merge__run_full_ff", start=1.0, end=2.0,
                     status=status, deps=deps)


def test_a_guessed_width_is_replaced_by_the_items_the_merge_lists():
    assert WORK.tasks == 6 and WORK.llm_calls == 5 and WORK.estimated == ["Merge"]
    assert WORK.with_widths([]) == WORK
    known = WORK.with_widths([merge_end("yielded", 7)])
    assert known.tasks == 9 and known.llm_calls == 8 and known.estimated == []


def test_the_record_reads_back_as_written(tmp_path):
    assert read_expected_work(tmp_path) is None
    write_expected_work(tmp_path, WORK)
    assert read_expected_work(tmp_path) == WORK


def test_the_walk_counts_every_task_of_the_plan_by_stage_in_the_plans_order(tmp_path):
    work = expected_work(FullPlan(run_dir=str(tmp_path), speed="fast"))
    families = [stage.family for stage in work.stages]
    assert families[0] == "Setup" and families[-1] == "FullPlan"
    for index, stage in enumerate(work.stages):  # each stage after every stage it waits for
        assert set(stage.after) <= set(families[:index]), stage.family
    merges = {stage.items_of for stage in work.stages if stage.items_of}
    assert set(work.estimated) <= merges and "EnrichLevers" in work.estimated  # no list is written yet


def state(done: set, in_flight: list[InFlight], finished_llm: list) -> RunState:
    return RunState(run_dir="run", state="running", run_id="x", started=0.0, ended=None, speed="full", llm_slots=8,
                    scaled_out=False, done_keys=done, finished_llm=finished_llm, in_flight=in_flight)


def test_the_eta_is_the_longest_chain_left_at_the_pace_of_the_calls_so_far():
    # The outline took twice its expected time: the calls left are expected at twice theirs.
    now = 100.0
    running = [InFlight("PartItem", i, since=now - 10.0, llm=True, host="h") for i in range(4)]
    look = outlook(WORK, state({("Outline", None)}, running, [("Outline", 20.0)]), now)
    assert (look.tasks_done, look.tasks_expected, look.llm_calls_expected) == (1, 6, 5)
    assert look.eta_s == 30.0  # each part has 30 s of its expected 40 s left after 10 s; the merge takes none
    assert look.widths_estimated == ["Merge"]
    assert 0 < look.progress < 1


def test_a_width_still_guessed_is_taken_again_from_the_lists_known_since():
    work = ExpectedWork(root="Last", speed="full", stages=(
        ExpectedStage("AItem", tasks=6, llm=True, expected_s=1.0, items_of="A", estimated=True),
        ExpectedStage("A", tasks=1, llm=False, expected_s=0.0, after=("AItem",)),
        ExpectedStage("BItem", tasks=6, llm=True, expected_s=1.0, items_of="B", estimated=True, cap=2),
        ExpectedStage("B", tasks=1, llm=False, expected_s=0.0, after=("BItem",)),
        ExpectedStage("CItem", tasks=6, llm=True, expected_s=1.0, items_of="C", estimated=True),
        ExpectedStage("C", tasks=1, llm=False, expected_s=0.0, after=("CItem",)),
    ))
    lines = [TaskEvent(event="end", task_family="A", task_id="A_x", start=1.0, end=2.0, status="yielded",
                       deps=tuple(f"AItem_{i}_x" for i in range(3)))]
    known = {stage.family: (stage.tasks, stage.estimated) for stage in work.with_widths(lines).stages}
    assert known["AItem"] == (3, False)
    assert known["BItem"] == (2, True) and known["CItem"] == (3, True)  # as wide as the one list known
