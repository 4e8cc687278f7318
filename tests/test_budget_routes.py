"""A budget stops a plan before a call could take it past the budget, in one line, and a rerun
with a higher budget finishes it to the files of an uninterrupted plan; routes send each stage's
calls to its own models, falling back in order, and telemetry says which route chose each."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from support.plan_runs import differing, plan_files, start_run

from planexe_pipeline.errors import ConfigError, InputError
from planexe_pipeline.llm.spend import BudgetReached, PlanSpend, spent_usd
from planexe_pipeline.pipeline import SelectScenario
from planexe_pipeline.run_request import RunRequest, prepare
from planexe_pipeline.telemetry.event_log import read_events

MODELS = {
    "mini": {"class": "Simulated", "arguments": {"time_scale": 0}, "pricing": {"provider": "openai", "model": "gpt-4o-mini"}},
    "strong": {"class": "Simulated", "arguments": {"time_scale": 0, "model_name": "strong"},
               "pricing": {"input_per_million": 2.0, "output_per_million": 8.0}},
    # Cannot answer the executive summary: its route falls back to the next model.
    "flaky": {"class": "Simulated", "arguments": {"time_scale": 0, "model_name": "flaky", "fail_stages": ["ExecutiveSummary"]},
              "pricing": {"input_per_million": 1.0, "output_per_million": 1.0}},
    "free": {"class": "Simulated", "arguments": {"time_scale": 0}},
}


def write_config(tmp_path, routes=None):
    path = tmp_path / "llm_config.json"
    path.write_text(json.dumps({"models": MODELS, **({"routes": routes} if routes else {})}))
    return path


def test_a_hold_that_could_pass_the_budget_is_refused_and_a_settled_call_counts(tmp_path):
    spend = PlanSpend(tmp_path, budget_usd=1.0)
    first = spend.hold(0.6)
    with pytest.raises(BudgetReached):
        spend.hold(0.5)  # 0.6 in flight + 0.5 > 1.0
    first.cost_usd = 0.25
    spend.settle(first)
    assert spent_usd(tmp_path) == pytest.approx(0.25)
    spend.settle(spend.hold(0.7))  # 0.25 + 0.7 fits; answered nothing, costs nothing
    with pytest.raises(BudgetReached):
        PlanSpend(tmp_path, budget_usd=0.3).hold(0.1)


def test_a_budget_needs_a_price_for_every_model_and_routes_name_stages_of_the_plan(tmp_path):
    config = str(write_config(tmp_path))
    with pytest.raises(ConfigError, match="model 'free' has no price"):
        prepare(RunRequest(prompt="Open a bakery in Lyon.", run_dir=tmp_path / "a", models=["free"],
                           llm_config=config, budget_usd=1.0))
    with pytest.raises(InputError, match="more than 0"):
        prepare(RunRequest(prompt="Open a bakery in Lyon.", run_dir=tmp_path / "a", models=["mini"],
                           llm_config=config, budget_usd=0.0))
    config = str(write_config(tmp_path, routes={"NoSuchStage": ["mini"]}))
    with pytest.raises(ConfigError, match="route 'NoSuchStage' names no stage or group"):
        prepare(RunRequest(prompt="Open a bakery in Lyon.", run_dir=tmp_path / "a", models=["mini"], llm_config=config))
    assert not (tmp_path / "a").exists()


@pytest.mark.slow
def test_a_budget_stops_before_it_is_passed_and_a_higher_one_finishes_the_same_plan(tmp_path):
    config = write_config(tmp_path)
    whole = start_run(tmp_path / "whole", config, ["mini"], tag="whole")
    assert whole.wait() == 0, whole.stderr[-2000:]

    run_dir = tmp_path / "run"
    stopped = start_run(run_dir, config, ["mini"], extra=("--budget", "0.004"))
    assert stopped.wait() == 1, stopped.stderr[-2000:]
    errors = [line for line in stopped.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: budget reached: $"), stopped.stderr
    assert "spent of $0.0040" in errors[0] and "LLM calls remain" in errors[0]
    assert "Projected cost: about $" in stopped.stdout
    assert 0 < spent_usd(run_dir) <= 0.004
    costs = [call.cost_usd for call in read_events(run_dir, "llm_call")]
    assert costs and all(cost is not None for cost in costs) and sum(costs) <= 0.004

    resumed = start_run(run_dir, config, ["mini"], prompt_id=None, extra=("--budget", "1"), tag="resumed")
    assert resumed.wait() == 0, resumed.stderr[-2000:]
    assert not differing(plan_files(tmp_path / "whole"), plan_files(run_dir))

    # A revision projects the cost of the calls it redoes, not of none (every task had run).
    edited = run_dir / SelectScenario.files["json"]
    answer = json.loads(edited.read_text())
    answer["scenario"]["name"] = "Phased Roll-out"
    edited.write_text(json.dumps(answer))
    revised = start_run(run_dir, config, ["mini"], prompt_id=None, tag="revised")
    assert revised.wait() == 0, revised.stderr[-2000:]
    redo = re.search(r"redoing \d+ tasks and (\d+) LLM calls", revised.stdout).group(1)
    assert int(redo) > 0 and f"for {redo} LLM calls at list prices" in revised.stdout, revised.stdout


@pytest.mark.slow
def test_each_stage_runs_on_its_routes_models_falling_back_in_order(tmp_path):
    config = write_config(tmp_path, routes={"synthesis": ["strong"], "ExecutiveSummary": ["flaky", "strong"]})
    run = start_run(tmp_path / "run", config, ["mini"])
    assert run.wait() == 0, run.stderr[-2000:]
    calls = read_events(tmp_path / "run", "llm_call")
    seen = Counter((call.task_family, call.model, call.route, call.status) for call in calls
                   if call.task_family in ("ExecutiveSummary", "Premortem", "ReviewPlanItem", "PlanType"))
    assert seen[("ExecutiveSummary", "flaky", "ExecutiveSummary", "error")] >= 1
    assert seen[("ExecutiveSummary", "strong", "ExecutiveSummary", "ok")] == 1
    assert seen[("Premortem", "strong", "synthesis", "ok")] == 1
    assert seen[("ReviewPlanItem", "strong", "synthesis", "ok")] >= 1
    assert seen[("PlanType", "mini", None, "ok")] == 1  # no route: the run's --llm
    strong = [call for call in calls if call.model == "strong" and call.ok]
    assert all(call.cost_source == "entry" and call.cost_usd > 0 for call in strong)
