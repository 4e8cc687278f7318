"""The command line's `bench`: the standard workload at several worker counts, or against a
provider's limits. Part of the command line: like cli.py, it imports what a command needs when the
command runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from planexe_pipeline.errors import InputError


def cmd_bench(args: argparse.Namespace, *, plain: argparse.Namespace) -> int:
    """`bench`; `plain` is the bench command's arguments as given without options."""
    from planexe_pipeline.prompts.catalog import get_prompt
    from planexe_pipeline.bench.workload import LATENCY_MODELS, format_bench_models, run_bench_models

    try:
        workers_list = [int(w) for w in args.workers_list.split(",") if w.strip()]
    except ValueError:
        raise InputError(f"--workers-list must be whole numbers separated by commas, got '{args.workers_list}'") from None
    if not workers_list or min(workers_list) < 1:
        raise InputError(f"--workers-list needs worker counts of at least 1, got '{args.workers_list}'")
    if args.time_scale < 0:
        raise InputError(f"--time-scale must be 0 or more, got {args.time_scale}")
    get_prompt(args.prompt_id)
    if args.provider_limit or args.provider_rpm is not None:
        return _provider_bench(args, plain)
    models = LATENCY_MODELS if args.latency_model == "both" else (args.latency_model,)
    if args.exports_share:
        return _exports_share(args, models, max(workers_list))
    result = run_bench_models(models, workers_list, llm_slots=args.llm_slots, time_scale=args.time_scale,
                              prompt_id=args.prompt_id, out_dir=Path(args.out_dir) if args.out_dir else None,
                              repeat=args.repeat, seed=args.seed, status_check=args.status_check,
                              progress=lambda line: print(line, file=sys.stderr))
    print(format_bench_models(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _exports_share(args: argparse.Namespace, models: tuple[str, ...], workers: int) -> int:
    from planexe_pipeline.bench.exports_share import format_exports_share, run_exports_share

    results = [run_exports_share(workers, repeat=max(args.repeat, 1), latency_model=model, time_scale=args.time_scale,
                                 prompt_id=args.prompt_id, seed=args.seed,
                                 out_dir=Path(args.out_dir) if args.out_dir else None,
                                 progress=lambda line: print(line, file=sys.stderr)) for model in models]
    print("\n".join(format_exports_share(result) for result in results))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _provider_bench(args: argparse.Namespace, plain: argparse.Namespace) -> int:
    from planexe_pipeline.bench.provider import format_provider_bench, run_provider_bench, run_rate_bench

    if args.provider_rpm is not None and (args.provider_rpm <= 0 or args.provider_minute_s <= 0):
        raise InputError("--provider-rpm and --provider-minute-s must be more than 0")
    # Each provider benchmark sets its own worker counts, slots and latency model.
    mode = "--provider-limit" if args.provider_limit else "--provider-rpm"
    unused = {"--workers-list": "workers_list", "--llm-slots": "llm_slots", "--latency-model": "latency_model",
              "--status-check": "status_check", **({} if args.provider_limit else {"--repeat": "repeat"})}
    given = [flag for flag, dest in unused.items() if getattr(args, dest) != getattr(plain, dest)]
    if given:
        raise InputError(f"{', '.join(given)} {'has' if len(given) == 1 else 'have'} no effect with {mode}: "
                         "drop it, or bench the standard workload without the provider options")
    common = {"time_scale": args.time_scale, "prompt_id": args.prompt_id, "seed": args.seed,
              "out_dir": Path(args.out_dir) if args.out_dir else None,
              "progress": lambda line: print(line, file=sys.stderr)}
    if args.provider_limit:
        result = run_provider_bench(args.provider_limit, repeat=args.repeat, **common)
    else:
        result = run_rate_bench(args.provider_rpm, minute_s=args.provider_minute_s, **common)
    print(format_provider_bench(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0
