"""planexe-pipeline: run a plan, list sample prompts, and look at what a run did."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from pathlib import Path

from planexe_pipeline import __version__, cli_bench, cli_export, cli_revise, defaults
from planexe_pipeline.errors import InputError, PipelineError
from planexe_pipeline.variants.arguments import add_variant_parsers

DISTRIBUTION = "planexe-pipeline"


class _Parser(argparse.ArgumentParser):
    """Errors in one line that says what to do, not a usage dump."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got '{text}'")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got '{text}'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got '{text}'")
    return value


def _version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        # Imported from a source tree that was never installed: no distribution, no metadata.
        return f"{__version__} (not installed)"


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--llm", action="append", metavar="NAME",
                   help="model name from llm_config.json; repeat (or comma-separate) for fallbacks, tried in order")
    _add_config_arg(p)


def _add_config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--llm-config", metavar="FILE", help="llm_config.json to use (default: $PLANEXE_LLM_CONFIG or the shipped one)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="planexe-pipeline", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="make a plan from a prompt (or resume one)")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--prompt", metavar="TEXT", help="the idea, one paragraph")
    source.add_argument("--prompt-file", metavar="FILE", help="a UTF-8 text file holding the idea")
    source.add_argument("--prompt-id", metavar="ID", help="a sample prompt (see 'planexe-pipeline prompts')")
    run.add_argument("--run-dir", metavar="DIR",
                     help="run folder (default: run/<timestamp>); an existing one resumes with what it recorded")
    run.add_argument("--workers", type=_positive_int, default=defaults.WORKERS,
                     help=f"Luigi worker processes (default {defaults.WORKERS})")
    run.add_argument("--llm-slots", type=_positive_int, help="LLM calls in flight at most (default: [resources] llm)")
    run.add_argument("--speed", choices=["fast", "full"],
                     help=f"fast: every fan-out capped at {defaults.FAST_FANOUT_WIDTH} items "
                          "(default: full, or what the --run-dir recorded)")
    run.add_argument("--start-date", metavar="YYYY-MM-DD",
                     help="first day of the schedule (default: today, or what the --run-dir recorded)")
    run.add_argument("--no-screen", action="store_true", help="plan the prompt as given, without screening it first")
    run.add_argument("--budget", type=_positive_float, metavar="USD",
                     help="the most the plan may cost: no LLM call starts that could take it past this (what the "
                          "folder spent counts); every model needs a price (default: [pipeline] budget_usd)")
    run.add_argument("--dry-run", action="store_true",
                     help="with the --run-dir of a plan: list what a rerun would redo (edits, stale steps), and stop")
    run.add_argument("--scheduler-host", metavar="HOST", help="use a central luigid instead of the local scheduler")
    run.add_argument("--scheduler-port", type=_positive_int, default=defaults.SCHEDULER_PORT, metavar="PORT",
                     help="port of that luigid")
    run.add_argument("--verbose", action="store_true", help="show Luigi's own log")
    run.add_argument("--notify-url", metavar="URL",
                     help="POST a JSON alert here when the run is done, failed or stalled "
                          "(default: $PLANEXE_NOTIFY_URL, else [notify] url)")
    run.add_argument("--notify-command", metavar="CMD",
                     help="run this shell command with the same JSON alert on its standard input")
    _add_model_args(run)

    cli_revise.add_redo_parser(sub, _add_config_arg)

    sub.add_parser("prompts", help="list the sample prompts")

    cli_export.add_export_parser(sub)

    check = sub.add_parser("check-model", help="send one small structured call to a model entry and show how it answered")
    check.add_argument("--llm", required=True, metavar="NAME", help="model name from llm_config.json")
    _add_config_arg(check)

    timeline = sub.add_parser("timeline", help="write an HTML timeline of a run")
    timeline.add_argument("run_dir", metavar="RUN_DIR")
    timeline.add_argument("--out", metavar="FILE", help="where to write it (default RUN_DIR/timeline.html)")

    status = sub.add_parser("status", help="where a run stands: state, progress, ETA, calls in flight, failure")
    status.add_argument("run_dir", metavar="RUN_DIR")
    status.add_argument("--json", action="store_true", help="print JSON instead of text")
    status.add_argument("--watch", action="store_true", help="keep showing it until the run ends")
    status.add_argument("--interval", type=_positive_float, default=2.0, metavar="S",
                        help="seconds between two looks with --watch (default 2)")
    status.add_argument("--stall-after", type=_positive_float, metavar="S",
                        help="a running plan with no progress for S seconds is stalled (default: [notify] stall_after_s)")

    stats = sub.add_parser("stats", help="calls, retries, time, tokens and cost per stage of a run")
    stats.add_argument("run_dir", metavar="RUN_DIR")
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")

    scheduler = sub.add_parser("scheduler", help="run Luigi's central scheduler (luigid) with its visualiser")
    scheduler.add_argument("--host", default=defaults.SCHEDULER_HOST,
                           help=f"address to listen on (default {defaults.SCHEDULER_HOST})")
    scheduler.add_argument("--port", type=_positive_int, default=defaults.SCHEDULER_PORT,
                           help=f"port (default {defaults.SCHEDULER_PORT})")
    scheduler.add_argument("--state-dir", default="luigi-state", metavar="DIR", help="state and logs (default luigi-state)")
    scheduler.add_argument("--llm-slots", type=_positive_int, help="LLM calls in flight across all workers (default: [resources] llm)")

    mcp = sub.add_parser("mcp", help="serve plans as tools to MCP clients (assistants, agents): stdio, or --http")
    # No default: an MCP client starts the server in a folder of its own choosing (often /).
    mcp.add_argument("--root", required=True, metavar="DIR", help="folder of the plans it runs and serves")
    mcp.add_argument("--http", action="store_true", help="streamable HTTP on 127.0.0.1 instead of stdio")
    mcp.add_argument("--port", type=_positive_int, default=defaults.MCP_PORT,
                     help=f"port of --http (default {defaults.MCP_PORT})")
    mcp.add_argument("--max-running", type=_positive_int, metavar="N",
                     help="plans running at once; the others queue (default: [mcp] max_running)")
    _add_config_arg(mcp)

    add_variant_parsers(sub)

    bench = sub.add_parser("bench", help="time the standard workload at several worker counts")
    workers_list = ",".join(map(str, defaults.BENCH_WORKERS))
    bench.add_argument("--workers-list", default=workers_list, metavar="N,N,...",
                       help=f"worker counts to run (default {workers_list})")
    bench.add_argument("--llm-slots", type=_positive_int, help="cap LLM calls in flight (default: as many as workers)")
    bench.add_argument("--time-scale", type=float, default=defaults.BENCH_TIME_SCALE,
                       help=f"multiplies the latency model (default {defaults.BENCH_TIME_SCALE})")
    bench.add_argument("--prompt-id", default=defaults.SAMPLE_PROMPT_ID, help="sample prompt of the workload")
    bench.add_argument("--out-dir", metavar="DIR", help="where the run folders go (default: a temporary folder)")
    bench.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    bench.add_argument("--provider-limit", type=_positive_int, metavar="N",
                       help="instead: against a provider admitting N in flight, with slots N, 4N and 4N adaptive")
    bench.add_argument("--provider-rpm", type=float, metavar="R",
                       help="instead: against a provider enforcing R requests a minute, stated in the model entry")
    bench.add_argument("--provider-minute-s", type=float, default=60.0, metavar="S",
                       help="length of the provider's minute in seconds (default 60)")
    bench.add_argument("--repeat", type=_positive_int, default=1, metavar="N",
                       help="run each worker count N times; report median, min and max (default 1)")
    bench.add_argument("--latency-model", choices=["stage_ranges", "tokens", "both"], default="stage_ranges",
                       help="the simulator's latency: each stage's measured range (default), time to first "
                            "token + output tokens / rate (a long answer takes longer), or both, one after the other")
    bench.add_argument("--exports-share", action="store_true",
                       help="instead: what the export files add to the makespan at the largest worker count, "
                            "--repeat runs without them and with them, interleaved")
    bench.add_argument("--status-check", action="store_true",
                       help="watch each run at the largest worker count with `status` and report how right its "
                            "ETA and progress were at 40%% of the makespan")
    bench.add_argument("--seed", type=int, default=defaults.BENCH_SEED,
                       help="the simulator's seed, which draws each call's latency from its range: another seed "
                            f"is another draw of the same workload (default {defaults.BENCH_SEED}, the standard one)")
    return parser


