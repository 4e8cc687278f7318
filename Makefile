# One command each for a fresh machine: the virtual environment is created or
# refreshed on demand, whenever pyproject.toml is newer than the last install.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PROMPT_FILE ?=
PROMPT_ID ?= solar-farm-denmark
RUN_DIR ?=
WORKERS ?=
LLM ?=
SPEED ?=

RUN_ARGS :=
ifneq ($(SPEED),)
RUN_ARGS += --speed $(SPEED)
endif
ifneq ($(WORKERS),)
RUN_ARGS += --workers $(WORKERS)
endif
ifneq ($(PROMPT_FILE),)
RUN_ARGS += --prompt-file $(PROMPT_FILE)
else
RUN_ARGS += --prompt-id $(PROMPT_ID)
endif
ifneq ($(RUN_DIR),)
RUN_ARGS += --run-dir $(RUN_DIR)
endif
ifneq ($(LLM),)
RUN_ARGS += --llm $(LLM)
endif

.PHONY: install test test-fast run-plan bench scheduler docs real-model-check trace-check clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[openai,ollama,otel,mcp,export,test]'
	touch $(STAMP)

# One pytest process per core, each module's tests in one of them (its plans built once).
PYTEST := $(BIN)/python -m pytest -q --numprocesses auto --dist loadfile

test: $(STAMP)
	$(PYTEST)

# The inner loop: everything but the end-to-end tests (whole plans, luigid), marked slow.
test-fast: $(STAMP)
	$(PYTEST) -m "not slow"

run-plan: $(STAMP)
	$(BIN)/planexe-pipeline run $(RUN_ARGS)

bench: $(STAMP)
	$(BIN)/planexe-pipeline bench --repeat 3 --latency-model both --json run/bench.json

# Optional, outside `make test`: builds llama-cpp-python's server (3-4 minutes on 2 cores) in its own
# .venv-real, serves Gemma 3 270M on 127.0.0.1 and runs the fast plan from .venv in each
# structured-output mode under a time limit (REAL_MINUTES per mode, default 60: a whole fast
# plan). Results: run/real-model-check/.
real-model-check: $(STAMP)
	PIPELINE_VENV=$(VENV) bash scripts/real_model_check.sh

# Optional, outside `make test`: Arize Phoenix (from the registry, in its own .venv-phoenix) on
# 127.0.0.1, a fast plan traced into it, and what it received, counted from its own API.
trace-check: $(STAMP)
	bash scripts/trace_check.sh

# The generated docs (docs/edges.md, docs/cli.md), the reviewed edge snapshot of the tests, and
# the packaged luigi.cfg with its repository copy, written from the defaults in the code.
docs: $(STAMP)
	$(BIN)/python scripts/write_docs.py

scheduler: $(STAMP)
	$(BIN)/planexe-pipeline scheduler

clean:
	rm -rf $(VENV) .venv-real .venv-phoenix run .pytest_cache
