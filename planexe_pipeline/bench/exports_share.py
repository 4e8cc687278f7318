"""bench --exports-share: what the plan's export files add to its makespan.

Runs of the standard workload without exports (`[export] formats` empty, in a luigi.cfg of the
bench's own given as LUIGI_CONFIG_PATH) and with the shipped ones, interleaved (without, with,
without, ...) so that each pair ran under the same load; the share is the difference of the
medians over the median without. The end of each run's chain that set its makespan shows where
the time went, and which section waited for a print slot.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from planexe_pipeline import defaults
from planexe_pipeline.bench.workload import bench_config, run_once, spread

NO_EXPORTS_CFG = "[export]\nformats =\n"
PATH_END = 5  # the last stages of the chain that set the makespan, shown per run


def run_exports_share(workers: int, *, repeat: int, latency_model: str, time_scale: float = defaults.BENCH_TIME_SCALE,
                      prompt_id: str = defaults.SAMPLE_PROMPT_ID, seed: int = defaults.BENCH_SEED,
                      out_dir: Path | None = None, progress=print) -> dict:
    root = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="planexe-bench-exports-"))
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / f"bench_llm_config_{latency_model}.json"
    config_path.write_text(json.dumps(bench_config(time_scale, seed, latency_model), indent=2))
    no_exports = root / "no_exports.cfg"
    no_exports.write_text(NO_EXPORTS_CFG)
    makespans: dict[str, list[float]] = {"without": [], "with": []}
    ends: dict[str, list] = {"without": [], "with": []}
    for round_no in range(1, repeat + 1):
        for mode, cfg in (("without", no_exports), ("with", None)):
            run = run_once(root, config_path, prompt_id, workers, workers, defaults.BENCH_START_DATE,
                           suffix=f"-{latency_model}-{mode}-exports-r{round_no}", luigi_config=cfg)
            progress(f"bench: {latency_model} {mode} exports, {round_no}/{repeat}: makespan {run.makespan_s:.2f}s")
            makespans[mode].append(run.makespan_s)
            ends[mode].append((run.path_stages or [])[-PATH_END:])
    without, with_ = spread(makespans["without"]), spread(makespans["with"])
    share = (with_["median"] - without["median"]) / without["median"] if without["median"] else None
    return {"latency_model": latency_model, "workers": workers, "time_scale": time_scale, "repeat": repeat,
            "makespans": makespans, "without": without, "with": with_,
            "share": None if share is None else round(share, 4), "path_ends": ends, "out_dir": str(root)}


def format_exports_share(result: dict) -> str:
    def line(mode: str) -> str:
        s = result[mode]
        runs = ", ".join(f"{m:.2f}" for m in result["makespans"][mode])
        return f"  {mode + ' exports':<16} median {s['median']:.2f} s (min {s['min']:.2f}, max {s['max']:.2f}): {runs}"

    lines = [f"exports' share of the makespan, {result['latency_model']}, {result['workers']} workers, "
             f"time scale {result['time_scale']}, {result['repeat']} interleaved pairs:",
             line("without"), line("with"),
             f"  added: {100 * result['share']:+.1f}% of the median without exports"]
    last = result["path_ends"]["with"][-1] if result["path_ends"]["with"] else []
    if last:
        lines.append("  the end of the chain that set the makespan, last run with exports:")
        lines += [f"    {_stage(row):<34} {row['seconds']:>7.3f} s" + (f"  waited for a {row['waited_for']} slot held by "
                  f"{row['held_by']}" if row.get("waited_for") else "") for row in last]
    return "\n".join(lines)


def _stage(row: dict) -> str:
    return row["stage"] + (f" #{row['item']}" if row["item"] is not None else "")
