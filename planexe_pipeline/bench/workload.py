"""planexe-pipeline bench: one standard workload at several worker counts, in one invocation.

Each run is a fresh run folder and a fresh process (`planexe-pipeline run`), on the offline
simulator with a latency model (latency.py: each stage's measured range, or time to first token
plus output tokens over a rate) scaled by --time-scale and the typical fan-out widths, so the
ratio between runs measures the pipeline's shape and Luigi's scheduling, not the machine.
Numbers come from each run's telemetry.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from planexe_pipeline import defaults
from planexe_pipeline.errors import PipelineError
from planexe_pipeline.llm.simulator import STANDARD_WIDTHS
from planexe_pipeline.telemetry.critical_path import final_executions, slot_lower_bound
from planexe_pipeline.telemetry.event_log import of_kind
from planexe_pipeline.telemetry.events import Event, LLMCallEvent
from planexe_pipeline.telemetry.overhead import PARTS
from planexe_pipeline.telemetry.stats import load_events, stats_from_events
from planexe_pipeline.bench.status_check import StatusWatcher, accuracy_at
from planexe_pipeline.bench.cost import format_cost, workload_cost

BENCH_MODEL = "bench-simulated"


@dataclass
class BenchRun:
    workers: int
    llm_slots: int
    makespan_s: float
    llm_calls: int
    sum_llm_s: float
    critical_path_s: float  # the longest chain of dependencies: no schedule beats it
    overhead_per_task_ms: float
    tasks: int
    bound_s: float  # max(critical path, LLM time / slots)
    slot_bound_s: float  # the same, knowing LLM work cannot start before its inputs exist
    run_dir: str
    overhead: dict | None = None  # the executed chain's gaps by part (telemetry/overhead.py)
    # Of overhead_per_task_ms, the time tasks on the chain waited for a free task process: the
    # worker count's capacity, not the cost of scheduling.
    busy_per_task_ms: float | None = None
    path_stages: list[dict] | None = None  # the executed chain task by task, in seconds
    status_at_40: dict | None = None  # `status` at 40% of the makespan against what happened (--status-check)
    cpu_s: float | None = None  # the run's CPU seconds, tasks and run process
    path_depth: int | None = None  # LLM calls on the critical path, one after another
    # The chain that set the makespan: its tasks' seconds summed (telemetry/critical_path.py).
    executed_chain_s: float | None = None
    # As the slot bound, for the sections printed [resources] print at a time; None: nothing printed.
    print_bound_s: float | None = None


def path_stages(events: list[Event], task_ids: list[str], waits: list[dict] = ()) -> list[dict]:
    """Each task of a chain: its stage, item, seconds, LLM seconds and output tokens, and, where it
    waited for a resource (RunStats.resource_waits), the resource and the stage that held it."""
    waited = {wait["task_id"]: wait for wait in waits}
    finals = final_executions(events)
    calls: dict[str | None, list[LLMCallEvent]] = {}
    for call in of_kind(events, LLMCallEvent):
        if call.ok:
            calls.setdefault(call.task_id, []).append(call)
    rows = []
    for task_id in task_ids:
        end, own = finals[task_id], calls.get(task_id, [])
        rows.append({"stage": end.task_family, "item": end.item, "seconds": round(end.seconds, 3),
                     "llm_s": round(sum(c.call_seconds for c in own), 3),
                     "output_tokens": sum(c.output_tokens or 0 for c in own)}
                    | ({"waited_for": waited[task_id]["resource"], "held_by": waited[task_id]["holder_family"]}
                       if task_id in waited else {}))
    return rows


def bench_config(time_scale: float, seed: int, latency_model: str = "stage_ranges") -> dict:
    return {"models": {BENCH_MODEL: {"class": "Simulated", "arguments": {
        "seed": seed, "time_scale": time_scale, "widths": dict(STANDARD_WIDTHS), "latency_model": latency_model}}}}


def overhead_per_task_ms(stats, workers: int) -> float:
    """Time the run spent between tasks, per task, on the chain that set its makespan.

    With one worker that chain is every task in turn; with more it is the executed chain, where
    a task that waited for a print or LLM slot follows the task it took the slot from: the queue
    is that task's work, not a gap. What remains of the makespan after the chain's own durations
    is scheduling, process start-up and polling: the pipeline's overhead.
    """
    if workers == 1:
        chain_s, chain_len = stats.task_seconds, max(stats.executions, 1)
    else:
        chain_s, chain_len = stats.executed_chain_seconds, max(len(stats.executed_chain), 1)
    return max(0.0, stats.makespan_seconds - chain_s) / chain_len * 1000


def run_once(root: Path, config_path: Path, prompt_id: str, workers: int, llm_slots: int,
             start_date: str, suffix: str = "", status_check: bool = False, luigi_config: Path | None = None) -> BenchRun:
    """One run of the workload; `luigi_config` is a luigi.cfg over the shipped one (LUIGI_CONFIG_PATH)."""
    run_dir = root / f"workers-{workers}-slots-{llm_slots}{suffix}"
    cmd = [sys.executable, "-m", "planexe_pipeline", "run", "--prompt-id", prompt_id, "--run-dir", str(run_dir),
           "--workers", str(workers), "--llm-slots", str(llm_slots), "--llm", BENCH_MODEL,
           "--llm-config", str(config_path), "--speed", "full", "--start-date", start_date]
    watcher = StatusWatcher(run_dir) if status_check else None
    if watcher:
        watcher.start()
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(luigi_config)} if luigi_config else None
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    if watcher:
        watcher.stop()
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise PipelineError(f"bench run with {workers} workers failed ({last}); see {run_dir}")
    return measured_run(run_dir, workers, llm_slots, watcher)


def measured_run(run_dir: Path, workers: int, llm_slots: int, watcher: StatusWatcher | None = None) -> BenchRun:
    """A bench run's figures, from its run folder's telemetry."""
    events = load_events(run_dir)
    stats = stats_from_events(events, run_dir)
    return BenchRun(
        workers=workers, llm_slots=llm_slots, makespan_s=round(stats.makespan_seconds, 3),
        llm_calls=stats.llm_calls, sum_llm_s=round(stats.llm_seconds, 3),
        critical_path_s=round(stats.critical_path_seconds, 3),
        overhead_per_task_ms=round(overhead_per_task_ms(stats, workers), 1), tasks=stats.tasks,
        bound_s=round(max(stats.critical_path_seconds, stats.llm_seconds / llm_slots), 3),
        slot_bound_s=round(slot_lower_bound(events, llm_slots), 3), run_dir=str(run_dir),
        overhead=stats.overhead, path_stages=path_stages(events, stats.executed_chain, stats.resource_waits),
        path_depth=sum(1 for row in path_stages(events, stats.critical_path) if row["llm_s"] > 0),
        busy_per_task_ms=_busy_per_task_ms(stats.overhead), executed_chain_s=round(stats.executed_chain_seconds, 3),
        print_bound_s=round(slot_lower_bound(events, stats.print_slots, "print"), 3)
        if stats.print_seconds and stats.print_slots else None,
        cpu_s=round(stats.cpu_seconds, 2), status_at_40=accuracy_at(watcher.looks, events) if watcher else None)


def _busy_per_task_ms(overhead: dict | None) -> float | None:
    if not overhead or not overhead.get("path_tasks"):
        return None
    return round(overhead["parts_total_ms"].get("busy", 0.0) / overhead["path_tasks"], 1)


def run_bench(workers_list: list[int], *, llm_slots: int | None = None, time_scale: float = defaults.BENCH_TIME_SCALE,
              prompt_id: str = defaults.SAMPLE_PROMPT_ID, out_dir: Path | None = None, seed: int = defaults.BENCH_SEED,
              start_date: str = defaults.BENCH_START_DATE, repeat: int = 1, latency_model: str = "stage_ranges",
              status_check: bool = False, progress=print) -> dict:
    """Every worker count `repeat` times, interleaved (1, 16, 1, 16, ...), so that each repetition's
    ratio compares runs made under the same load; the summary gives median, min and max."""
    root = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="planexe-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / "bench_llm_config.json"
    config_path.write_text(json.dumps(bench_config(time_scale, seed, latency_model), indent=2))
    runs: list[BenchRun] = []
    ratios: list[dict] = []
    for round_no in range(1, repeat + 1):
        round_runs = []
        for workers in workers_list:
            # Without --llm-slots, slots follow the workers: the bench then measures the graph and
            # the worker pool, not a resource cap.
            slots = llm_slots or workers
            label = f"repeat {round_no}/{repeat} " if repeat > 1 else ""
            progress(f"bench: {label}workers={workers} llm_slots={slots} time_scale={time_scale} ...")
            run = run_once(root, config_path, prompt_id, workers, slots, start_date,
                           suffix=f"-r{round_no}" if repeat > 1 else "",
                           status_check=status_check and workers == max(workers_list))
            progress(f"bench: {label}workers={workers} makespan {run.makespan_s:.2f}s")
            round_runs.append(run)
        runs += round_runs
        ratios.append(_ratios(round_runs))
    summary = _summary(runs, ratios)
    return {
        "cost": workload_cost(runs[0].run_dir),
        "workload": {"prompt_id": prompt_id, "speed": "full", "time_scale": time_scale, "seed": seed,
                     "widths": dict(STANDARD_WIDTHS), "latency_model": latency_model},
        "repeat": repeat,
        "runs": [asdict(r) for r in runs],
        "rounds": ratios,
        "summary": summary,
        **{key: summary[key]["median"] for key in _RATIO_KEYS},
        "out_dir": str(root),
    }


LATENCY_MODELS = ("stage_ranges", "tokens")


def run_bench_models(models: tuple[str, ...], workers_list: list[int], *, out_dir: Path | None = None,
                     **options) -> dict:
    """The bench once per latency model: one result, or each by its model's name."""
    if len(models) == 1:
        return run_bench(workers_list, out_dir=out_dir, latency_model=models[0], **options)
    root = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="planexe-bench-"))
    return {model: run_bench(workers_list, out_dir=root / model, latency_model=model, **options) for model in models}


