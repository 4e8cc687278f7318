import csv
import io
import re
from datetime import date

import pytest

from planexe_pipeline.stages.schedule import (
    CSV_COLUMNS,
    DatedSchedule,
    ScheduleTask,
    compute_schedule,
    schedule_to_csv,
    schedule_to_mermaid,
    to_markdown,
)

D0 = date(2025, 3, 3)


def leaf(tid, days, parent=None, title=None, level=None):
    lvl = level if level is not None else tid.count(".") + 1
    return ScheduleTask(id=tid, title=title or f"Task {tid}", parent_id=parent, duration_days=days, level=lvl)


def by_id(schedule: DatedSchedule):
    return {t.id: t for t in schedule.tasks}


def offsets(schedule: DatedSchedule):
    return {t.id: ((t.start - D0).days, (t.end - D0).days) for t in schedule.tasks}


def test_chain_runs_back_to_back_and_is_all_critical():
    tasks = [leaf("T-1", 2), leaf("T-2", 3), leaf("T-3", 1)]
    s = compute_schedule(tasks, [("T-2", "T-1"), ("T-3", "T-2")], D0)
    assert offsets(s) == {"T-1": (0, 2), "T-2": (2, 5), "T-3": (5, 6)}
    assert s.end_date == date(2025, 3, 9)
    assert s.critical_path == ["T-1", "T-2", "T-3"]
    assert all(t.critical for t in s.tasks)
    assert by_id(s)["T-3"].depends_on == ["T-2"]
    assert s.warnings == []


def test_diamond_waits_for_the_longer_branch():
    tasks = [leaf("A", 1), leaf("B", 5), leaf("C", 2), leaf("D", 1)]
    deps = [("B", "A"), ("C", "A"), ("D", "B"), ("D", "C")]
    s = compute_schedule(tasks, deps, D0)
    assert offsets(s) == {"A": (0, 1), "B": (1, 6), "C": (1, 3), "D": (6, 7)}
    assert s.critical_path == ["A", "B", "D"]
    assert not by_id(s)["C"].critical
    assert by_id(s)["D"].depends_on == ["B", "C"]


def test_parallel_branches_start_together_and_longest_is_critical():
    tasks = [leaf("A", 2), leaf("B", 2), leaf("X", 1), leaf("Y", 1)]
    s = compute_schedule(tasks, [("B", "A"), ("Y", "X")], D0)
    assert offsets(s) == {"A": (0, 2), "B": (2, 4), "X": (0, 1), "Y": (1, 2)}
    assert s.critical_path == ["A", "B"]
    assert [t.id for t in s.tasks if t.critical] == ["A", "B"]


def test_durations_round_up_with_a_minimum_of_one_day():
    s = compute_schedule([leaf("A", 0.2), leaf("B", 2.1), leaf("C", 0), leaf("D", -3)], [], D0)
    assert {t.id: t.duration_days for t in s.tasks} == {"A": 1, "B": 3, "C": 1, "D": 1}


def test_unknown_ids_are_dropped_with_a_warning():
    tasks = [leaf("T-1", 1), leaf("T-2", 1)]
    s = compute_schedule(tasks, [("T-2", "T-9"), ("T-7", "T-1"), ("T-2", "T-1")], D0)
    assert offsets(s) == {"T-1": (0, 1), "T-2": (1, 2)}
    assert len(s.warnings) == 2
    assert "T-9" in s.warnings[0] and "unknown" in s.warnings[0]
    assert "T-7" in s.warnings[1] and "unknown" in s.warnings[1]
    assert by_id(s)["T-2"].depends_on == ["T-1"]


def test_self_loop_is_dropped_with_a_warning():
    s = compute_schedule([leaf("A", 2)], [("A", "A")], D0)
    assert offsets(s) == {"A": (0, 2)}
    assert len(s.warnings) == 1 and "'A'" in s.warnings[0] and "itself" in s.warnings[0]
    assert by_id(s)["A"].depends_on == []


def test_duplicates_merge_without_warning():
    s = compute_schedule([leaf("A", 1), leaf("B", 1)], [("B", "A"), ("B", "A"), ["B", "A"]], D0)
    assert by_id(s)["B"].depends_on == ["A"]
    assert s.warnings == []


