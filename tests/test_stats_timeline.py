"""Stats and the HTML timeline, on the recorded small run and on hand-made telemetry.

The recorded folder may be replaced by a newer recording, so tests on it assert relationships
(sums, bounds, one bar per execution) rather than totals.
"""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from planexe_pipeline.telemetry.expected_work import ExpectedStage, ExpectedWork, write_expected_work
from planexe_pipeline.telemetry.stats import TaskExecution, compute_stats, load_events, task_executions
from planexe_pipeline.telemetry.stats_table import format_stats
from planexe_pipeline.telemetry.timeline import (PALETTE, assign_lanes, group_colours, render_timeline_html,
                                                 write_timeline)

SMALL_RUN = Path(__file__).parent / "data" / "telemetry_small"


def raw_lines(run_dir: Path) -> list[dict]:
    lines = []
    for path in sorted((run_dir / "telemetry").glob("*.jsonl")):
        for text in path.read_text().splitlines():
            try:
                lines.append(json.loads(text))
            except json.JSONDecodeError:
                pass
    return lines


def write_run(run_dir: Path, lines: list[dict], name: str = "events-host.jsonl", tail: str = "") -> Path:
    folder = run_dir / "telemetry"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(line) + "\n" for line in lines) + tail)
    return run_dir


def task_lines(task_id, start, end, family="Stage", group="plan", item=None, status="ok", deps=(), pid=7):
    base = {"kind": "task", "task_family": family, "task_id": task_id, "item": item, "pid": pid,
            "group": group, "llm": True}
    lines = [dict(base, event="start", start=start, end=None, status="running")]
    if end is not None:
        lines.append(dict(base, event="end", start=start, end=end, status=status, deps=list(deps)))
    return lines


def call(task_id, start, end, family="Stage", status="ok", tokens=(100, 50), model="simulated", cost=(None, None),
         cached=None):
    return {"kind": "llm_call", "task_family": family, "task_id": task_id, "item": None, "model": model,
            "attempt": 1, "start": start, "end": end, "duration_s": end - start, "input_tokens": tokens[0],
            "output_tokens": tokens[1], "tokens_estimated": False, "status": status,
            "error": None if status == "ok" else "rate limited", "cost_usd": cost[0], "cost_source": cost[1],
            "cached_input_tokens": cached}


# --- stats on the recorded run ----------------------------------------------------------


def test_retries_are_attempts_minus_calls_and_stages_add_up():
    stats = compute_stats(SMALL_RUN)
    lines = [line for line in raw_lines(SMALL_RUN) if line.get("kind") == "llm_call"]
    assert stats.attempts == len(lines)
    assert stats.llm_calls == sum(line["status"] == "ok" for line in lines)
    assert stats.retries == stats.attempts - stats.llm_calls
    for row in stats.stages:
        assert row.retries == row.attempts - row.calls
    for total, field in [("llm_calls", "calls"), ("attempts", "attempts"), ("retries", "retries"),
                         ("errors", "errors"), ("input_tokens", "input_tokens"),
                         ("output_tokens", "output_tokens")]:
        assert getattr(stats, total) == sum(getattr(row, field) for row in stats.stages), total
    assert stats.llm_seconds == pytest.approx(sum(row.llm_seconds for row in stats.stages))
    assert stats.task_seconds == pytest.approx(sum(row.task_seconds for row in stats.stages))
    assert stats.tasks == sum(row.tasks for row in stats.stages)
    assert stats.executions == sum(tasks for tasks in stats.tasks_per_worker.values())


def test_parallel_run_bounds():
    stats = compute_stats(SMALL_RUN)
    attempts = [line for line in raw_lines(SMALL_RUN) if line.get("kind") == "llm_call"]
    # Brute force: the most attempts open at any attempt's start (intervals are half-open).
    brute = max(sum(o["start"] <= a["start"] < o["end"] for o in attempts) for a in attempts)
    assert stats.max_llm_in_flight == brute
    assert 1 <= stats.max_llm_in_flight <= stats.llm_calls
    assert 0 < stats.efficiency <= 1.0 + 1e-9
    assert stats.speedup >= 1.0
    assert stats.critical_path_seconds <= stats.makespan_seconds + 1e-9
    assert stats.makespan_seconds > 0


