"""Telemetry lines: concurrent appends from many processes, and reading a torn file."""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import time
from pathlib import Path

from planexe_pipeline.telemetry.events import _host_file, append_event, read_events, telemetry_dir

PROCS = 4
LINES = 200


def _writer(run_dir: str, proc: int, start_gate) -> None:
    start_gate.wait()
    pad = "x" * (200 + 97 * proc)  # lines of different lengths, several KB apart from each other
    for i in range(LINES):
        append_event(run_dir, {"kind": "llm_call", "proc": proc, "seq": i, "start": float(i), "end": float(i),
                               "pad": pad})


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
        seqs = [r["seq"] for r in parsed if r["proc"] == proc]
        assert seqs == list(range(LINES)), f"process {proc}: lines lost or reordered"

    events = read_events(tmp_path, kind="llm_call")
    assert len(events) == PROCS * LINES
    assert sorted((r["proc"], r["seq"]) for r in events) == [(p, i) for p in range(PROCS) for i in range(LINES)]


def _append_one(run_dir: str) -> None:
    append_event(run_dir, {"kind": "task", "start": 1.0, "end": 1.0, "who": "child"})


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
    assert [e["who"] for e in read_events(tmp_path)] == ["child"]


def test_read_events_skips_a_torn_last_line(tmp_path):
    append_event(tmp_path, {"kind": "task", "start": 1.0, "end": 2.0, "name": "a"})
    append_event(tmp_path, {"kind": "llm_call", "start": 2.0, "end": 3.0, "name": "b"})
    with open(_host_file(tmp_path), "ab") as fh:
        fh.write(b'{"kind": "llm_call", "start": 4.0, "na')  # a writer killed mid-line
    events = read_events(tmp_path)
    assert [e["name"] for e in events] == ["a", "b"]
    assert [e["name"] for e in read_events(tmp_path, kind="llm_call")] == ["b"]


def test_read_events_merges_hosts_in_time_order_and_ignores_junk(tmp_path):
    folder = telemetry_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / "events-host-b.jsonl").write_text(
        json.dumps({"kind": "llm_call", "start": 1.0, "end": 5.0, "n": "b1"}) + "\n"
        + "[1, 2, 3]\n"  # valid JSON, not a record
        + "\xff garbage\n"
        + json.dumps({"kind": "llm_call", "start": 3.0, "end": 4.0, "n": "b2"}) + "\n",
        encoding="utf-8",
    )
    (folder / "events-host-a.jsonl").write_text(
        json.dumps({"kind": "llm_call", "start": 2.0, "end": 2.5, "n": "a1"}) + "\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not telemetry")
    assert [e["n"] for e in read_events(tmp_path)] == ["b1", "a1", "b2"]


def test_read_events_of_a_run_without_telemetry(tmp_path):
    assert read_events(tmp_path) == []
    assert read_events(Path(tmp_path) / "missing") == []


def test_append_event_writes_one_sorted_json_line(tmp_path):
    append_event(tmp_path, {"b": 1, "a": Path("/x"), "kind": "task"})
    text = _host_file(tmp_path).read_text()
    assert text.count("\n") == 1
    assert json.loads(text) == {"a": "/x", "b": 1, "kind": "task"}
    assert text.index('"a"') < text.index('"b"')
