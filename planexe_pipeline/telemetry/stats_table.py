"""`planexe-pipeline stats` as text: a fixed-width table per stage, then the run's totals."""

from __future__ import annotations

from planexe_pipeline.telemetry.overhead import format_breakdown
from planexe_pipeline.telemetry.stats import RunStats

_MB = 1024 * 1024


def megabytes(value: int | None) -> str:
    return "-" if value is None else f"{value / _MB:.0f}"


def money(value: float | None, unpriced: int = 0) -> str:
    """A cost, marked as a lower bound where some attempts had no price; '-' where none had one."""
    if value is None:
        return "unknown" if unpriced else "-"
    return f"{'>=' if unpriced else ''}${value:.4f}"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def ratio_text(value: float | None, suffix: str, missing: str = "-") -> str:
    return missing if value is None else f"{value:.2f}{suffix}"


def format_stats(stats: RunStats) -> str:
    """A fixed-width table per stage in the plan's order (a fan-out's items under the stage that
    merges them), then the run's totals, for a terminal or a log: within 120 columns. Every column
    of every stage is in `stats --json`; span, CPU and memory per stage are in the timeline's table."""
    header = ["stage", "tasks", "calls", "retries", "LLM s", "wait s", "tokens in", "cached", "tokens out", "cost"]
    rows = [header]
    for row in stats.stages:
        mark = "~" if row.tokens_estimated else ""
        rows.append([("  " if row.merged_into else "") + row.family, str(row.tasks), str(row.calls), str(row.retries),
                     f"{row.llm_seconds:.1f}", f"{row.provider_wait_seconds:.1f}", f"{mark}{row.input_tokens}",
                     share(row.cached_share), f"{mark}{row.output_tokens}", money(row.cost, row.unpriced)])
    mark = "~" if stats.tokens_estimated else ""
    rows.append(["total", str(stats.tasks), str(stats.llm_calls), str(stats.retries), f"{stats.llm_seconds:.1f}",
                 f"{stats.provider_wait_seconds:.1f}", f"{mark}{stats.input_tokens}", share(stats.cached_share),
                 f"{mark}{stats.output_tokens}", money(stats.cost, stats.unpriced)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        # Names left, numbers right, so digits of the same magnitude line up.
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "-" * len(line(header))
    table = [line(rows[0]), rule, *map(line, rows[1:-1]), rule, line(rows[-1])]
    summary = [
        ("makespan", f"{stats.makespan_seconds:.1f} s over {stats.runs} run(s)"),
        ("critical path", f"{stats.critical_path_seconds:.1f} s ({len(stats.critical_path)} tasks): the longest chain "
                          "of dependencies, which no schedule beats"),
        ("executed chain", chain_text(stats)),
        ("efficiency", ratio_text(stats.efficiency, " (executed chain / makespan)")),
        ("speedup", ratio_text(stats.speedup, "x over one worker")),
        ("sum of LLM time", f"{stats.llm_seconds:.1f} s"),
        *([("printing", f"{stats.print_seconds:.1f} s of sections printed, {stats.print_slots or '?'} at a time "
                        "([resources] print)")] if stats.print_seconds else []),
        ("LLM calls", f"{stats.llm_calls} answered in {stats.attempts} attempts ({stats.errors} errors)"),
        ("LLM calls in flight", f"max {stats.max_llm_in_flight}"
         + (f" of {stats.llm_slots} slots" if stats.llm_slots else "")),
        ("tasks", f"{stats.tasks} ({stats.executions} executions, {stats.tasks_failed} failed)"),
        ("processes", processes_text(stats)),
        ("CPU", f"{stats.cpu_seconds:.1f} s ({stats.task_cpu_seconds:.1f} s in tasks, "
                f"{stats.run_cpu_seconds:.1f} s in the run process: worker, merges, display)"),
        ("memory", f"peak {megabytes(stats.peak_memory_bytes)} MB across the run's processes (PSS); "
                   f"the largest task process held {megabytes(stats.peak_task_rss_bytes)} MB"),
    ]
    for takeover in stats.taken_over:
        name = takeover.task_family + ("" if takeover.item is None else f" [{takeover.item}]")
        summary.append(("taken over", f"{name} from worker {takeover.from_worker}@{takeover.from_host} by "
                        f"{takeover.worker}@{takeover.host}, {ratio_text(takeover.lost_for_s, ' s')} after it began there"))
    if stats.provider_limits:
        limits = stats.provider_limits
        summary.append(("provider limit", f"{limits[-1]} at the end (from {limits[0]}, lowest {min(limits)}, "
                                          f"{len(limits) - 1} changes); wait s: time calls waited for it"))
    if stats.repairs or stats.flags:
        summary.append(("answers", f"{stats.repairs} near misses mended, {stats.flags} degenerate places flagged "
                                   "(each named in llm_repairs/)"))
    if stats.tokens_estimated:
        summary.append(("tokens", "~ marks counts estimated from text length"))
    summary.append(("cached input", f"{share(stats.cached_share)} of the input tokens were served from the "
                                    f"provider's prompt cache ({stats.cached_input_tokens} of {stats.input_tokens})"))
    summary.append(("cost", cost_text(stats)))
    label_width = max(len(label) for label, _ in summary)
    lines = table + [""] + [f"{label.ljust(label_width)}  {value}" for label, value in summary]
    if stats.overhead:
        lines += ["", format_breakdown(stats.overhead)]
    return "\n".join(lines)


def cost_text(stats: RunStats) -> str:
    """The run's cost, and where its figures come from; never a figure for calls nobody priced."""
    sources = ", ".join(f"{n} {source}" for source, n in stats.cost_sources.items() if source != "unknown")
    if stats.cost is None:
        return ("unknown: no model of the run has a price (give its entry a \"pricing\" in llm_config.json)"
                if stats.unpriced else "-")
    text = f"${stats.cost:.4f} (attempts priced by: {sources})"
    if stats.unpriced:
        text += f"; {stats.unpriced} attempts of unpriced models are not in it"
    return text


def processes_text(stats: RunStats) -> str:
    """Which processes ran the executions: each `run` (or luigi) process of the plan, itself and the
    task processes its worker handed tasks to, named by their order, not by process id."""
    if not stats.tasks_per_worker:
        return "-"
    executions = sum(stats.tasks_per_worker.values())
    processes = sum(stats.processes_per_worker.values())
    text = f"{executions} executions in {processes} process{'es' if processes != 1 else ''}"
    if stats.workers:
        text += f" (--workers {stats.workers}: the run process and its task processes)"
    if len(stats.tasks_per_worker) > 1:
        counts = [(stats.tasks_per_worker[w], stats.processes_per_worker.get(w, 0)) for w in stats.tasks_per_worker]
        text += "; by run process: " + ", ".join(f"{n} in {p}" for n, p in counts)
    return text


def wait_text(wait: dict) -> str:
    """One resource wait of the executed chain, as a reader says it."""
    slot = "an LLM slot" if wait["resource"] == "llm" else f"a {wait['resource']} slot"
    return f"{wait['family']} waited for {slot} held by {wait['holder_family']}"


def chain_text(stats: RunStats, shown: int = 3) -> str:
    """The chain that set the makespan: its work, and the resource waits on it."""
    text = f"{stats.executed_chain_seconds:.1f} s of work ({len(stats.executed_chain)} tasks) set the makespan"
    waits = stats.resource_waits
    if not waits:
        return text
    earlier = f"{len(waits) - shown} earlier, then " if len(waits) > shown else ""
    return f"{text}; {len(waits)} resource waits on it: {earlier}" + "; ".join(map(wait_text, waits[-shown:]))
