"""Telemetry lines: concurrent appends from many processes, and reading a torn file."""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path

from planexe_pipeline.telemetry.event_log import _host_file, append_event, parse_events, read_events, telemetry_dir
from planexe_pipeline.telemetry.events import EVENT_KINDS, Event, LLMCallEvent, RunEvent, TaskEvent, event_kind

PROCS = 4
LINES = 200


def _writer(run_dir: str, proc: int, start_gate) -> None:
    start_gate.wait()
    pad = "x" * (200 + 97 * proc)  # lines of different lengths, several KB apart from each other
    for i in range(LINES):
        append_event(run_dir, LLMCallEvent(task_id=str(proc), attempt=i, start=float(i), end=float(i), error=pad))


def test_concurrent_processes_append_whole_lines_and_lose_none(tmp_path):
    ctx = multiprocessing.get_context("fork")
    gate = ctx.Barrier(PROCS)
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), p, gate)) for p in range(PROCS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0

    files = list(telemetry_dir(tmp_path).glob("*.jsonl"))
    assert files == [_host_file(tmp_path)], "one file per host"
    raw = files[0].read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.decode("utf-8").splitlines()
    assert len(lines) == PROCS * LINES
    parsed = [json.loads(line) for line in lines]  # every line is one whole JSON object
    for proc in range(PROCS):
        seqs = [r["attempt"] for r in parsed if r["task_id"] == str(proc)]
        assert seqs == list(range(LINES)), f"process {proc}: lines lost or reordered"

    events = read_events(tmp_path, kind="llm_call")
    assert len(events) == PROCS * LINES
    assert sorted((int(r.task_id), r.attempt) for r in events) == [(p, i) for p in range(PROCS) for i in range(LINES)]


def _append_one(run_dir: str) -> None:
    append_event(run_dir, TaskEvent(task_id="child", start=1.0, end=1.0))


def test_append_waits_for_the_lock_other_writers_hold(tmp_path):
    """The flock is what keeps lines whole when a line needs more than one write."""
    path = _host_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.touch()
    ctx = multiprocessing.get_context("fork")
    with open(path, "ab") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        child = ctx.Process(target=_append_one, args=(str(tmp_path),))
        child.start()
        time.sleep(0.15)
        assert path.read_bytes() == b"", "appended while another writer held the lock"
        assert child.is_alive()
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)
    child.join(timeout=10)
    assert child.exitcode == 0
    assert [e.task_id for e in read_events(tmp_path)] == ["child"]


def test_read_events_skips_a_torn_last_line(tmp_path):
    append_event(tmp_path, TaskEvent(task_id="a", start=1.0, end=2.0))
    append_event(tmp_path, LLMCallEvent(task_id="b", start=2.0, end=3.0))
    with open(_host_file(tmp_path), "ab") as fh:
        fh.write(b'{"kind": "llm_call", "start": 4.0, "ta')  # a writer killed mid-line
    events = read_events(tmp_path)
    assert [e.task_id for e in events] == ["a", "b"]
    assert [e.task_id for e in read_events(tmp_path, kind="llm_call")] == ["b"]
    assert [e.task_id for e in read_events(tmp_path, TaskEvent)] == ["a"]


def test_read_events_merges_hosts_in_time_order_and_ignores_junk(tmp_path):
    folder = telemetry_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / "events-host-b.jsonl").write_text(
        json.dumps({"kind": "llm_call", "start": 1.0, "end": 5.0, "task_id": "b1"}) + "\n"
        + "[1, 2, 3]\n"  # valid JSON, not a record
        + "\xff garbage\n"
        + json.dumps({"kind": "no_such_kind", "start": 2.0}) + "\n"  # a newer writer's kind
        + json.dumps({"kind": "llm_call", "start": 3.0, "end": 4.0, "task_id": "b2"}) + "\n",
        encoding="utf-8",
    )
    (folder / "events-host-a.jsonl").write_text(
        json.dumps({"kind": "llm_call", "start": 2.0, "end": 2.5, "task_id": "a1"}) + "\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not telemetry")
    assert [e.task_id for e in read_events(tmp_path)] == ["b1", "a1", "b2"]


def test_read_events_of_a_run_without_telemetry(tmp_path):
    assert read_events(tmp_path) == []
    assert read_events(Path(tmp_path) / "missing") == []


def test_append_event_writes_one_sorted_json_line(tmp_path):
    append_event(tmp_path, RunEvent(event="start", start=1.5, workers=4, pid=9))
    text = _host_file(tmp_path).read_text()
    assert text.count("\n") == 1
    assert json.loads(text) == {"kind": "run", "event": "start", "start": 1.5, "end": None, "status": None,
                                "workers": 4, "llm_slots": None, "print_slots": None, "pid": 9, "run_id": None, "scaled_out": False,
                                "speed": None, "cpu_s": None, "peak_rss_bytes": None, "models": [], "llm_config": None}
    assert list(json.loads(text)) == sorted(json.loads(text))


def test_fields_of_the_wrong_type_read_as_their_default_and_lines_without_identity_are_skipped():
    (task, call) = parse_events([
        {"kind": "task", "task_id": "t", "start": 1, "end": "soon", "item": True, "deps": ["a", 3, None],
         "llm": 1, "worker": None, "pid": 12, "extra": "kept by nobody"},
        {"kind": "task", "task_id": 5, "start": 1.0},  # no usable id
        {"kind": "task", "task_id": "u", "start": float("nan")},  # no usable start
        {"kind": "llm_call", "start": 2.0, "input_tokens": "12", "duration_s": 0.5, "status": "ok"},
    ])
    assert (task.task_id, task.start, task.end, task.item, task.deps, task.llm) == ("t", 1.0, None, None, ("a",), True)
    assert task.ran_on == 12, "older lines name only the task's own process"
    assert (call.input_tokens, call.call_seconds, call.ok) == (None, 0.5, True)


def test_a_line_written_is_the_same_event_read_back(tmp_path):
    written = [TaskEvent(event="end", task_family="ReviewPlanItem", task_id="ReviewPlan_x", item=1, group="synthesis",
                         llm=True, pid=3, worker=2, start=1.0, end=2.0, status="failed", deps=("A", "B"),
                         error="ReviewPlanItem item 1: every model failed"),
               LLMCallEvent(task_family="ReviewPlanItem", task_id="ReviewPlan_x", item=1, model="sim", attempt=2,
                            start=1.1, end=1.9, duration_s=0.8, input_tokens=10, output_tokens=5,
                            tokens_estimated=True, status="ok"),
               RunEvent(event="end", start=0.5, end=3.0, workers=4, llm_slots=8, pid=1, status="ok")]
    for event in written:
        append_event(tmp_path, event)
    assert sorted(read_events(tmp_path), key=lambda e: e.kind) == sorted(written, key=lambda e: e.kind)


def test_a_new_kind_of_line_is_one_declaration(tmp_path):
    @event_kind
    @dataclass(frozen=True, kw_only=True)
    class ProviderWait(Event):
        kind = "test_provider_wait"
        model: str | None = None

    try:
        append_event(tmp_path, ProviderWait(model="m", start=1.0, end=4.0))
        (event,) = read_events(tmp_path, "test_provider_wait")
        assert isinstance(event, ProviderWait) and event.model == "m" and event.seconds == 3.0
    finally:
        del EVENT_KINDS["test_provider_wait"]

