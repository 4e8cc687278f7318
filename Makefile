# One command each for a fresh machine: the virtual environment is created or
# refreshed on demand, whenever pyproject.toml is newer than the last install.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PROMPT_FILE ?=
PROMPT_ID ?= solar-farm-denmark
RUN_DIR ?=
WORKERS ?= 16
LLM ?=
SPEED ?=

RUN_ARGS := --workers $(WORKERS)
ifneq ($(SPEED),)
RUN_ARGS += --speed $(SPEED)
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

.PHONY: install test run-plan bench scheduler real-model-check clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[openai,ollama,test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

run-plan: $(STAMP)
	$(BIN)/planexe-pipeline run $(RUN_ARGS)

bench: $(STAMP)
	$(BIN)/planexe-pipeline bench --repeat 3 --json run/bench.json

# Optional, outside `make test`: builds llama-cpp-python's server (about 10 minutes) in its own
# .venv-real, serves Gemma 3 270M on 127.0.0.1 and runs the fast plan from .venv in each
# structured-output mode under a time limit (REAL_MINUTES per mode, default 60: a whole fast
# plan). Results: run/real-model-check/.
real-model-check: $(STAMP)
	PIPELINE_VENV=$(VENV) bash scripts/real_model_check.sh

scheduler: $(STAMP)
	$(BIN)/planexe-pipeline scheduler

clean:
	rm -rf $(VENV) .venv-real run .pytest_cache