def _prompt_of(args) -> str | None:
    from planexe_pipeline.prompt_input import read_prompt_file
    from planexe_pipeline.prompts.catalog import get_prompt

    if args.prompt is not None:
        return args.prompt
    if args.prompt_file:
        return read_prompt_file(args.prompt_file)
    if args.prompt_id:
        return get_prompt(args.prompt_id).prompt
    return None


def cmd_run(args) -> int:
    from planexe_pipeline.llm.config import parse_model_list
    from planexe_pipeline.run_request import RunRequest, prepare
    from planexe_pipeline.run_cost import cost_line
    from planexe_pipeline.run_record import where_the_plan_is
    from planexe_pipeline.runner import cap_warning, execute, export_lines, limits_line
    from planexe_pipeline.settings import export as export_settings

    request = prepare(RunRequest(
        prompt=_prompt_of(args), run_dir=Path(args.run_dir) if args.run_dir else None,
        models=parse_model_list(",".join(args.llm or [])), llm_config=args.llm_config,
        workers=args.workers, speed=args.speed, llm_slots=args.llm_slots, start_date=args.start_date,
        scheduler_host=args.scheduler_host, scheduler_port=args.scheduler_port, verbose=args.verbose,
        lock=not args.scheduler_host, notify_url=args.notify_url, notify_command=args.notify_command,
        screen=not args.no_screen, budget_usd=args.budget,
    ))
    if args.dry_run:
        return cli_revise.dry_run(request)

    def announce(cap: int | None, revising) -> None:
        # Said once the run holds its folder and has found what it redoes: a run refused for a busy
        # folder, or for an edit that no longer fits its stage, prints only that.
        if request.resumed:
            print(request.resumed, flush=True)
        redo = cli_revise.announce_revision(revising)
        print(f"Plan run in {request.run_dir}: models {', '.join(request.models)}, {request.workers} workers, "
              f"LLM cap {_cap_text(cap)}, speed {request.speed}", flush=True)
        print(limits_line(request, cap), flush=True)
        projected = cost_line(request, redo=redo)
        if projected:
            print(projected, flush=True)
        warning = cap_warning(cap, request)
        if warning:
            print(f"planexe-pipeline: {warning}", file=sys.stderr, flush=True)

    export_settings().chosen()  # a bad [export] formats stops here, before the run
    outcome = execute(request, on_start=announce)
    s = outcome.summary
    print(f"\n{'Done' if outcome.ok else 'FAILED'} in {outcome.wall_s:.1f}s: {s['tasks_run']} tasks, "
          f"{s['llm_calls']} LLM calls ({s['retries']} retried attempts), "
          f"{s['input_tokens']} tokens in / {s['output_tokens']} out{' (estimated)' if s['tokens_estimated'] else ''}. "
          f"LLM calls in flight: at most {s['max_llm_in_flight']}, cap {_cap_text(s['llm_cap'])}."
          + (f" Cost ${s['cost_usd']:.4f}, {s['cached_input_tokens']} input tokens served from cache."
             if s["cost_usd"] is not None else ""))
    if outcome.ok:
        print("\n".join(where_the_plan_is(outcome.run_dir)))
        files, missing = export_lines(outcome.run_dir)
        if files:
            print(f"Exports:  {', '.join(files)}")
        if missing:
            print(f"planexe-pipeline: {missing}", file=sys.stderr)
        return 0
    for failure in outcome.failures or ["the run did not finish; rerun with --verbose to see Luigi's log"]:
        print(f"error: {failure} [run {outcome.run_id}]", file=sys.stderr)
    if not outcome.prompt_unusable and not outcome.budget_reached:
        print(f"Everything finished so far is kept; rerun with --run-dir {outcome.run_dir} to resume.", file=sys.stderr)
    return 1


