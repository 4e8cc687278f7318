#!/usr/bin/env bash
# The optional real-model check (not part of `make test`): llama-cpp-python's OpenAI-compatible
# server with the Gemma 3 270M GGUF from the package registry, on 127.0.0.1, runs the fast
# sample plan once per structured-output mode: `json_object_schema` (the schema handed to the
# server, its dialect) and `prompt` (the schema in the system message). The server runs from
# its own environment (REAL_VENV, built by scripts/real_model_setup.sh), the pipeline from the
# checkout's (PIPELINE_VENV, `make install`). Each run is bounded in time; a run folder left
# by an earlier check resumes where it stopped. For each mode it prints, per stage, the
# seconds, tokens, retries, near misses mended and degenerate answers flagged, and where the
# report is.
set -euo pipefail
SERVER_VENV=${REAL_VENV:-.venv-real}
PIPELINE_VENV=${PIPELINE_VENV:-.venv}
MODEL_DIR=${REAL_MODEL_DIR:-$SERVER_VENV/models}
OUT=${REAL_OUT:-run/real-model-check}
PORT=${REAL_PORT:-8765}
MODES=${REAL_MODES:-json_object_schema prompt}
# Per mode. The fast plan is 62 calls; at the 50 s a call Gemma 3 270M takes on average on 2
# cores (one call at a time: the server answers one), a whole plan needs about 50-60 minutes.
MINUTES=${REAL_MINUTES:-60}
NICE=${REAL_NICE:-19}
PROMPT_ID=${REAL_PROMPT_ID:-solar-farm-denmark}

# REAL_SKIP_SETUP=1 uses a server environment built otherwise (the same packages, installed).
[ -n "${REAL_SKIP_SETUP:-}" ] || REAL_VENV="$SERVER_VENV" REAL_MODEL_DIR="$MODEL_DIR" bash scripts/real_model_setup.sh
PIPELINE="$PIPELINE_VENV/bin/planexe-pipeline"
[ -x "$PIPELINE" ] || { echo "no pipeline in $PIPELINE_VENV: run 'make install' first (or set PIPELINE_VENV)"; exit 2; }
mkdir -p "$MODEL_DIR" "$OUT"
GGUF=$("$SERVER_VENV/bin/python" scripts/real_model_gguf.py "$MODEL_DIR")
"$PIPELINE_VENV/bin/python" - "$OUT/llm_config.json" "$PORT" <<'PY'
import json, sys
path, port = sys.argv[1], sys.argv[2]
base = {"class": "OpenAILike", "context_window": 16384, "max_output_tokens": 2048,
        "arguments": {"model": "gemma3-270m", "api_base": f"http://127.0.0.1:{port}/v1", "api_key": "not-needed",
                      "context_window": 16384, "timeout": 900}}
modes = ["prompt", "json_object_schema"]
json.dump({"models": {f"gemma-{m}": {**base, "structured_output": m} for m in modes}}, open(path, "w"), indent=1)
PY

nice -n "$NICE" "$SERVER_VENV/bin/python" -m llama_cpp.server --model "$GGUF" --host 127.0.0.1 --port "$PORT" \
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
  if "$PIPELINE_VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/v1/models', timeout=2)" 2>/dev/null; then break; fi
  kill -0 $SERVER 2>/dev/null || { echo "the model server stopped; see $OUT/server.log"; exit 1; }
  sleep 1
done

for MODE in $MODES; do
  RUN="$OUT/$MODE"
  echo "== $MODE: fast plan, at most $MINUTES minutes (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  STARTED=$(date +%s)
  set +e
  # One call at a time: the server answers one request at a time, and a call queued behind
  # another would count the wait as its own time.
  timeout --signal=INT "$((MINUTES * 60))" "$PIPELINE" run --prompt-id "$PROMPT_ID" --speed fast \
    --workers 1 --llm-slots 1 --llm "gemma-$MODE" --llm-config "$OUT/llm_config.json" --run-dir "$RUN" > "$RUN.log" 2>&1
  CODE=$?
  set -e
  echo "exit code $CODE after $(( $(date +%s) - STARTED )) s (124 or 130: stopped at the time limit; run again to resume); last lines of $RUN.log:"
  tail -n 3 "$RUN.log"
  "$PIPELINE_VENV/bin/python" scripts/real_model_report.py "$RUN"
done
