"""How far a plan run got, from its telemetry: calls that succeeded, the first failure, time per call."""

import statistics
import sys
from pathlib import Path

from planexe_pipeline.telemetry.events import read_events

run_dir = Path(sys.argv[1])
calls = read_events(run_dir, kind="llm_call") if (run_dir / "telemetry").exists() else []
ok = [c for c in calls if c.status == "ok"]
failed = [c for c in calls if c.status != "ok"]
stages_done = list(dict.fromkeys(c.task_family for c in ok))
print(f"{run_dir}: {len(calls)} attempts, {len(ok)} answered, {len(failed)} failed; "
      f"plan complete: {(run_dir / '999-pipeline_complete.txt').exists()}")
if ok:
    durations = [c.duration_s for c in ok]
    print(f"  time per answered call: median {statistics.median(durations):.1f} s, "
          f"mean {statistics.mean(durations):.1f} s, max {max(durations):.1f} s; "
          f"output tokens per call: mean {statistics.mean(c.output_tokens or 0 for c in ok):.0f}")
    print(f"  stages answered, in order: {', '.join(stages_done)}")
for c in failed[:6]:
    print(f"  failed: {c.task_family} attempt {c.attempt} after {c.duration_s:.1f} s "
          f"(finish_reason {c.finish_reason}): {c.error}")