def cmd_export(args) -> int:
    return cli_export.cmd_export(args, _existing_run(args.run_dir))


def _cap_text(cap: int | None) -> str:
    return str(cap) if cap is not None else "unknown (the central scheduler did not answer)"


def cmd_prompts(args) -> int:
    from planexe_pipeline.prompts.catalog import format_catalog

    print(format_catalog())
    return 0


def cmd_check_model(args) -> int:
    from planexe_pipeline.llm.model_check import check_model
    from planexe_pipeline.settings import retry_policy

    def retrying(why: str, seconds: float) -> None:
        print(f"retry: {why}; trying again in {seconds:.1f} s, as a run would", flush=True)

    print("\n".join(check_model(args.llm, args.llm_config, retry_policy().policy(), retrying).lines()))
    return 0


def _existing_run(run_dir: str) -> Path:
    path = Path(run_dir)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} is a file, not a run folder: pass the folder of a run")
    if not path.is_dir():
        raise InputError(f"run folder {path} does not exist: pass the folder of a run")
    return path


def cmd_timeline(args) -> int:
    from planexe_pipeline.telemetry.timeline import write_timeline

    try:
        out = write_timeline(_existing_run(args.run_dir), Path(args.out) if args.out else None)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    print(f"Timeline: {out}")
    return 0


