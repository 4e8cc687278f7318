"""The bench command end to end at a tiny time scale, and the bounds it reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planexe_pipeline.cli import main
from planexe_pipeline.bench import workload as bench
from planexe_pipeline.telemetry.critical_path import slot_lower_bound
from planexe_pipeline.telemetry.events import TaskEvent


def task(task_id: str, start: float, end: float, deps=(), llm=True) -> TaskEvent:
    return TaskEvent(event="end", task_id=task_id, task_family=task_id.rstrip("0123456789"),
                     start=start, end=end, status="ok", deps=tuple(deps), llm=llm)


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
                 "--latency-model", "tokens", "--out-dir", str(tmp_path / "runs"), "--json", str(out)])
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
    assert result["efficiency"] == pytest.approx(runs[1]["executed_chain_s"] / runs[1]["makespan_s"], rel=1e-2)
    assert result["ceiling"] == pytest.approx(runs[0]["makespan_s"] / runs[1]["critical_path_s"], rel=1e-2)
    assert result["speedup"] <= result["ceiling"]
    assert 0 < result["efficiency"] <= 1.0
    assert result["workload"]["latency_model"] == "tokens"
    # The chain that set the makespan stage by stage: its tasks' seconds add up to it, and its LLM
    # calls show their answers' length.
    path = runs[1]["path_stages"]
    assert path[0]["stage"] == "Setup" and path[-1]["stage"] == "FullPlan"
    assert runs[1]["path_depth"] > 0
    assert sum(row["seconds"] for row in path) == pytest.approx(runs[1]["executed_chain_s"], abs=0.01)
    assert runs[1]["executed_chain_s"] <= runs[1]["makespan_s"]
    assert all(row["output_tokens"] > 0 for row in path if row["llm_s"] > 0)
    assert "chain that set the makespan at 4 workers" in table and "tokens out" in table


def test_bench_refuses_bad_worker_lists(capsys):
    assert main(["bench", "--workers-list", "1,zero"]) == 2
    assert "--workers-list" in capsys.readouterr().err
    assert main(["bench", "--workers-list", "0"]) == 2


def test_repeat_interleaves_worker_counts_and_reports_median_min_max(tmp_path, monkeypatch, capsys):
    # Makespans per (workers, repetition): the 1-worker runs drift as load would make them.
    makespans = {(1, 1): 40.0, (16, 1): 12.5, (1, 2): 44.0, (16, 2): 12.0, (1, 3): 39.0, (16, 3): 13.0}
    order = []

    def fake_run_once(root, config_path, prompt_id, workers, slots, start_date, suffix="", status_check=False):
        repetition = int(suffix.removeprefix("-r"))
        order.append((workers, repetition))
        makespan = makespans[(workers, repetition)]
        return bench.BenchRun(workers=workers, llm_slots=slots, makespan_s=makespan, llm_calls=100,
                              sum_llm_s=38.0, critical_path_s=12.0, overhead_per_task_ms=5.0 * repetition,
                              tasks=118, bound_s=12.0, slot_bound_s=12.0, run_dir=str(root / suffix))

    monkeypatch.setattr(bench, "run_once", fake_run_once)
    out = tmp_path / "bench.json"
    assert main(["bench", "--repeat", "3", "--out-dir", str(tmp_path), "--json", str(out)]) == 0
    # Each repetition measures both counts back to back, so a ratio never spans a change of load.
    assert order == [(1, 1), (16, 1), (1, 2), (16, 2), (1, 3), (16, 3)]
    result = json.loads(out.read_text())
    assert [r["speedup"] for r in result["rounds"]] == [3.2, pytest.approx(3.667, abs=1e-3), 3.0]
    assert result["summary"]["speedup"] == {"median": 3.2, "min": 3.0, "max": pytest.approx(3.667, abs=1e-3)}
    assert result["speedup"] == 3.2
    assert result["summary"]["efficiency"] == {"median": 0.96, "min": pytest.approx(0.923, abs=1e-3), "max": 1.0}
    assert result["summary"]["by_workers"]["16"]["overhead_per_task_ms"] == {"median": 10.0, "min": 5.0, "max": 15.0}
    table = capsys.readouterr().out
    assert "median: 3.2x (min 3.0x, max 3.667x)" in table
    # The ceiling: 1-worker makespan over the 16-worker critical path (12 s in every round).
    assert result["summary"]["ceiling"] == {"median": pytest.approx(3.333, abs=1e-3),
                                            "min": pytest.approx(3.25, abs=1e-3),
                                            "max": pytest.approx(3.667, abs=1e-3)}
    assert "ceiling (makespan at 1 / critical path at 16): 3.333x (min 3.25x, max 3.667x)" in table
    assert "overhead per task on the chain that set the makespan at 16: 10.0 ms (min 5.0 ms, max 15.0 ms)" in table


def test_bench_refuses_a_repeat_below_one(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--repeat", "0"])
    assert exit_.value.code == 2
    assert "--repeat" in capsys.readouterr().err


def test_seed_draws_another_workload_and_says_which(tmp_path, monkeypatch):
    seen = []

    def fake_run_once(root, config_path, prompt_id, workers, slots, start_date, suffix="", status_check=False):
        seen.append(json.loads(Path(config_path).read_text())["models"]["bench-simulated"]["arguments"]["seed"])
        return bench.BenchRun(workers=workers, llm_slots=slots, makespan_s=10.0, llm_calls=96, sum_llm_s=30.0,
                              critical_path_s=9.0, overhead_per_task_ms=5.0, tasks=114, bound_s=9.0, slot_bound_s=9.0,
                              run_dir=str(root / suffix))

    monkeypatch.setattr(bench, "run_once", fake_run_once)
    out = tmp_path / "bench.json"
    assert main(["bench", "--seed", "7", "--out-dir", str(tmp_path), "--json", str(out)]) == 0
    assert seen == [7, 7]
    assert json.loads(out.read_text())["workload"]["seed"] == 7


def test_both_latency_models_are_run_each_into_its_own_folder(tmp_path, monkeypatch):
    seen = []

    def fake_run_bench(workers_list, *, out_dir, latency_model, **options):
        seen.append((latency_model, out_dir))
        run = {"workers": 4, "llm_slots": 4, "makespan_s": 2.0, "llm_calls": 9, "sum_llm_s": 5.0,
               "critical_path_s": 1.9, "bound_s": 1.9, "slot_bound_s": 1.9, "overhead_per_task_ms": 3.0,
               "path_depth": 7, "path_stages": [], "overhead": None, "busy_per_task_ms": None}
        return {"runs": [run], "repeat": 1, "out_dir": str(out_dir), "summary": bench._summary(
            [bench.BenchRun(**{**run, "tasks": 9, "run_dir": "x"})], [bench._ratios([bench.BenchRun(
                **{**run, "tasks": 9, "run_dir": "x"})])])}

    monkeypatch.setattr(bench, "run_bench", fake_run_bench)
    result = bench.run_bench_models(bench.LATENCY_MODELS, [4], out_dir=tmp_path)
    assert seen == [("stage_ranges", tmp_path / "stage_ranges"), ("tokens", tmp_path / "tokens")]
    text = bench.format_bench_models(result)
    assert text.index("== latency model: stage_ranges ==") < text.index("== latency model: tokens ==")
    assert text.count("critical path depth at 4: 7 LLM calls") == 2
    assert bench.run_bench_models(("tokens",), [4], out_dir=tmp_path)["runs"][0]["path_depth"] == 7


def test_exports_share_interleaves_runs_without_and_with_exports_and_compares_their_medians(tmp_path, monkeypatch,
                                                                                            capsys):
    from planexe_pipeline.bench import exports_share

    makespans = iter([10.0, 10.4, 11.0, 11.0, 9.0, 9.1])  # without, with, without, with, ...
    runs = []

    def fake_run_once(root, config_path, prompt_id, workers, slots, start_date, suffix="", luigi_config=None):
        runs.append(luigi_config.read_text() if luigi_config else None)
        stages = [{"stage": "PDFExport", "item": None, "seconds": 0.2, "llm_s": 0.0, "output_tokens": 0}]
        return bench.BenchRun(workers=workers, llm_slots=slots, makespan_s=next(makespans), llm_calls=100,
                              sum_llm_s=38.0, critical_path_s=9.0, overhead_per_task_ms=5.0, tasks=118,
                              bound_s=9.0, slot_bound_s=9.0, run_dir=str(root / suffix), path_stages=stages)

    monkeypatch.setattr(exports_share, "run_once", fake_run_once)
    assert main(["bench", "--exports-share", "--repeat", "3", "--workers-list", "1,16", "--out-dir", str(tmp_path)]) == 0
    # Each pair ran back to back; the runs without exports name no format.
    assert runs == [exports_share.NO_EXPORTS_CFG, None] * 3
    out = capsys.readouterr().out
    assert "median 10.00 s (min 9.00, max 11.00)" in out and "median 10.40 s" in out
    assert "added: +4.0% of the median without exports" in out and "PDFExport" in out
