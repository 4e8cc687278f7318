"""Valid but degenerate answers are asked again once, with varied sampling; one that stays
degenerate is kept (the better of the two) and flagged. Crafted answers of the patterns real
models fall into, served by the loopback OpenAI-compatible and Ollama server
(tests/support/fake_openai_server.py) to the real llama-index clients, through LLMExecutor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planexe_pipeline.llm.config import load_llm_config, resolve_models
from planexe_pipeline.llm.degeneracy import findings
from planexe_pipeline.llm.executor import LLMExecutor, NamedModel, RetryPolicy
from planexe_pipeline.llm.schema_rules import full_schema
from planexe_pipeline.llm.structured import VARIED_TEMPERATURE
from planexe_pipeline.stages import identify_risks, plan_type
from planexe_pipeline.stages.markdown import user_prompt
from planexe_pipeline.telemetry.event_log import append_events, read_events
from planexe_pipeline.telemetry.events import LLMCallEvent
from planexe_pipeline.telemetry.stats import stats_from_events
from support.fakes import Sleeps

pytest.importorskip("llama_index.llms.openai_like")
pytest.importorskip("llama_index.llms.ollama")

PLAN = ("Build a 5 MW ground-mounted solar farm on leased farmland near Aarhus, Denmark, connected to the "
        "regional grid, financed by a cooperative of local households and a green bank loan.")
USER = user_prompt(plan=PLAN, selected_scenario="Cooperative ownership with a fixed-price power purchase agreement.")


def risk(title: str, description: str, mitigation: str, **extra) -> dict:
    return {"title": title, "category": "financial", "description": description, "likelihood": "medium",
            "impact": "high", "mitigation": mitigation, "early_warning": "Quotes rise above the budget.", **extra}


GOOD_RISKS = [risk("Grid connection delay", "The grid operator may take a year longer to connect the farm.",
                   "Apply for the connection before the land lease is signed."),
              risk("Panel price rise", "Panel prices may rise by a fifth before the order is placed.",
                   "Fix the panel price with a supplier in a framework agreement."),
              risk("Planning objection", "Neighbours may object to the farm at the municipal hearing.",
                   "Hold an open day for neighbours before the hearing."),
              risk("Cooperative shortfall", "Households may subscribe fewer shares than the equity needs.",
                   "Secure a bridge loan for the missing equity."),
              risk("Lease dispute", "The landowner may dispute the thirty-year lease terms.",
                   "Have the lease reviewed by a rural property lawyer."),
              risk("Low spring yield", "A cloudy spring may cut the first year's output.",
                   "Model revenue on a ten-year average, not the best year.")]


def answer(risks: list[dict], summary: str = "Grid and price risks dominate; both can be fixed early.") -> str:
    return json.dumps({"risks": risks, "summary": summary})


IDENTICAL = answer([risk("Risk", "The project may fail.", "low")] * 10)
NEAR_IDENTICAL = answer([risk(f"Risk {n}", f"Supplier {n} may deliver the panels late.",
                              f"Call supplier {n} every week.") for n in range(1, 9)])
LOOP = answer(GOOD_RISKS, summary="the risk is high the risk is high the risk is high the risk is high")
DESCRIPTION_ECHO = answer(GOOD_RISKS, summary="Two sentences on the overall risk picture.")
TYPE_NAME = answer(GOOD_RISKS, summary="string")
INSTRUCTIONS_ECHO = answer(GOOD_RISKS, summary="Name six to ten specific risks (regulatory, financial, technical, "
                                               "operational, market, environmental, social, security, supply chain)")
PLAN_ECHO = answer(GOOD_RISKS, summary="Build a 5 MW ground-mounted solar farm on leased farmland near Aarhus, "
                                       "Denmark, connected to the regional grid.")
SAYS_NOTHING = answer([{**r, "mitigation": "low"} for r in GOOD_RISKS])


def executor(tmp_path: Path, url: str, ollama: bool = False, item: int | None = None,
             share: float = RetryPolicy.degenerate_retry_share) -> LLMExecutor:
    arguments = ({"model": "llama3.1:8b", "base_url": url, "request_timeout": 5.0} if ollama else
                 {"model": "fake-model", "api_base": url + "/v1", "api_key": "k", "timeout": 5.0})
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"m": {
        "class": "Ollama" if ollama else "OpenAILike", "context_window": 8192,
        "structured_output": "ollama_format" if ollama else "json_object_schema", "arguments": arguments}}}))
    sleeps = Sleeps()
    return LLMExecutor([NamedModel.from_entry(e) for e in resolve_models(["m"], load_llm_config(config))],
                       run_dir=tmp_path, stage="IdentifyRisks", item=item,
                       policy=RetryPolicy(initial_wait_s=0.0, jitter_s=0.0, degenerate_retry_share=share),
                       sleep=sleeps, async_sleep=sleeps.a)


def ask_risks(llm: LLMExecutor) -> identify_risks.RiskAnswers:
    return llm.structured(identify_risks.RiskAnswers, identify_risks.SYSTEM_PROMPT, USER)


@pytest.mark.parametrize("crafted, flag", [
    (IDENTICAL, "risks: 9 of its 10 items repeat an earlier one"),
    (NEAR_IDENTICAL, "risks: 7 of its 8 items repeat an earlier one"),
    (LOOP, "summary: says 'the risk is high' 4 times in a row"),
    (DESCRIPTION_ECHO, "summary: repeats a field description of the schema ('Two sentences on the overall risk "
                       "picture.')"),
    (TYPE_NAME, "summary: is a JSON type, schema keyword or placeholder, not an answer ('string')"),
    (INSTRUCTIONS_ECHO, "summary: copies the instructions (100% of its words)"),
    (PLAN_ECHO, "summary: copies the plan's text (100% of its words)"),
    (SAYS_NOTHING, "risks[*].mitigation (in 6 items): says nothing ('low')"),
], ids=["identical-items", "near-identical-items", "phrase-loop", "description-echo", "type-name",
        "instructions-echo", "plan-echo", "says-nothing"])
def test_a_degenerate_answer_that_persists_is_kept_and_flagged(tmp_path, fake_openai_server, crafted, flag):
    fake_openai_server.answer_next(crafted, crafted)
    llm = executor(tmp_path, fake_openai_server.url)
    result = ask_risks(llm)
    assert result == identify_risks.RiskAnswers.model_validate_json(crafted), "the answer is kept, not lost"
    assert flag in llm.flags
    assert f"flagged: {flag}" in (tmp_path / "llm_repairs" / "IdentifyRisks-single.txt").read_text().splitlines()
    first, second = read_events(tmp_path, kind="llm_call")
    assert first.status == "error" and first.error.startswith("DegenerateAnswer: the RiskAnswers answer is degenerate")
    assert second.status == "ok" and second.flags == len(llm.flags) >= 1
    assert fake_openai_server.count() == 2, "asked again once, no more"
    (row,) = stats_from_events(read_events(tmp_path)).stages  # what `planexe-pipeline stats` shows
    assert (row.attempts, row.retries, row.flags) == (2, 1, len(llm.flags))


def test_the_retry_samples_otherwise_and_a_clean_answer_ends_it_unflagged(tmp_path, fake_openai_server):
    fake_openai_server.answer_next(IDENTICAL, answer(GOOD_RISKS))
    llm = executor(tmp_path, fake_openai_server.url)
    assert [r.title for r in ask_risks(llm).risks] == [r["title"] for r in GOOD_RISKS]
    assert llm.flags == [] and not (tmp_path / "llm_repairs").exists()
    first, second = (r["body"] for r in fake_openai_server.chat_requests())
    assert first["temperature"] != VARIED_TEMPERATURE and "seed" not in first and "presence_penalty" not in first
    assert second["temperature"] == VARIED_TEMPERATURE and second["presence_penalty"] > 0
    assert isinstance(second["seed"], int)
    assert [line.status for line in read_events(tmp_path, kind="llm_call")] == ["error", "ok"]


def test_ollama_gets_the_varied_sampling_as_options(tmp_path, fake_openai_server):
    fake_openai_server.answer_next(IDENTICAL, answer(GOOD_RISKS))
    ask_risks(executor(tmp_path, fake_openai_server.url, ollama=True))
    first, second = (r["body"]["options"] for r in fake_openai_server.chat_requests())
    assert "seed" not in first and "repeat_penalty" not in first
    assert second["temperature"] == VARIED_TEMPERATURE and second["repeat_penalty"] > 1 and "seed" in second


def test_of_two_degenerate_answers_the_better_is_kept(tmp_path, fake_openai_server):
    fake_openai_server.answer_next(IDENTICAL, NEAR_IDENTICAL)
    llm = executor(tmp_path, fake_openai_server.url)
    assert len(ask_risks(llm).risks) == 8, "7 repeats of 8 spoil less than 9 of 10 and a 'low' mitigation"
    assert llm.flags == ["risks: 7 of its 8 items repeat an earlier one"]


def test_a_retry_that_fails_keeps_the_first_answer_flagged(tmp_path, fake_openai_server):
    fake_openai_server.answer_next(IDENTICAL, '{"risks": [')
    llm = executor(tmp_path, fake_openai_server.url)
    assert len(ask_risks(llm).risks) == 10
    assert "risks: 9 of its 10 items repeat an earlier one" in llm.flags
    assert fake_openai_server.count() == 2


@pytest.mark.parametrize("reasoning", ["100%", "financial-project,"])
def test_a_useless_reasoning_is_caught_in_the_plan_type_stage(tmp_path, fake_openai_server, reasoning):
    """What PlanType answered as its reasoning in the real-model check, before and after a retry."""
    crafted = json.dumps({"plan_type": "physical", "reasoning": reasoning, "physical_needs": ["farmland", "panels"]})
    fake_openai_server.answer_next(crafted, crafted)
    llm = executor(tmp_path, fake_openai_server.url)
    llm.structured(plan_type.PlanTypeDecision, plan_type.SYSTEM_PROMPT, user_prompt(plan=PLAN))
    assert llm.flags == [f"reasoning: says nothing ('{reasoning}')"]


def test_varied_items_that_share_a_field_are_not_flagged():
    """Every good risk above has the same early warning, category and ratings: items that agree
    on some fields are not repeats."""
    data = json.loads(answer(GOOD_RISKS))
    assert findings(full_schema(identify_risks.RiskAnswers), data, instructions=identify_risks.SYSTEM_PROMPT,
                    plan=PLAN) == []


def earlier_attempts(run_dir: Path, ok: int, failed: int) -> None:
    append_events(run_dir, [LLMCallEvent(task_family="Earlier", start=1.0, end=2.0, status="ok")] * ok +
                  [LLMCallEvent(task_family="Earlier", start=1.0, end=2.0, status="error")] * failed)


@pytest.mark.parametrize("ok, failed, share, asked_again", [
    (0, 0, 0.1, True),  # the run's first retry is always made
    (27, 2, 0.1, True),  # 3 retries of 31 attempts: within 10%
    (20, 2, 0.1, False),  # 3 of 24 would not be
    (20, 2, 1.0, True),  # 1: every degenerate answer is asked again
    (0, 0, 0.0, False),  # 0: none is
])
def test_a_degenerate_answer_is_asked_again_within_the_run_s_retry_budget(tmp_path, fake_openai_server, ok, failed,
                                                                          share, asked_again):
    """A small model that loops on most calls would double the run's time: degenerate answers are
    asked again while the run's retries stay within a share of its attempts, else flagged at once."""
    earlier_attempts(tmp_path, ok, failed)
    fake_openai_server.answer_next(IDENTICAL, IDENTICAL)
    llm = executor(tmp_path, fake_openai_server.url, share=share)
    assert len(ask_risks(llm).risks) == 10
    assert "risks: 9 of its 10 items repeat an earlier one" in llm.flags, "flagged either way"
    assert fake_openai_server.count() == (2 if asked_again else 1)