def format_bench_models(result: dict) -> str:
    if "runs" in result:
        return format_bench(result)
    return "\n\n".join(f"== latency model: {model} ==\n{format_bench(one)}" for model, one in result.items())


_RATIO_KEYS = ("speedup", "ceiling", "efficiency", "makespan_over_bound", "makespan_over_slot_bound",
               "makespan_over_print_bound")
_RUN_KEYS = ("makespan_s", "critical_path_s", "executed_chain_s", "sum_llm_s", "overhead_per_task_ms",
             "busy_per_task_ms", "path_depth")


def _ratios(runs: list[BenchRun]) -> dict:
    """speedup: the first worker count's makespan over the largest's; the rest at the largest.

    ceiling: the first's makespan over the largest's critical path, the speedup of a schedule
    with no overhead at all. No number of workers makes a run shorter than its longest chain of
    calls, so a speedup above the ceiling needs a shorter chain, not a better schedule."""
    first, largest = runs[0], max(runs, key=lambda r: r.workers)

    def ratio(num: float, den: float) -> float | None:
        return round(num / den, 3) if den else None

    return {"speedup": ratio(first.makespan_s, largest.makespan_s),
            "ceiling": ratio(first.makespan_s, largest.critical_path_s),
            # The chain that set the makespan, not the critical path: a print queue is no overhead.
            "efficiency": ratio(largest.executed_chain_s or largest.critical_path_s, largest.makespan_s),
            "makespan_over_bound": ratio(largest.makespan_s, largest.bound_s),
            "makespan_over_slot_bound": ratio(largest.makespan_s, largest.slot_bound_s),
            "makespan_over_print_bound": ratio(largest.makespan_s, largest.print_bound_s or 0)}


