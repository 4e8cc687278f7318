"""The simulator's default plan reads like the prompt's plan: the prompt's own figures and names,
varied sentences, and a prompt with nothing to plan screened out as a model would screen it."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import luigi
import pytest

from planexe_pipeline.llm.executor import LLMExecutor, NamedModel
from planexe_pipeline.llm.sim_content import asked_count, write_answer
from planexe_pipeline.llm.sim_facts import read_facts
from planexe_pipeline.llm.simulator import SimulatedLLM
from planexe_pipeline.pipeline import FullPlan
from planexe_pipeline.prompts.catalog import get_prompt
from planexe_pipeline.stages import prompt_screening
from planexe_pipeline.stages.project_plan_outline import OutlineAnswer, build_outline
from support.files import PLAN_MD, plan_file
from support.plan_runs import cli_env

BAKERY, SOLAR = get_prompt("bakery-lyon").prompt, get_prompt("solar-farm-denmark").prompt
RUN_OF_WORDS, MOST_REPEATS = 8, 10


def most_repeated_run(text: str, words: int = RUN_OF_WORDS) -> tuple[int, str]:
    """How often the most frequent run of `words` words occurs in a text, and that run."""
    tokens = re.findall(r"[\w'-]+", text.lower())
    counts = Counter(tuple(tokens[i:i + words]) for i in range(len(tokens) - words + 1))
    (run, count), = counts.most_common(1)
    return count, " ".join(run)


# -- what the simulator reads in a prompt --------------------------------------------------------
def test_the_prompts_figures_and_names_are_read_as_written():
    bakery, solar = read_facts(BAKERY), read_facts(SOLAR)
    assert (bakery.budget, bakery.currency, bakery.months, bakery.duration_words) == (180_000, "EUR", 9, "nine months")
    assert (solar.budget, solar.currency, solar.months, solar.duration_words) == (30_000_000, "DKK", 18, "18 months")
    assert {"Croix-Rousse", "Lyon", "France"} <= set(bakery.places) and "two founders" in bakery.counts
    assert "central Jutland" in solar.keywords and "Denmark" in solar.keywords, "proper nouns keep their capitals"
    assert not any(k in ("denmark", "central jutland", "euros") for k in solar.keywords + bakery.keywords)
    assert read_facts("Train for a marathon in 24 weeks; she is a 38-year-old office worker.").months == 6


def test_a_list_holds_the_count_its_description_asks_for():
    assert asked_count("Exactly three scenarios: ambitious, balanced, conservative.") == (3, 3)
    assert asked_count("The two or three risks a sceptic raises first.") == (2, 3)
    assert asked_count("At most three problems; empty if none.") == (1, 3)
    assert asked_count("One check per listed key assumption.") is None
    assert asked_count("Where and when it ran.") is None


def test_the_outline_carries_the_prompts_budget_currency_and_duration():
    answer = OutlineAnswer.model_validate(write_answer(OutlineAnswer.model_json_schema(), f"# Plan\n\n{BAKERY}",
                                                       random.Random(3), {}))
    outline = build_outline(answer)
    assert outline.currency == "EUR" and outline.duration_months == 9
    assert outline.subtotal == pytest.approx(180_000) and 180_000 <= outline.total <= 180_000 * 1.15
    assert all(m.month <= 9 for m in outline.milestones)


@pytest.mark.parametrize("prompt", ["asdf", "test test", "lorem ipsum dolor sit amet", "qwerty"])
def test_a_prompt_with_nothing_to_plan_is_screened_unusable(tmp_path, prompt):
    llm = LLMExecutor([NamedModel.of("sim", SimulatedLLM())], run_dir=tmp_path, stage="ScreenPrompt")
    result = prompt_screening.execute(llm, prompt)
    assert result.verdict == "unusable" and result.stops_the_run(), "the verdict says why, in words of its own"
    assert prompt in result.reason and "budget" in result.what_to_change


@pytest.mark.parametrize("prompt", ["Open a bakery in Lyon", BAKERY])
def test_a_short_but_clear_idea_is_usable(tmp_path, prompt):
    llm = LLMExecutor([NamedModel.of("sim", SimulatedLLM())], run_dir=tmp_path, stage="ScreenPrompt")
    assert prompt_screening.execute(llm, prompt).verdict == "usable"


# -- whole plans ------------------------------------------------------------------------------
def full_plan(run_dir: Path, prompt: str) -> str:
    root = FullPlan(run_dir=str(run_dir), speed="full", llm="simulated-instant", prompt=prompt,
                    start_date="2026-01-05")
    result = luigi.build([root], workers=2, local_scheduler=True, detailed_summary=True)
    assert result.status == luigi.execution_summary.LuigiStatusCode.SUCCESS, result.summary_text
    return (run_dir / PLAN_MD).read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("prompt, currency, low, high, months, words", [
    (BAKERY, "EUR", 120_000, 270_000, 9, "nine months"),
    (SOLAR, "DKK", 20_000_000, 45_000_000, 18, "18 months"),
])
def test_the_default_plan_states_the_prompts_figures_in_varied_sentences(tmp_path, prompt, currency, low, high,
                                                                        months, words):
    plan = full_plan(tmp_path, prompt)
    assert "> **Simulated text.** The offline simulator wrote this plan" in plan
    assert "**Written by:** the offline simulator" in plan
    budget = re.search(r"^\*\*Budget:\*\* ([A-Z]{3}) ([\d,]+) including contingency$", plan, re.M)
    assert budget and budget.group(1) == currency, "the budget is stated in the prompt's currency"
    assert low <= float(budget.group(2).replace(",", "")) <= high, "within a factor 1.5 of the prompt's budget"
    assert f"**Duration:** {months} months" in plan and words in plan
    count, run = most_repeated_run(plan)
    assert count <= MOST_REPEATS, f"'{run}' {count} times"
    places = ["Croix-Rousse", "Lyon"] if currency == "EUR" else ["Denmark", "Jutland"]
    assert all(p in plan for p in places) and not any(p.lower() in plan for p in places)


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_run_of_a_prompt_with_nothing_to_plan_stops_at_screening(tmp_path):
    run_dir = tmp_path / "run"
    run = subprocess.run([sys.executable, "-m", "planexe_pipeline", "run", "--prompt", "asdf", "--run-dir", str(run_dir),
                          "--llm", "simulated-instant", "--workers", "2"], env=cli_env(), capture_output=True, text=True,
                         timeout=50)
    assert run.returncode == 1, run.stderr[-2000:]
    assert "the prompt is unusable (too short)" in run.stderr
    assert json.loads((run_dir / plan_file("ScreenPrompt")).read_text())["verdict"] == "unusable"
    assert not (run_dir / PLAN_MD).exists()