def test_to_dict_is_json_and_format_is_an_aligned_table():
    stats = compute_stats(SMALL_RUN)
    data = json.loads(json.dumps(stats.to_dict()))
    assert data["retries"] == stats.retries and len(data["stages"]) == len(stats.stages)
    text = format_stats(stats)
    table = text.split("\n\n")[0].splitlines()
    assert len({len(line) for line in table}) == 1, "columns are not aligned"
    for row in stats.stages:  # a fan-out's items indented under the stage that merges them
        assert any(line.startswith(("  " if row.merged_into else "") + row.family + " ") for line in table)
    assert table[-1].startswith("total")
    assert "critical path" in text and "makespan" in text


def test_a_run_of_lines_without_costs_has_no_cost_figure():
    # Recorded before calls carried their cost: tokens without a price are unpriced, not free.
    stats = compute_stats(SMALL_RUN)
    assert stats.cost is None and stats.unpriced > 0
    assert "unknown" in format_stats(stats).split("\n\n")[0].splitlines()[-1]


# --- stats on hand-made telemetry ------------------------------------------------------


def test_exact_numbers_on_a_hand_made_run(tmp_path):
    lines = [
        {"kind": "run", "event": "start", "start": 0.0, "end": None, "workers": 2, "llm_slots": 2, "pid": 1},
        {"kind": "run", "event": "end", "start": 0.0, "end": 10.0, "workers": 2, "llm_slots": 2,
         "status": "failed", "pid": 1},
        # Resumed an hour later: the idle hour is not makespan.
        {"kind": "run", "event": "start", "start": 3600.0, "end": None, "workers": 2, "llm_slots": 2, "pid": 9},
        {"kind": "run", "event": "end", "start": 3600.0, "end": 3605.0, "workers": 2, "llm_slots": 2,
         "status": "ok", "pid": 9},
        *task_lines("A", 1.0, 4.0, family="A"),
        *task_lines("B", 1.0, 9.0, family="B", status="failed"),
        *task_lines("B", 3601.0, 3604.0, family="B", deps=["A"]),
        call("A", 1.0, 2.0, family="A", status="error", tokens=(0, 0)),
        call("A", 2.0, 4.0, family="A", tokens=(1_000_000, 500_000), cost=(10.5, "table"),  # hands its slot over at 2.0
             cached=250_000),
        call("B", 1.5, 3.0, family="B", cost=(0.25, "provider")),
        call("B", 3601.0, 3603.0, family="B", model="unpriced", cost=(None, "unknown")),
    ]
    write_run(tmp_path, lines, tail='{"kind": "task", "event": "st')  # a torn last line
    stats = compute_stats(tmp_path)
    assert stats.makespan_seconds == pytest.approx(15.0)
    assert stats.max_llm_in_flight == 2
    assert (stats.llm_calls, stats.attempts, stats.retries, stats.errors) == (3, 4, 1, 1)
    assert stats.tasks == 2 and stats.executions == 3 and stats.tasks_failed == 0
    assert stats.critical_path == ["A", "B"] and stats.critical_path_seconds == pytest.approx(6.0)
    assert stats.task_seconds == pytest.approx(3.0 + 8.0 + 3.0)
    by_family = {row.family: row for row in stats.stages}
    assert by_family["A"].cost == pytest.approx(10.5) and by_family["A"].cached_share == pytest.approx(0.25)
    # The unpriced attempt is left out of the figure, and said to be.
    assert by_family["B"].cost == pytest.approx(0.25) and by_family["B"].unpriced == 1
    assert stats.cost == pytest.approx(10.75) and stats.unpriced == 1
    assert stats.cost_sources == {"provider": 1, "table": 1, "unknown": 1}
    assert stats.cached_share == pytest.approx(250_000 / 1_000_200)
    text = format_stats(stats)
    assert text.split("\n\n")[0].splitlines()[-1].endswith(">=$10.7500")
    assert "1 attempts of unpriced models are not in it" in text
    assert stats.runs == 2 and stats.llm_slots == 2


@pytest.mark.parametrize("make", [lambda p: p, lambda p: write_run(p, [{"kind": "run", "event": "start"}])])
def test_missing_or_empty_telemetry_says_what_to_do(tmp_path, make):
    run_dir = make(tmp_path)
    for render in (compute_stats, render_timeline_html):
        with pytest.raises(ValueError, match="no telemetry in .*telemetry: run the plan first"):
            render(run_dir)


# --- timeline --------------------------------------------------------------------------


class PageParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.bars: list[dict] = []
        self._bar: dict | None = None
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "rect" and "bar" in (attrs.get("class") or "").split():
            self._bar = {"classes": attrs["class"].split(), "title": ""}
            self.bars.append(self._bar)
        self._in_title = tag == "title" and self._bar is not None

    def handle_endtag(self, tag):
        if tag == "rect":
            self._bar = None
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self._bar["title"] += data


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def assert_self_contained(parser: PageParser):
    for tag, attrs in parser.tags:
        assert tag not in ("script", "iframe", "img", "link", "object", "embed")
        for name, value in attrs.items():
            assert not name.lower().startswith("on"), f"{tag} has {name}"
            assert name not in ("src", "href", "xlink:href")
            if name != "xmlns":
                assert "http" not in (value or "") and "url(" not in (value or "")


def test_timeline_has_one_bar_per_execution_and_marks_the_chain_that_set_the_makespan():
    page = render_timeline_html(SMALL_RUN)
    parser = parse(page)
    assert_self_contained(parser)
    assert "<script" not in page.lower() and "@import" not in page
    lines = [line for line in raw_lines(SMALL_RUN) if line.get("kind") == "task"]
    ended = {(line["task_id"], line["start"]) for line in lines if line["event"] == "end"}
    killed = {(line["task_id"], line["start"]) for line in lines if line["event"] == "start"} - ended
    assert len(parser.bars) == len(ended) + len(killed)
    yielded = sum(line["event"] == "end" and line["status"] == "yielded" for line in lines)
    assert sum("status-yielded" in bar["classes"] for bar in parser.bars) == yielded
    critical = [bar for bar in parser.bars if "critical" in bar["classes"]]
    stats = compute_stats(SMALL_RUN)
    assert sorted(bar["title"].splitlines()[-1] for bar in critical) == sorted(stats.executed_chain)
    for number in (f"{stats.makespan_seconds:.1f} s", f"{stats.critical_path_seconds:.1f} s",
                   f"{stats.executed_chain_seconds:.1f} s"):
        assert number in page
    assert 'class="max-in-flight"' in page


def test_timeline_is_deterministic_and_does_not_depend_on_line_order(tmp_path):
    page = render_timeline_html(SMALL_RUN)
    assert page == render_timeline_html(SMALL_RUN)
    copy = tmp_path / SMALL_RUN.name
    shutil.copytree(SMALL_RUN, copy)
    for path in (copy / "telemetry").glob("*.jsonl"):
        path.write_text("\n".join(reversed(path.read_text().splitlines())) + "\n")
    assert render_timeline_html(copy) == page
    written = write_timeline(copy)
    assert written == copy / "timeline.html" and written.read_text() == page


def test_lanes_never_overlap_and_are_as_few_as_the_busiest_moment():
    executions = task_executions(load_events(SMALL_RUN))
    lanes = assign_lanes(executions)
    for lane in set(lanes):
        mine = sorted((x.start, x.end) for x, l in zip(executions, lanes) if l == lane)
        assert all(end <= next_start for (_, end), (next_start, _) in zip(mine, mine[1:]))
    busiest = max(sum(o.start <= x.start < o.end for o in executions) for x in executions)
    assert max(lanes) + 1 == busiest


def test_hostile_task_ids_are_escaped_and_killed_tasks_still_drawn(tmp_path):
    evil = '<script>alert("x")</script>&"\''
    lines = [
        *task_lines(f"Evil_{evil}", 0.0, 2.0, family=f'Fam"{evil}', group=f"<b>{evil}"),
        *task_lines("Killed_1", 1.0, None, family="Killed"),
        call(f"Evil_{evil}", 0.5, 1.5, family=f'Fam"{evil}'),
    ]
    page = render_timeline_html(write_run(tmp_path, lines))
    parser = parse(page)
    assert_self_contained(parser)
    assert evil not in page and "<script" not in page
    assert len(parser.bars) == 2
    assert any(evil in bar["title"] for bar in parser.bars)
    assert any("status-incomplete" in bar["classes"] for bar in parser.bars)


def test_write_timeline_to_a_chosen_path(tmp_path):
    target = write_timeline(SMALL_RUN, tmp_path / "out" / "t.html")
    assert target == tmp_path / "out" / "t.html" and target.read_text().startswith("<!DOCTYPE html>")
    assert not (SMALL_RUN / "timeline.html").exists()