def spread(values: list[float | None]) -> dict:
    """median, min and max of the values that exist (None when there are none)."""
    present = sorted(v for v in values if v is not None)
    if not present:
        return {"median": None, "min": None, "max": None}
    return {"median": round(statistics.median(present), 3), "min": present[0], "max": present[-1]}


def _summary(runs: list[BenchRun], ratios: list[dict]) -> dict:
    summary: dict = {key: spread([r[key] for r in ratios]) for key in _RATIO_KEYS}
    summary["by_workers"] = {
        str(workers): {key: spread([getattr(r, key) for r in runs if r.workers == workers]) for key in _RUN_KEYS}
        for workers in dict.fromkeys(r.workers for r in runs)}
    return summary


def _spread_text(values: dict, unit: str = "") -> str:
    if values["median"] is None:
        return "-"
    if values["min"] == values["max"]:
        return f"{values['median']}{unit}"
    return f"{values['median']}{unit} (min {values['min']}{unit}, max {values['max']}{unit})"


def format_overhead_parts(runs: list[dict]) -> str:
    """Per worker count, each part's median ms per critical-path task (median over repeats).

    With one worker a gap also holds the other tasks that ran first (under "busy")."""
    counts = list(dict.fromkeys(r["workers"] for r in runs))
    header = f"{'overhead part, median ms per task':<34}" + "".join(f"{f'workers {w}':>12}" for w in counts)
    lines = [header]
    for part in (*PARTS, "overhead ms/task"):
        cells = []
        for workers in counts:
            values = [r["overhead_per_task_ms"] if part == "overhead ms/task"
                      else ((r["overhead"] or {}).get("parts_median_ms") or {}).get(part)
                      for r in runs if r["workers"] == workers]
            median = spread(values)["median"]
            cells.append(f"{'-' if median is None else f'{median:.2f}':>12}")
        lines.append(f"  {part:<32}" + "".join(cells))
    return "\n".join(lines)


