#!/usr/bin/env bash
# The optional real-model check (not part of `make test`): llama-cpp-python's OpenAI-compatible
# server with the Gemma 3 270M GGUF from the package registry, on 127.0.0.1, runs the fast
# sample plan once per structured-output mode: `prompt` (the schema in the system message) and
# `json_object_schema` (the schema handed to the server, its dialect). Each run is bounded in
# time; the stats of each run folder say how far the plan got and how long each call took.
set -euo pipefail
VENV=${REAL_VENV:-.venv-real}
OUT=${REAL_OUT:-run/real-model-check}
PORT=${REAL_PORT:-8765}
MODES=${REAL_MODES:-prompt json_object_schema}
MINUTES=${REAL_MINUTES:-20}   # per mode
NICE=${REAL_NICE:-19}

# REAL_SKIP_SETUP=1 uses an environment built otherwise (the same package, already installed).
[ -n "${REAL_SKIP_SETUP:-}" ] || bash scripts/real_model_setup.sh
GGUF=$("$VENV/bin/python" scripts/real_model_gguf.py "$VENV/models")
mkdir -p "$OUT"
"$VENV/bin/python" - "$OUT/llm_config.json" "$PORT" <<'PY'
import json, sys
path, port = sys.argv[1], sys.argv[2]
base = {"class": "OpenAILike", "context_window": 16384, "max_output_tokens": 2048,
        "arguments": {"model": "gemma3-270m", "api_base": f"http://127.0.0.1:{port}/v1", "api_key": "not-needed",
                      "context_window": 16384, "timeout": 900}}
modes = ["prompt", "json_object_schema"]
json.dump({"models": {f"gemma-{m}": {**base, "structured_output": m} for m in modes}}, open(path, "w"), indent=1)
PY

nice -n "$NICE" "$VENV/bin/python" -m llama_cpp.server --model "$GGUF" --host 127.0.0.1 --port "$PORT" \
  --n_ctx 16384 --logits_all False > "$OUT/server.log" 2>&1 &
SERVER=$!
# The server finishes the answer it is writing before it stops, and an answer cut by the time
# limit below may have minutes to go: ask it to stop, then make it.
stop_server() {
  kill "$SERVER" 2>/dev/null || return 0
  for _ in $(seq 1 10); do kill -0 "$SERVER" 2>/dev/null || return 0; sleep 1; done
  kill -9 "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
}
trap stop_server EXIT
for _ in $(seq 1 120); do
  if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/v1/models', timeout=2)" 2>/dev/null; then break; fi
  kill -0 $SERVER 2>/dev/null || { echo "the model server stopped; see $OUT/server.log"; exit 1; }
  sleep 1
done

for MODE in $MODES; do
  RUN="$OUT/$MODE"
  echo "== $MODE: fast plan, at most $MINUTES minutes (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  set +e
  timeout --signal=INT "$((MINUTES * 60))" "$VENV/bin/planexe-pipeline" run --prompt-id solar-farm-denmark --speed fast \
    --workers 1 --llm "gemma-$MODE" --llm-config "$OUT/llm_config.json" --run-dir "$RUN" > "$RUN.log" 2>&1
  echo "exit code $? (124 or 130: stopped at the time limit); last lines of $RUN.log:"
  set -e
  tail -n 3 "$RUN.log"
  "$VENV/bin/python" scripts/real_model_report.py "$RUN"
done
