"""The bench command end to end at a tiny time scale, and the bounds it reports."""

from __future__ import annotations

import json

import pytest

from planexe_pipeline.cli import main
from planexe_pipeline.telemetry.critical_path import slot_lower_bound


def task(task_id: str, start: float, end: float, deps=(), llm=True) -> dict:
    return {"kind": "task", "event": "end", "task_id": task_id, "task_family": task_id.rstrip("0123456789"),
            "start": start, "end": end, "status": "ok", "deps": list(deps), "llm": llm}


def test_slot_bound_knows_work_waits_for_its_inputs():
    # A 2 s call, then four 1 s calls that need it: critical path 3 s, LLM time / 2 slots = 3 s,
    # but the four calls cannot start before second 2, so two slots need until second 4.
    events = [task("A", 0, 2)] + [task(f"B{i}", 2, 3, deps=["A"]) for i in range(4)]
    assert slot_lower_bound(events, 2) == pytest.approx(4.0)
    assert slot_lower_bound(events, 4) == pytest.approx(3.0)  # enough slots: the path decides
    # Work that is not an LLM call holds no slot.
    events = [task("A", 0, 2)] + [task(f"B{i}", 2, 3, deps=["A"], llm=False) for i in range(4)]
    assert slot_lower_bound(events, 1) == pytest.approx(3.0)


@pytest.mark.slow
def test_bench_end_to_end(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "--workers-list", "1,4", "--time-scale", "0.0005", "--prompt-id", "bakery-lyon",
                 "--out-dir", str(tmp_path / "runs"), "--json", str(out)])
    assert code == 0
    table = capsys.readouterr().out
    assert "speedup" in table and "overhead ms/task" in table
    result = json.loads(out.read_text())
    runs = result["runs"]
    assert [r["workers"] for r in runs] == [1, 4]
    for run in runs:
        assert set(run) >= {"workers", "llm_slots", "makespan_s", "llm_calls", "sum_llm_s", "critical_path_s",
                            "overhead_per_task_ms", "bound_s", "slot_bound_s"}
        assert run["llm_calls"] > 80  # the full plan, every fan-out at its typical width
        assert 0 < run["critical_path_s"] <= run["makespan_s"]
        assert run["bound_s"] <= run["slot_bound_s"] + 1e-6
        assert run["slot_bound_s"] <= run["makespan_s"] + 1e-6
        assert run["overhead_per_task_ms"] >= 0
    assert runs[0]["llm_calls"] == runs[1]["llm_calls"]  # same workload at both worker counts
    assert result["speedup"] == pytest.approx(runs[0]["makespan_s"] / runs[1]["makespan_s"], rel=1e-2)
    assert result["efficiency"] == pytest.approx(runs[1]["critical_path_s"] / runs[1]["makespan_s"], rel=1e-2)
    assert 0 < result["efficiency"] <= 1.0


def test_bench_refuses_bad_worker_lists(capsys):
    assert main(["bench", "--workers-list", "1,zero"]) == 2
    assert "--workers-list" in capsys.readouterr().err
    assert main(["bench", "--workers-list", "0"]) == 2