def format_path(run: dict) -> str:
    """The chain that set one run's makespan, stage by stage, in seconds (and in the latency
    model's units before --time-scale, where a long answer shows as many output tokens); a stage
    that waited for a print or LLM slot names the stage it took the slot from."""
    chain_s = run.get("executed_chain_s") or run["critical_path_s"]
    lines = [f"chain that set the makespan at {run['workers']} workers, {chain_s:.2f} s of work "
             f"(critical path {run['critical_path_s']:.2f} s, {run.get('path_depth')} LLM calls deep), stage by stage:",
             f"  {'stage':<34} {'seconds':>8} {'LLM s':>7} {'tokens out':>10}"]
    for row in run.get("path_stages") or []:
        name = row["stage"] + (f" #{row['item']}" if row["item"] is not None else "")
        waited = (f"  waited for a{'n' if row['waited_for'] == 'llm' else ''} {row['waited_for']} slot held by "
                  f"{row['held_by']}") if row.get("waited_for") else ""
        lines.append(f"  {name:<34} {row['seconds']:>8.3f} {row['llm_s']:>7.3f} {row['output_tokens']:>10}{waited}")
    return "\n".join(lines)


def format_bench(result: dict) -> str:
    header = f"{'workers':>7} {'slots':>5} {'makespan s':>10} {'LLM calls':>9} {'sum LLM s':>9} " \
             f"{'crit path s':>11} {'chain s':>8} {'bound s':>8} {'slot bound s':>12} {'print bound s':>13} " \
             f"{'overhead ms/task':>16}"
    lines = [header, "-" * len(header)]
    for r in result["runs"]:
        print_bound = "-" if r.get("print_bound_s") is None else f"{r['print_bound_s']:.2f}"
        chain = "-" if r.get("executed_chain_s") is None else f"{r['executed_chain_s']:.2f}"
        lines.append(f"{r['workers']:>7} {r['llm_slots']:>5} {r['makespan_s']:>10.2f} {r['llm_calls']:>9} "
                     f"{r['sum_llm_s']:>9.2f} {r['critical_path_s']:>11.2f} {chain:>8} {r['bound_s']:>8.2f} "
                     f"{r['slot_bound_s']:>12.2f} {print_bound:>13} {r['overhead_per_task_ms']:>16.1f}")
    lines.append("")
    summary = result["summary"]
    runs = result["runs"]
    largest = max(r["workers"] for r in runs)
    of = f" over {result['repeat']} repeats: median" if result["repeat"] > 1 else ""
    lines.append(f"speedup (workers {runs[0]['workers']} -> {largest}){of}: {_spread_text(summary['speedup'], 'x')}")
    lines.append(f"ceiling (makespan at {runs[0]['workers']} / critical path at {largest}): "
                 f"{_spread_text(summary['ceiling'], 'x')}: no schedule of this graph beats it")
    lines.append(f"efficiency (chain that set the makespan / makespan) at {largest}: "
                 f"{_spread_text(summary['efficiency'])}")
    at_depth = summary["by_workers"][str(largest)].get("path_depth")
    if at_depth:
        # A median of two whole depths can be whole yet a float: "14 LLM calls", not "14.0".
        at_depth = {key: int(v) if isinstance(v, float) and v.is_integer() else v for key, v in at_depth.items()}
        lines.append(f"critical path depth at {largest}: {_spread_text(at_depth, ' LLM calls')}")
    at = summary["by_workers"][str(largest)]
    lines.append(f"overhead per task on the chain that set the makespan at {largest}: "
                 f"{_spread_text(at['overhead_per_task_ms'], ' ms')}")
    lines.append(f"  of which waiting for a free task process (all {largest} busy): {_spread_text(at['busy_per_task_ms'], ' ms')}")
    lines.append(format_overhead_parts(runs))
    lines.append(f"makespan / bound: {_spread_text(summary['makespan_over_bound'])}   "
                 f"makespan / slot bound: {_spread_text(summary['makespan_over_slot_bound'])}   "
                 f"makespan / print bound: {_spread_text(summary['makespan_over_print_bound'])}")
    at_largest = sorted((r for r in runs if r["workers"] == largest), key=lambda r: r["makespan_s"])
    lines.append(format_path(at_largest[len(at_largest) // 2]))  # the run of median makespan
    for r in runs:
        check = r.get("status_at_40")
        if check:
            lines.append(f"status at {check['share_of_makespan'] * 100:.0f}% of the makespan ({r['workers']} workers): "
                         f"ETA {check['eta_s']} s, actually left {check['actual_left_s']} s (error "
                         f"{(check['eta_error'] or 0) * 100:+.0f}%); progress {check['progress']}, tasks "
                         f"{check['tasks_done']} done ({check['tasks_done_by_then']} in telemetry) of "
                         f"{check['tasks_expected']} expected ({check['tasks_in_plan']} in the plan)")
    if result.get("cost"):
        lines.append(format_cost(result["cost"]))
    lines.append(f"run folders: {result['out_dir']}")
    return "\n".join(lines)
