"""planexe-pipeline bench --provider-limit N: the standard workload against a provider that
admits N requests in flight and answers the rest 429 (the simulator, its state shared by every
worker process of a run), three ways:

- slots = N: Luigi's cap matches the provider (what a user who knew the number would set);
- slots = 4N, each call on its own (the shared limiter switched off, `adaptive_limit: false`):
  what happens to a user who does not know the number, without the limiter;
- slots = 4N with the adaptive limiter: the same user, with it.

For each: makespan, LLM calls, the provider's 429 answers, the most requests in flight it saw
after its first refusal, and whether the plan completed. Rounds are interleaved (N, 4N, 4N
adaptive, N, ...) so each round's ratio compares runs made under the same machine load.
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
from planexe_pipeline.llm.simulator import STANDARD_WIDTHS, SimulatedLLM
from planexe_pipeline.telemetry.stats import compute_stats

VARIANTS = ("slots=N", "slots=4N", "slots=4N adaptive")
RATE_VARIANT = "stated rate"


@dataclass
class ProviderRun:
    variant: str
    llm_slots: int
    completed: bool
    makespan_s: float | None
    llm_calls: int
    answered_429: int
    peak_in_flight_after_429: int
    run_dir: str


def _variant_config(root: Path, name: str, *, adaptive: bool, limit: int, time_scale: float, seed: int,
                    requests_per_minute: float, minute_s: float) -> tuple[Path, dict]:
    arguments = {"seed": seed, "time_scale": time_scale, "widths": dict(STANDARD_WIDTHS), "max_concurrent": limit,
                 "requests_per_minute": requests_per_minute, "minute_s": minute_s,
                 "provider_state_dir": str(root / f"{name}-provider"), "model_name": "provider"}
    entry = {"class": "Simulated", "arguments": arguments, "adaptive_limit": adaptive}
    if requests_per_minute:
        entry["requests_per_minute"] = requests_per_minute
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}-llm_config.json"
    path.write_text(json.dumps({"models": {"provider": entry}}, indent=1))
    return path, arguments


def run_variant(root: Path, variant: str, limit: int, *, time_scale: float, seed: int, prompt_id: str,
                start_date: str, workers: int, requests_per_minute: float = 0, minute_s: float = 60.0) -> ProviderRun:
    slots = {"slots=N": limit, RATE_VARIANT: workers}.get(variant, 4 * limit)
    name = variant.replace("=", "-").replace(" ", "-")
    config, arguments = _variant_config(root, name, adaptive=variant != "slots=4N", limit=limit,
                                        time_scale=time_scale, seed=seed,
                                        requests_per_minute=requests_per_minute, minute_s=minute_s)
    run_dir = root / name
    cmd = [sys.executable, "-m", "planexe_pipeline", "run", "--prompt-id", prompt_id, "--run-dir", str(run_dir),
           "--workers", str(max(workers, slots)), "--llm-slots", str(slots), "--llm", "provider",
           "--llm-config", str(config), "--speed", "full", "--start-date", start_date]
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env={k: v for k, v in os.environ.items() if k != "PLANEXE_LLM_CONFIG"})
    seen = SimulatedLLM(**arguments).provider_counts()
    try:
        stats = compute_stats(run_dir)
        makespan, calls = round(stats.makespan_seconds, 3), stats.llm_calls
    except ValueError:
        makespan, calls = None, 0
    return ProviderRun(variant, slots, done.returncode == 0, makespan if done.returncode == 0 else None, calls,
                       seen["refused"], seen["peak_after_refusal"], str(run_dir))


def run_provider_bench(limit: int, *, time_scale: float = defaults.BENCH_TIME_SCALE,
                       prompt_id: str = defaults.SAMPLE_PROMPT_ID, out_dir: Path | None = None,
                       seed: int = defaults.BENCH_SEED, start_date: str = defaults.BENCH_START_DATE,
                       repeat: int = 1, workers: int = defaults.WORKERS, requests_per_minute: float = 0,
                       minute_s: float = 60.0, progress=print) -> dict:
    root = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="planexe-provider-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    runs: list[ProviderRun] = []
    for round_no in range(1, repeat + 1):
        for variant in VARIANTS:
            progress(f"provider bench: round {round_no}/{repeat}, provider admits {limit}, {variant} ...")
            run = run_variant(root / f"r{round_no}", variant, limit, time_scale=time_scale, seed=seed,
                              prompt_id=prompt_id, start_date=start_date, workers=workers,
                              requests_per_minute=requests_per_minute, minute_s=minute_s)
            progress(f"provider bench: {variant}: {'completed' if run.completed else 'FAILED'}, "
                     f"makespan {run.makespan_s}s, {run.answered_429} answers 429")
            runs.append(run)
    return {"provider_limit": limit, "time_scale": time_scale, "repeat": repeat,
            "rate_bound_s": None,
            "requests_per_minute": requests_per_minute, "minute_s": minute_s,
            "runs": [asdict(r) for r in runs], "summary": _summary(runs), "out_dir": str(root)}


def run_rate_bench(requests_per_minute: float, *, minute_s: float = 60.0,
                   time_scale: float = defaults.BENCH_TIME_SCALE, prompt_id: str = defaults.SAMPLE_PROMPT_ID,
                   out_dir: Path | None = None, seed: int = defaults.BENCH_SEED,
                   start_date: str = defaults.BENCH_START_DATE, workers: int = defaults.WORKERS,
                   progress=print) -> dict:
    """The standard workload against a provider enforcing a request rate that the model entry
    states: 429 answers (there should be none) and the makespan against calls / rate."""
    root = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="planexe-rate-bench-"))
    progress(f"provider bench: {requests_per_minute:g} requests per {minute_s:g} s, stated and enforced ...")
    run = run_variant(root, RATE_VARIANT, 0, time_scale=time_scale, seed=seed, prompt_id=prompt_id,
                      start_date=start_date, workers=workers, requests_per_minute=requests_per_minute,
                      minute_s=minute_s)
    rate_bound = run.llm_calls * minute_s / requests_per_minute
    return {"provider_limit": 0, "time_scale": time_scale, "repeat": 1, "requests_per_minute": requests_per_minute,
            "minute_s": minute_s, "rate_bound_s": round(rate_bound, 3), "runs": [asdict(run)],
            "summary": {RATE_VARIANT: {
                "completed": f"{int(run.completed)}/1",
                "makespan_over_calls_per_rate": round(run.makespan_s / rate_bound, 3) if run.makespan_s else None,
                "answered_429_share": round(run.answered_429 / run.llm_calls, 3) if run.llm_calls else None}},
            "out_dir": str(root)}


def _summary(runs: list[ProviderRun]) -> dict:
    summary = {}
    base = [r for r in runs if r.variant == "slots=N"]
    for variant in VARIANTS:
        mine = [r for r in runs if r.variant == variant]
        ratios = [r.makespan_s / b.makespan_s for r, b in zip(mine, base) if r.makespan_s and b.makespan_s]
        calls = sum(r.llm_calls for r in mine)
        summary[variant] = {
            "completed": f"{sum(r.completed for r in mine)}/{len(mine)}",
            "makespan_over_slots_n": round(statistics.median(ratios), 3) if ratios else None,
            "answered_429_share": round(sum(r.answered_429 for r in mine) / calls, 3) if calls else None,
        }
    return summary


def format_provider_bench(result: dict) -> str:
    header = f"{'variant':<18} {'slots':>5} {'completed':>9} {'makespan s':>10} {'LLM calls':>9} " \
             f"{'429s':>5} {'peak after 429':>14}"
    lines = [(f"provider admitting {result['provider_limit']} in flight" if result["provider_limit"] else "provider")
             + (f", {result['requests_per_minute']:g} requests per {result['minute_s']:g} s" if result["requests_per_minute"] else "")
             + f", time_scale {result['time_scale']}", header, "-" * len(header)]
    for r in result["runs"]:
        makespan = f"{r['makespan_s']:.2f}" if r["makespan_s"] is not None else "-"
        lines.append(f"{r['variant']:<18} {r['llm_slots']:>5} {'yes' if r['completed'] else 'NO':>9} {makespan:>10} "
                     f"{r['llm_calls']:>9} {r['answered_429']:>5} {r['peak_in_flight_after_429']:>14}")
    lines.append("")
    for variant, s in result["summary"].items():
        versus = (f"makespan / (calls / rate = {result['rate_bound_s']} s) {s['makespan_over_calls_per_rate']}"
                  if result["rate_bound_s"] else f"makespan / slots=N run (median) {s['makespan_over_slots_n']}")
        lines.append(f"{variant:<18} completed {s['completed']}, {versus}, "
                     f"429 answers / LLM calls {s['answered_429_share']}")
    lines.append(f"run folders: {result['out_dir']}")
    return "\n".join(lines)
