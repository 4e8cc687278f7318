"""The bounds each stage declares beside its answer's fields: every list has one, sized to what
the stage's prompt asks, they set the output budget, and a list longer than its bound is
trimmed with a note (soft) or fails the answer (hard), as the field declares."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re

import pytest

import planexe_pipeline.stages as stages
from planexe_pipeline.errors import LLMCallFailed
from planexe_pipeline.llm.budget import DEFAULT_MAX_OUTPUT_TOKENS, ModelSettings
from planexe_pipeline.llm.config import load_llm_config, resolve_models
from planexe_pipeline.llm.calls import StructuredCall
from planexe_pipeline.llm.executor import LLMExecutor, NamedModel
from planexe_pipeline.llm.simulator import STANDARD_WIDTHS
from planexe_pipeline.llm.schema_rules import (
    LIST_BOUND,
    MAX_ITEMS_KEY,
    full_schema,
    prompt_schema,
    provider_schema,
    worst_case_tokens,
)
from planexe_pipeline.stages import deduplicate_levers, durations, team, team_enrichment, vital_few_levers
from planexe_pipeline.stages.candidate_scenarios import ScenarioAnswers
from planexe_pipeline.stages.physical_locations import LocationAnswer
from planexe_pipeline.stages.potential_levers import MAX_LEVERS, LeverDrafts
from planexe_pipeline.stages.task_dependencies import MAX_DEPENDS_ON, DependenciesAnswer
from planexe_pipeline.stages.project_plan_parts import PARTS
from planexe_pipeline.stages.wbs import ASKED_LEVEL2_TASKS, ASKED_TASKS_PER_PHASE, MAX_PHASES, PhaseTasksAnswer
from support.executor_fakes import ScriptedLLM
from support.fake_openai_server import answer_for

NUMBERS = {w: n for n, w in enumerate(
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen".split(), start=2)}
# Bounds above what the prompt asks, each for the reason given beside the field.
ABOVE_THE_ASK = {"VitalPickAnswers.picks": MAX_LEVERS}
# What a system prompt asks for a list whose field description names no count.
LIST_ASKS: dict[str, int] = {}


def answer_models() -> list[type]:
    """Every model a stage asks an LLM for (the first argument of its structured calls)."""
    found = []
    for info in pkgutil.iter_modules(stages.__path__):
        module = importlib.import_module(f"planexe_pipeline.stages.{info.name}")
        for name in sorted(set(re.findall(r"llm\.a?structured\((\w+)", inspect.getsource(module)))):
            if isinstance(getattr(module, name, None), type):  # not a part's own model, found below
                found.append(getattr(module, name))
    return found + [part.answer for part in PARTS]


ANSWERS = answer_models()


def lists_of(schema: dict, path: str = ""):
    """(path, list schema) of every list in a schema, nested ones too."""
    if "properties" in schema:
        for key, sub in schema["properties"].items():
            yield from lists_of(sub, f"{path}.{key}" if path else key)
    if schema.get("type") == "array":
        yield path, schema
        yield from lists_of(schema.get("items", {}), f"{path}[]")


def asked(description: str) -> int | None:
    """The most items a field's description asks for, where it says a count first ("Eight to
    twelve levers" -> 12, "The two or three risks" -> 3) or sets a ceiling ("up to twelve"), or None."""
    lowered = description.lower()
    opening = re.match(r"\W*(?:the |exactly |at most |up to )?(\w+)(?: (?:to|or) (\w+))?", lowered)
    words = [w for w in opening.groups() if w] if opening else []
    words += re.findall(r"\b(?:up to|at most) (\w+)", lowered)
    counts = [NUMBERS.get(w) or (int(w) if w.isdigit() else None) for w in words]
    return max((c for c in counts if c is not None), default=None)


def test_the_stage_answers_are_all_found():
    assert len(ANSWERS) >= 45 and LeverDrafts in ANSWERS and PhaseTasksAnswer in ANSWERS


@pytest.mark.parametrize("model", ANSWERS, ids=lambda m: m.__name__)
def test_every_list_declares_a_bound_no_larger_than_its_prompt_asks(model):
    for path, schema in lists_of(full_schema(model)):
        description = schema.get("description", "")
        assert MAX_ITEMS_KEY in schema or schema["maxItems"] < LIST_BOUND, f"{model.__name__}.{path} has no bound"
        if "x-width" in schema:  # the stage's own bound, which the standard workload's width fills
            assert STANDARD_WIDTHS[schema["x-width"]] <= schema["maxItems"] <= (asked(description) or LIST_BOUND)
            continue
        if f"{model.__name__}.{path}" in ABOVE_THE_ASK:
            assert schema["maxItems"] == ABOVE_THE_ASK[f"{model.__name__}.{path}"]
            continue
        if re.search(r"\blisted\b|\bper member\b", description):  # one answer per id the prompt lists
            assert schema["maxItems"] <= MAX_PHASES + ASKED_LEVEL2_TASKS, f"{model.__name__}.{path}"
            continue
        most = asked(description)
        if most is None:
            assert schema["maxItems"] <= 10, f"{model.__name__}.{path}: {schema['maxItems']} ({description})"
        else:  # the bound a real model is sent is the count the stage asks for, not a floor above it
            assert schema["maxItems"] == most, f"{model.__name__}.{path}: {schema['maxItems']} != {most} ({description})"
    assert not re.search(r"x-max-|x-soft", json.dumps(prompt_schema(model))), "bounds never reach the prompt"