def test_groups_get_colours_in_the_order_the_run_started_them_a_new_group_included():
    def run(group, start):
        return TaskExecution(task_id=f"{group}-{start}", family=group.title(), group=group, item=None,
                             start=start, end=start + 1, status="ok", worker=None)

    colours = group_colours([run("plan", 3.0), run("framing", 1.0), run("checks", 2.0), run("framing", 5.0)])
    assert list(colours) == ["framing", "checks", "plan"]
    assert list(colours.values()) == list(PALETTE[:3])


def fan_out_run(tmp_path: Path, *, slots: int = 2) -> Path:
    """A list, two items (LLM calls) and their merge, which yields while the items run and merges
    after; a stage that started first but reads the merge; two task processes of one run process."""
    lines = [
        {"kind": "run", "event": "start", "start": 0.0, "workers": 16, "llm_slots": slots, "pid": 1},
        {"kind": "run", "event": "end", "start": 0.0, "end": 9.0, "workers": 16, "llm_slots": slots, "pid": 1,
         "status": "ok"},
        *task_lines("List_1", 0.0, 1.0, family="List", pid=11),
        *task_lines("Merge_1", 1.0, 1.1, family="Merge", status="yielded", pid=1,
                    deps=["List_1", "Item_0_x", "Item_1_x"]),
        *task_lines("Item_0_x", 1.1, 3.0, family="Item", item=0, pid=11, deps=["List_1"]),
        *task_lines("Item_1_x", 1.2, 3.5, family="Item", item=1, pid=12, deps=["List_1"]),
        *task_lines("Merge_1", 3.5, 3.6, family="Merge", pid=1, deps=["List_1", "Item_0_x", "Item_1_x"]),
        *task_lines("Summary_1", 3.6, 8.0, family="Summary", pid=12, deps=["Merge_1"]),
        *task_lines("Early_1", 0.0, 0.5, family="Early", pid=12),
        *task_lines("Late_1", 8.0, 9.0, family="Late", pid=12, deps=["Early_1", "Summary_1"]),
        call("Summary_1", 3.6, 8.0, family="Summary", tokens=(123_456_789, 98_765_432)),
    ]
    for line in lines:  # the list and the merges are our own steps; items and the rest hold LLM slots
        if line.get("task_family") in ("List", "Merge"):
            line["llm"] = False
        if line.get("kind") == "task":
            line["worker"] = 1
    return write_run(tmp_path, lines)


def test_stats_lists_stages_in_dependency_order_with_items_under_their_merge_in_120_columns(tmp_path):
    stats = compute_stats(fan_out_run(tmp_path))
    assert [row.family for row in stats.stages] == ["Early", "List", "Merge", "Item", "Summary", "Late"]
    text = format_stats(stats)
    assert max(len(line) for line in text.splitlines()) <= 120, text
    assert "  Item " in text and "\nItem " not in text
    assert "executions in 3 processes" in text
    assert not any(str(pid) in line for line in text.splitlines() for pid in (11, 12) if "process" in line)


def test_stats_follows_the_plans_order_where_the_run_recorded_it(tmp_path):
    run_dir = fan_out_run(tmp_path)
    planned = ["List", "Item", "Merge", "Summary", "Early", "Late"]  # Early numbered after Summary
    write_expected_work(run_dir, ExpectedWork(root="Late", speed="full", stages=tuple(
        ExpectedStage(family, tasks=1, llm=False, expected_s=0.0, items_of="Merge" if family == "Item" else None)
        for family in planned)))
    assert [row.family for row in compute_stats(run_dir).stages] == ["List", "Merge", "Item", "Summary", "Early",
                                                                      "Late"]
    # A stage the record expects that has not run yet (a fan-out's items, its merge) is not in the table.
    (run_dir / "telemetry" / "events-host.jsonl").write_text("".join(
        line for line in (run_dir / "telemetry" / "events-host.jsonl").read_text().splitlines(keepends=True)
        if '"Item' not in line and '"Merge' not in line))
    assert [row.family for row in compute_stats(run_dir).stages] == ["List", "Summary", "Early", "Late"]


def test_timeline_lanes_hold_calls_within_the_slots_and_count_the_processes(tmp_path):
    page = render_timeline_html(fan_out_run(tmp_path, slots=2))
    labels = [bar for bar in ("LLM 1", "LLM 2", "LLM 3", "step 1", "step 2", "slot 1")
              if f">{bar}</text>" in page]
    # Two calls and the merge ran at once: two call lanes for the two slots, the merge below them.
    assert labels == ["LLM 1", "LLM 2", "step 1"]
    assert "8 executions of 7 tasks in 3 processes" in page
