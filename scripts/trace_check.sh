#!/usr/bin/env bash
# The optional trace check (not part of `make test`): Arize Phoenix from the package registry, in
# its own .venv-phoenix, serves an OTLP/HTTP collector on 127.0.0.1; the fast sample plan runs
# with OTEL_EXPORTER_OTLP_ENDPOINT pointing at it; then Phoenix's own REST API says what it
# received: spans by kind, the run's one trace id against the run's telemetry, GenAI attributes.
set -euo pipefail
VENV=${PHOENIX_VENV:-.venv-phoenix}
OUT=${TRACE_OUT:-run/trace-check}
PORT=${PHOENIX_PORT:-6006}
PROJECT=planexe-trace-check

if [ ! -x "$VENV/bin/phoenix" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet arize-phoenix
fi
rm -rf "$OUT" && mkdir -p "$OUT"
PHOENIX_HOST=127.0.0.1 PHOENIX_PORT="$PORT" PHOENIX_WORKING_DIR="$OUT/phoenix" \
  "$VENV/bin/phoenix" serve > "$OUT/phoenix.log" 2>&1 &
PHOENIX=$!
trap 'kill $PHOENIX 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null 2>&1 && break
  sleep 1
done

OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$PORT" OTEL_SERVICE_NAME=planexe-pipeline \
OTEL_RESOURCE_ATTRIBUTES="openinference.project.name=$PROJECT" \
  .venv/bin/planexe-pipeline run --prompt-id solar-farm-denmark --speed fast --run-dir "$OUT/plan" \
  --start-date 2027-01-04 > "$OUT/run.log" 2>&1
sleep 3  # Phoenix writes what it received in batches

.venv/bin/python - "$OUT/plan" "http://127.0.0.1:$PORT" "$PROJECT" <<'PY'
import collections, json, sys, urllib.request
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import LLMCallEvent, RunEvent, TaskEvent
run_dir, base, project = sys.argv[1:]
spans, cursor = [], None
while True:
    url = f"{base}/v1/projects/{project}/spans?limit=1000" + (f"&cursor={cursor}" if cursor else "")
    page = json.load(urllib.request.urlopen(url, timeout=30))
    spans += page.get("data", [])
    cursor = page.get("next_cursor")
    if not cursor:
        break
run_id = next(e.run_id for e in read_events(run_dir, RunEvent))
kinds = collections.Counter(s.get("span_kind") for s in spans)
traces = {s["context"]["trace_id"] for s in spans}
tasks = sum(1 for e in read_events(run_dir, TaskEvent) if e.is_end)
calls = len(read_events(run_dir, LLMCallEvent))
# Phoenix files spans under kinds of its own (OpenInference's: a GenAI call shows as LLM).
llm = [s for s in spans if "gen_ai.operation.name" in (s.get("attributes") or {})]
print(f"Phoenix received {len(spans)} spans: {dict(kinds)}; traces {sorted(traces)}")
print(f"telemetry: run id {run_id}, {tasks} task executions, {calls} LLM calls (+1 run span)")
print("GenAI attributes of one call:", json.dumps({k: v for k, v in (llm[0].get("attributes") or {}).items()
                                                   if k.startswith(("gen_ai", "error"))} if llm else {}, sort_keys=True))
ok = traces == {run_id} and len(llm) == calls and len(spans) == tasks + calls + 1
print("trace-check:", "OK" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
PY