def test_three_cycle_broken_deterministically_at_the_closing_edge():
    tasks = [leaf("A", 1), leaf("B", 2), leaf("C", 3)]
    deps = [("C", "A"), ("A", "B"), ("B", "C")]  # A after B, B after C, C after A
    first = compute_schedule(tasks, deps, D0)
    again = compute_schedule(tasks, deps, D0)
    assert first.model_dump() == again.model_dump()
    # Visiting tasks in input order accepts A->B and B->C first; C->A closes the loop.
    reordered = compute_schedule(tasks, list(reversed(deps)), D0)
    assert reordered.model_dump() == first.model_dump()
    assert len(first.warnings) == 1
    assert "'C' depends on 'A'" in first.warnings[0] and "cycle" in first.warnings[0]
    assert offsets(first) == {"C": (0, 3), "B": (3, 5), "A": (5, 6)}
    assert first.critical_path == ["C", "B", "A"]


def test_cycle_through_a_parent_is_detected():
    tasks = [leaf("T-1", 0, level=1), leaf("T-1.1", 2, "T-1"), leaf("T-2", 1)]
    # T-2 after all of T-1, and T-1.1 after T-2: a loop only visible through the parent.
    # T-1.1 comes first in input order, so its edge is kept and T-2's closes the loop.
    s = compute_schedule(tasks, [("T-2", "T-1"), ("T-1.1", "T-2")], D0)
    assert len(s.warnings) == 1 and "'T-2' depends on 'T-1'" in s.warnings[0]
    assert offsets(s) == {"T-1": (1, 3), "T-1.1": (1, 3), "T-2": (0, 1)}


def test_dependency_on_a_parent_waits_for_all_descendants():
    tasks = [
        leaf("T-1", 0),
        leaf("T-1.1", 2, "T-1"),
        leaf("T-1.2", 0, "T-1"),
        leaf("T-1.2.1", 4, "T-1.2"),
        leaf("T-1.2.2", 1, "T-1.2"),
        leaf("T-2", 1),
    ]
    s = compute_schedule(tasks, [("T-2", "T-1")], D0)
    assert offsets(s)["T-2"] == (4, 5)
    assert s.critical_path == ["T-1.2.1", "T-2"]
    # Parents containing a critical leaf are flagged too.
    assert by_id(s)["T-1"].critical and by_id(s)["T-1.2"].critical
    assert not by_id(s)["T-1.1"].critical


def test_a_parents_dependency_applies_to_each_of_its_children():
    tasks = [leaf("T-1", 3), leaf("T-2", 0), leaf("T-2.1", 1, "T-2"), leaf("T-2.2", 2, "T-2")]
    s = compute_schedule(tasks, [("T-2", "T-1")], D0)
    assert offsets(s)["T-2.1"] == (3, 4)
    assert offsets(s)["T-2.2"] == (3, 5)


def test_parent_depending_on_its_own_child_is_dropped():
    tasks = [leaf("T-1", 0), leaf("T-1.1", 2, "T-1")]
    s = compute_schedule(tasks, [("T-1", "T-1.1"), ("T-1.1", "T-1")], D0)
    assert len(s.warnings) == 2 and all("contains" in w for w in s.warnings)
    assert offsets(s) == {"T-1": (0, 2), "T-1.1": (0, 2)}


def test_parents_span_their_children_and_ignore_their_own_duration():
    tasks = [
        leaf("T-1", 99),
        leaf("T-1.1", 30, "T-1"),  # its own duration is overridden by its children
        leaf("T-1.1.1", 2, "T-1.1"),
        leaf("T-1.1.2", 3, "T-1.1"),
        leaf("T-1.2", 1, "T-1"),
    ]
    s = compute_schedule(tasks, [("T-1.1.2", "T-1.1.1"), ("T-1.2", "T-1.1.1")], D0)
    o = offsets(s)
    assert o["T-1.1.1"] == (0, 2) and o["T-1.1.2"] == (2, 5) and o["T-1.2"] == (2, 3)
    assert o["T-1.1"] == (0, 5)
    assert o["T-1"] == (0, 5)
    assert by_id(s)["T-1"].duration_days == 5
    assert [t.id for t in s.tasks] == [t.id for t in tasks]
    assert s.end_date == date(2025, 3, 8)