def cmd_status(args) -> int:
    from planexe_pipeline.telemetry.alerts import notify
    from planexe_pipeline.telemetry.live_view import is_terminal, status_lines
    from planexe_pipeline.telemetry.run_state import read_run_state, status_of_finished

    run_dir = _existing_run(args.run_dir)
    stall_after = args.stall_after or notify().stall_after_s
    try:
        state = read_run_state(run_dir, stall_after_s=stall_after)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if state.plan_complete and not args.watch:
        # A finished plan needs no graph: its status is its telemetry's (and fast).
        snapshot = status_of_finished(state)
    else:
        from planexe_pipeline.status import StatusTracker, watch

        tracker = StatusTracker(run_dir, stall_after_s=stall_after, expect=_walked_expectation)
        if args.watch:
            return watch(tracker, args.interval, as_json=args.json, terminal=is_terminal(sys.stdout) and not args.json)
        snapshot = tracker.snapshot()
    print(json.dumps(snapshot, indent=2, sort_keys=True) if args.json else "\n".join(status_lines(snapshot)))
    return 0


def _walked_expectation(run_dir: str):
    """The expected work of a run that recorded none (one started by an older version): the task
    graph is imported for it, seconds that a run's own record spares every other look."""
    from planexe_pipeline.tasks.expected_work import walked_expectation

    return walked_expectation(run_dir)


def cmd_stats(args) -> int:
    from planexe_pipeline.telemetry.stats import compute_stats
    from planexe_pipeline.telemetry.stats_table import format_stats

    stats = compute_stats(_existing_run(args.run_dir))
    print(json.dumps(stats.to_dict(), indent=2, sort_keys=True) if args.json else format_stats(stats))
    return 0


def cmd_scheduler(args) -> int:
    from planexe_pipeline.scaleout import serve_scheduler

    serve_scheduler(args.host, args.port, Path(args.state_dir), args.llm_slots)
    return 0


def cmd_mcp(args) -> int:
    try:
        from planexe_pipeline.mcp_server.server import serve
    except ImportError as exc:
        if (exc.name or "").split(".")[0] != "mcp":
            raise
        raise InputError("the mcp extra is not installed: pip install 'planexe-pipeline[mcp]'") from None
    serve(args.root, http=args.http, port=args.port, max_running=args.max_running, llm_config=args.llm_config)
    return 0


def cmd_bench(args) -> int:
    return cli_bench.cmd_bench(args, plain=build_parser().parse_args(["bench"]))


def cmd_fork(args) -> int:
    from planexe_pipeline.variants.fork import cmd_fork as fork  # a copy: no task graph to import
    return fork(args)


def cmd_diff(args) -> int:
    from planexe_pipeline.variants.diff_command import cmd_diff as diff
    return diff(args)


def cmd_redo(args) -> int:
    return cli_revise.cmd_redo(args, lambda argv: cmd_run(build_parser().parse_args(argv)))


COMMANDS = {"run": cmd_run, "redo": cmd_redo, "export": cmd_export, "prompts": cmd_prompts, "check-model": cmd_check_model,
            "timeline": cmd_timeline,
            "stats": cmd_stats, "status": cmd_status, "bench": cmd_bench, "scheduler": cmd_scheduler,
            "mcp": cmd_mcp, "fork": cmd_fork, "diff": cmd_diff}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except PipelineError as exc:
        print(f"planexe-pipeline: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("planexe-pipeline: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