def test_lists_answering_for_listed_ids_follow_what_is_listed():
    sized = {deduplicate_levers.LeverDecisionAnswers: MAX_LEVERS,
             vital_few_levers.VitalPickAnswers: MAX_LEVERS, durations.DurationsAnswer: durations.CHUNK_SIZE,
             team_enrichment.ContractTypeAnswers: team.MAX_MEMBERS}
    for model, bound in sized.items():
        ((_, schema),) = [entry for entry in lists_of(provider_schema(model)) if "[]" not in entry[0]]
        assert schema["maxItems"] == bound, model.__name__
    assert provider_schema(PhaseTasksAnswer)["properties"]["tasks"]["maxItems"] == ASKED_TASKS_PER_PHASE
    assert provider_schema(LeverDrafts)["properties"]["levers"]["maxItems"] == 12, "the prompt asks eight to twelve"


def test_the_lever_stages_worst_case_fits_its_output_budget():
    worst = worst_case_tokens(provider_schema(LeverDrafts))
    assert worst <= DEFAULT_MAX_OUTPUT_TOKENS  # 235,452 with one 40-item bound for every list
    call = StructuredCall(LeverDrafts, "s", "u", stage="PotentialLevers")
    assert call.first_budget(ModelSettings()) >= worst


def test_no_stage_has_an_unbounded_worst_case():
    worst = {model.__name__: worst_case_tokens(provider_schema(model)) for model in ANSWERS}
    assert max(worst.values()) <= 3 * DEFAULT_MAX_OUTPUT_TOKENS, worst  # 906,902 before the bounds


def levers(count: int) -> str:
    # A prompt of several keywords: from "Solar farm" alone the simulator's writer gives one lever
    # three identical options, an answer now flagged as degenerate (llm/degeneracy.py).
    prompt = "Build a solar farm near Aarhus with a grid connection, a land lease and a panel supplier."
    data = json.loads(answer_for([{"role": "user", "content": prompt}], schema=provider_schema(LeverDrafts)))
    data["levers"] = (data["levers"] * count)[:count]
    return json.dumps(data)


def test_a_list_longer_than_its_soft_bound_is_trimmed_with_a_note(tmp_path):
    executor = LLMExecutor([NamedModel.of("m", ScriptedLLM(levers(MAX_LEVERS + 2)))], run_dir=tmp_path,
                           stage="PotentialLevers")
    assert len(executor.structured(LeverDrafts, "s", "u").levers) == MAX_LEVERS
    notes = (tmp_path / "llm_repairs" / "PotentialLevers-single.txt").read_text()
    assert notes == f"levers: kept the first {MAX_LEVERS} of {MAX_LEVERS + 2} items\n"


def test_a_list_longer_than_its_hard_bound_fails_the_answer(tmp_path):
    data = json.loads(answer_for([{"role": "user", "content": "T-1 T-2"}], schema=provider_schema(DependenciesAnswer)))
    data["dependencies"][0]["depends_on_ids"] = [f"T-{n}" for n in range(1, MAX_DEPENDS_ON + 2)]
    executor = LLMExecutor([NamedModel.of("m", ScriptedLLM(json.dumps(data)))], run_dir=tmp_path, stage="TaskDeps")
    with pytest.raises(LLMCallFailed, match=f"depends_on_ids has {MAX_DEPENDS_ON + 1} items, more than the "
                                            f"{MAX_DEPENDS_ON} allowed"):
        executor.structured(DependenciesAnswer, "s", "u")
    assert not (tmp_path / "llm_repairs").exists()


def test_a_real_model_is_sent_the_count_the_stage_asks_for(tmp_path, fake_openai_server):
    """No floor raised for the simulator's sake: "Exactly three scenarios" is bounded at three in the
    JSON schema an OpenAI-like endpoint receives, and so is "Three candidate locations"."""
    pytest.importorskip("llama_index.llms.openai_like")
    entry = {"class": "OpenAILike", "arguments": {"model": "fake-model", "api_base": fake_openai_server.url + "/v1",
                                                  "api_key": "k", "context_window": 32768, "timeout": 5}}
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"fake": entry}}))
    (model,) = resolve_models(["fake"], load_llm_config(config))
    executor = LLMExecutor([NamedModel.from_entry(model)], run_dir=tmp_path, stage="CandidateScenarios")
    answer = executor.structured(ScenarioAnswers, "You draft scenarios.", "Open a bakery in Lyon for 180,000 euros.")
    executor.structured(LocationAnswer, "You find sites.", "Open a bakery in Lyon for 180,000 euros.")
    scenarios, locations = (request["body"]["response_format"]["json_schema"]["schema"]["properties"]
                            for request in fake_openai_server.chat_requests())
    assert scenarios["scenarios"]["maxItems"] == 3 and "Exactly three" in scenarios["scenarios"]["description"]
    assert locations["candidates"]["maxItems"] == 3
    assert len(answer.scenarios) == 3