def test_unknown_parent_is_treated_as_top_level():
    s = compute_schedule([leaf("T-1.1", 2, "T-9")], [], D0)
    assert by_id(s)["T-1.1"].parent_id is None
    assert len(s.warnings) == 1 and "T-9" in s.warnings[0]


def test_duplicate_task_ids_are_a_bug():
    with pytest.raises(ValueError):
        compute_schedule([leaf("A", 1), leaf("A", 2)], [], D0)


def test_zero_tasks_gives_an_empty_schedule():
    s = compute_schedule([], [("A", "B")], D0)
    assert s.start_date == s.end_date == D0
    assert s.tasks == [] and s.critical_path == []
    assert schedule_to_csv(s).strip() == ",".join(CSV_COLUMNS)
    assert schedule_to_mermaid(s, "Empty").startswith("gantt\n")
    assert "No tasks" in to_markdown(s)


def _sample():
    tasks = [
        leaf("T-1", 0, title="Site: permits & survey"),
        leaf("T-1.1", 2, "T-1", title="Grid #connection; study"),
        leaf("T-1.2", 3, "T-1", title="section plan\nline two"),
        leaf("T-2", 0, title="Build"),
        leaf("T-2.1", 5, "T-2", title="Install | panels"),
    ]
    return compute_schedule(tasks, [("T-2", "T-1"), ("T-1.2", "T-1.1")], D0)


def test_csv_has_the_documented_columns_and_one_row_per_task():
    s = _sample()
    rows = list(csv.reader(io.StringIO(schedule_to_csv(s))))
    assert rows[0] == ["id", "title", "parent_id", "level", "start", "end", "duration_days", "critical", "depends_on"]
    assert [r[0] for r in rows[1:]] == ["T-1", "T-1.1", "T-1.2", "T-2", "T-2.1"]
    row = dict(zip(rows[0], rows[3]))
    assert row == {
        "id": "T-1.2", "title": "section plan\nline two", "parent_id": "T-1", "level": "2",
        "start": "2025-03-05", "end": "2025-03-08", "duration_days": "3", "critical": "true",
        "depends_on": "T-1.1",
    }


def test_mermaid_block_structure_and_sanitized_titles():
    text = schedule_to_mermaid(_sample(), "Solar: farm # plan")
    lines = text.splitlines()
    assert lines[0] == "gantt"
    assert "    dateFormat YYYY-MM-DD" in lines
    title = next(line for line in lines if line.strip().startswith("title "))
    assert ":" not in title and "#" not in title
    sections = [line.strip() for line in lines if line.strip().startswith("section ")]
    assert sections == ["section Site permits & survey", "section Build"]
    task_lines = [line.strip() for line in lines if re.search(r" :", line)]
    assert len(task_lines) == 3  # leaves only
    pattern = re.compile(r"^([^:#;]+) :(crit, )?([A-Za-z0-9_]+), (\d{4}-\d{2}-\d{2}), (\d+)d$")
    for line in task_lines:
        assert pattern.match(line), line
    parsed = {pattern.match(t).group(3): pattern.match(t) for t in task_lines}
    assert parsed["T_2_1"].group(2) == "crit, " and parsed["T_2_1"].group(4) == "2025-03-08"
    assert parsed["T_1_1"].group(1) == "Grid connection study"
    # A title starting with a gantt keyword must not turn into a new section.
    assert parsed["T_1_2"].group(1) == "T-1.2 section plan line two"


def test_markdown_lists_table_critical_path_and_warnings():
    tasks = [leaf("A", 1, title="Pour | base"), leaf("B", 2)]
    s = compute_schedule(tasks, [("B", "A"), ("B", "Z")], D0)
    md = to_markdown(s)
    assert "| ID | Task | Start | Last day | Days | Critical | Depends on |" in md
    assert "Pour \\| base" in md
    assert "| B | Task B | 2025-03-04 | 2025-03-05 | 2 | yes | A |" in md
    crit = md.split("## Critical path")[1].split("## Warnings")[0]
    assert crit.index("A") < crit.index("B")
    assert "'Z'" in md.split("## Warnings")[1]
