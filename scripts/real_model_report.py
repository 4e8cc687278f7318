"""How far a plan run got and what each stage cost, from its telemetry and its notes: seconds,
tokens, retries, near misses mended and degenerate answers flagged, per stage; then every
failed attempt, every flag and where the report is.

Usage: python scripts/real_model_report.py RUN_DIR (with the pipeline's own Python)."""

import statistics
import sys
from collections import Counter
from pathlib import Path

from planexe_pipeline.tasks.report import Report
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import LLMCallEvent
from planexe_pipeline.telemetry.stats import stats_from_events


def error_kind(error: str) -> str:
    """What kind of failure an attempt's error line names."""
    if error.startswith("DegenerateAnswer"):
        return "degenerate (asked again)"
    if error.startswith("TruncatedAnswer"):
        return "cut by the output limit"
    if error.startswith("SchemaValidationError"):
        return "not valid JSON for the schema, after mending"
    return error.split(":", 1)[0]


def table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
            for row in rows]


def main(run_dir: Path) -> None:
    events = read_events(run_dir) if (run_dir / "telemetry").exists() else []
    calls = [e for e in events if isinstance(e, LLMCallEvent)]
    complete = (run_dir / "999-pipeline_complete.txt").exists()
    ok = [c for c in calls if c.ok]
    print(f"{run_dir}: {len(calls)} attempts, {len(ok)} answered, {len(calls) - len(ok)} failed; "
          f"plan complete: {complete}")
    if not calls:
        return
    longest: dict[str, float] = {}
    for c in calls:
        longest[c.task_family] = max(longest.get(c.task_family, 0.0), c.call_seconds)
    rows = [["stage", "calls", "attempts", "retries", "LLM s", "longest s", "tokens in", "tokens out", "repairs",
             "flags"]]
    stats = stats_from_events(events, run_dir)
    for row in stats.stages:
        if row.attempts:
            mark = "~" if row.tokens_estimated else ""
            rows.append([row.family, str(row.calls), str(row.attempts), str(row.retries), f"{row.llm_seconds:.1f}",
                         f"{longest[row.family]:.1f}", f"{mark}{row.input_tokens}", f"{mark}{row.output_tokens}",
                         str(row.repairs), str(row.flags)])
    rows.append(["total", str(stats.llm_calls), str(stats.attempts), str(stats.retries), f"{stats.llm_seconds:.1f}",
                 f"{max(longest.values()):.1f}", str(stats.input_tokens), str(stats.output_tokens),
                 str(stats.repairs), str(stats.flags)])
    lines = table(rows)
    print("\n".join("  " + line for line in [lines[0], "-" * len(lines[0]), *lines[1:-1], "-" * len(lines[0]),
                                              lines[-1]]))
    durations = [c.call_seconds for c in ok]
    share = 100 * stats.retries / stats.attempts if stats.attempts else 0.0
    print(f"  per answered call: median {statistics.median(durations):.1f} s, mean {statistics.mean(durations):.1f} s, "
          f"max {max(durations):.1f} s; retries {stats.retries} of {stats.attempts} attempts ({share:.0f}%)")
    failures = Counter(error_kind(c.error or "") for c in calls if not c.ok)
    for kind, count in failures.most_common():
        print(f"  failed attempts, {kind}: {count}")
    for c in [c for c in calls if not c.ok][:8]:
        print(f"    {c.task_family} attempt {c.attempt} after {c.call_seconds:.1f} s "
              f"(finish_reason {c.finish_reason}): {(c.error or '')[:200]}")
    notes = sorted((run_dir / "llm_repairs").glob("*.txt")) if (run_dir / "llm_repairs").exists() else []
    for path in notes:
        for line in path.read_text(encoding="utf-8").splitlines():
            print(f"  {'flag' if line.startswith('flagged: ') else 'repair'} {path.stem}: "
                  f"{line.removeprefix('flagged: ')[:200]}")
    report = run_dir / Report.files["html"]
    print(f"  report: {report}" if report.exists() else "  report: not written (the plan did not reach its end)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
