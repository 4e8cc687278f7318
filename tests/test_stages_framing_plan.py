"""Framing, assumptions and plan stages: simulator runs and id-mapping rules."""

from __future__ import annotations

import pytest

from planexe_pipeline.llm.executor import LLMExecutor, NamedModel
from planexe_pipeline.llm.simulator import SimulatedLLM
from planexe_pipeline.stages import (candidate_scenarios, consolidate_assumptions, currency_strategy,
                                     deduplicate_levers, distill_assumptions, enrich_levers, identify_purpose,
                                     identify_risks, make_assumptions, physical_locations, plan_type, potential_levers,
                                     pre_project_assessment, project_plan, project_plan_outline, project_plan_parts,
                                     review_assumptions, scenarios,
                                     select_scenario, strategic_decisions, vital_few_levers)
from planexe_pipeline.stages.candidate_scenarios import (CandidateScenarioSet, LeverChoiceAnswer, ScenarioAnswer,
                                                         ScenarioAnswers)
from planexe_pipeline.stages.deduplicate_levers import LeverDecisionAnswer, LeverDecisionAnswers
from planexe_pipeline.stages.distill_assumptions import DistilledAssumptions, KeyAssumption
from planexe_pipeline.stages.enrich_levers import EnrichedLever, EnrichedLevers, LeverEnrichment
from planexe_pipeline.stages.potential_levers import Lever, PotentialLeverList
from planexe_pipeline.stages.review_assumptions import AssumptionCheckAnswer, ReviewAnswer
from planexe_pipeline.stages.select_scenario import SelectionAnswer
from planexe_pipeline.stages.vital_few_levers import VitalPickAnswer, VitalPickAnswers
from support.bakery_prompt import PROMPT, mentions_prompt


def simulated() -> LLMExecutor:
    return LLMExecutor([NamedModel.of("simulated", SimulatedLLM())])


def run_chain(llm: LLMExecutor) -> dict[str, tuple[object, str]]:
    """Every stage's execute() in dependency order, on the outputs of the one before: name -> (model, markdown)."""
    out: dict[str, tuple[object, str]] = {}

    def keep(name, model, markdown):
        out[name] = (model, markdown)
        return model, markdown

    purpose, purpose_md = keep("purpose", r := identify_purpose.execute(llm, PROMPT), identify_purpose.to_markdown(r))
    ptype = plan_type.execute(llm, PROMPT)
    ptype = ptype.model_copy(update={"plan_type": "physical"})  # the location call is what is under test
    keep("plan_type", ptype, plan_type.to_markdown(ptype))
    levers, _ = keep("potential_levers", r := potential_levers.execute(llm, PROMPT), potential_levers.to_markdown(r))
    dedup, _ = keep("deduplicate_levers", r := deduplicate_levers.execute(llm, PROMPT, levers),
                    deduplicate_levers.to_markdown(r))
    answers = [enrich_levers.execute(llm, lv, plan=PROMPT, deduplicated=dedup) for lv in dedup.levers]
    enriched, _ = keep("enrich_levers", r := enrich_levers.merge(answers, dedup), enrich_levers.to_markdown(r))
    vital, _ = keep("vital_few_levers", r := vital_few_levers.execute(llm, PROMPT, enriched),
                    vital_few_levers.to_markdown(r))
    _, decisions_md = keep("strategic_decisions", vital, strategic_decisions.to_markdown(vital))
    candidates, _ = keep("candidate_scenarios", r := candidate_scenarios.execute(llm, PROMPT, vital),
                         candidate_scenarios.to_markdown(r))
    selection, selection_md = keep("select_scenario", r := select_scenario.execute(llm, PROMPT, candidates),
                                   select_scenario.to_markdown(r))
    _, scenarios_md = keep("scenarios", selection, scenarios.to_markdown(candidates, selection))
    _, locations_md = keep("physical_locations", r := physical_locations.execute(llm, PROMPT, ptype),
                           physical_locations.to_markdown(r))
    _, currency_md = keep("currency_strategy", r := currency_strategy.execute(llm, PROMPT, locations_md),
                          currency_strategy.to_markdown(r))
    _, risks_md = keep("identify_risks", r := identify_risks.execute(llm, PROMPT), identify_risks.to_markdown(r))
    made, _ = keep("make_assumptions", r := make_assumptions.execute(llm, plan=PROMPT, locations_md=locations_md,
                                                                     currency_md=currency_md, risks_md=risks_md),
                   make_assumptions.to_markdown(r))
    distilled, distilled_md = keep("distill_assumptions", r := distill_assumptions.execute(llm, PROMPT, made),
                                   distill_assumptions.to_markdown(r))
    _, review_md = keep("review_assumptions", r := review_assumptions.execute(llm, PROMPT, distilled),
                        review_assumptions.to_markdown(r))
    consolidated = consolidate_assumptions.consolidate(locations_md=locations_md, currency_md=currency_md,
                                                       risks_md=risks_md, distilled_md=distilled_md,
                                                       review_md=review_md)
    keep("consolidate_assumptions", None, consolidated)
    _, assessment_md = keep("pre_project_assessment", r := pre_project_assessment.execute(llm, PROMPT, consolidated),
                            pre_project_assessment.to_markdown(r))
    upstream = dict(plan=PROMPT, vital=vital, selection=selection, assumptions=consolidated, assessment=assessment_md)
    outline, _ = keep("project_plan_outline", r := project_plan_outline.execute(llm, **upstream),
                      project_plan_outline.to_markdown(r))
    parts = [project_plan_parts.execute(llm, part, outline=outline, **upstream) for part in project_plan_parts.PARTS]
    keep("project_plan", r := project_plan.build_plan(parts, outline), project_plan.to_markdown(r))
    return out


@pytest.fixture(scope="module")
def chain():
    return run_chain(simulated())


STAGES = ["plan_type", "potential_levers", "deduplicate_levers", "enrich_levers", "vital_few_levers",
          "strategic_decisions", "candidate_scenarios", "select_scenario", "scenarios", "physical_locations",
          "currency_strategy", "identify_risks", "make_assumptions", "distill_assumptions", "review_assumptions",
          "consolidate_assumptions", "pre_project_assessment", "project_plan_outline", "project_plan"]


@pytest.mark.parametrize("stage", STAGES)
def test_stage_returns_a_valid_model_and_markdown_about_the_prompt(chain, stage):
    model, markdown = chain[stage]
    if model is not None:
        assert type(model).model_validate_json(model.model_dump_json()) == model
    assert markdown.startswith("## ")
    assert mentions_prompt(markdown), markdown[:400]


def test_simulated_chain_is_deterministic(chain):
    again = run_chain(simulated())
    assert {k: v[1] for k, v in again.items()} == {k: v[1] for k, v in chain.items()}


def test_ids_are_assigned_by_our_code(chain):
    levers = chain["potential_levers"][0].levers
    assert [lv.id for lv in levers] == [f"L-{n}" for n in range(1, len(levers) + 1)]
    assert all(len(lv.options) == 3 for lv in levers)
    assert [s.id for s in chain["candidate_scenarios"][0].scenarios] == ["S-1", "S-2", "S-3"]
    assert [r.id for r in chain["identify_risks"][0].risks][:2] == ["R-1", "R-2"]
    plan = chain["project_plan"][0]
    assert [d.id for d in plan.deliverables][:1] == ["D-1"]
    assert [m.month for m in plan.milestones] == sorted(m.month for m in plan.milestones)
    assert plan.budget.subtotal == pytest.approx(sum(line.amount for line in plan.budget.lines))
    assert plan.duration_months >= max(m.month for m in plan.milestones)


def test_vital_levers_come_from_the_kept_levers(chain):
    kept = {lv.id for lv in chain["deduplicate_levers"][0].levers}
    vital = [v.lever.id for v in chain["vital_few_levers"][0].levers]
    assert 4 <= len(vital) <= 5 or len(vital) == len(kept)
    assert set(vital) <= kept and len(set(vital)) == len(vital)
    for scenario in chain["candidate_scenarios"][0].scenarios:
        assert [c.lever_id for c in scenario.choices] == vital


def test_consolidated_assumptions_nest_every_section(chain):
    md = chain["consolidate_assumptions"][1]
    assert md.startswith("## Assumptions\n")
    for title in ("Physical Locations", "Currency Strategy", "Risks", "Key Assumptions", "Assumption Review"):
        assert f"\n### {title}\n" in md
    assert "\n## " not in md[3:]


def test_demote_headings_leaves_code_blocks_alone():
    md = "## A\n\n```\n# not a heading\n```\n\n### B"
    assert consolidate_assumptions.demote_headings(md) == "### A\n\n```\n# not a heading\n```\n\n#### B"


class RefusingLLM:
    """Stands in for a model that must not be called."""

    def __getattr__(self, name):
        raise AssertionError("no LLM call expected")


def test_digital_plan_needs_no_location_call():
    decision = plan_type.PlanTypeDecision(plan_type="digital", reasoning="A mobile app for Lyon bakeries.",
                                          physical_needs=[])
    result = physical_locations.execute(LLMExecutor([NamedModel.of("none", RefusingLLM())]), PROMPT, decision)
    assert not result.needs_physical_site and not result.candidates
    assert "Lyon" in physical_locations.to_markdown(result)


def test_digital_plan_with_physical_needs_is_still_located():
    decision = plan_type.PlanTypeDecision(plan_type="digital", reasoning="An online shop.",
                                          physical_needs=["A bakehouse in Lyon"])
    result = physical_locations.execute(simulated(), PROMPT, decision)
    assert result.needs_physical_site and result.candidates


# -- id mapping ------------------------------------------------------------------------------
def lever(n: int) -> Lever:
    return Lever(id=f"L-{n}", name=f"Lever {n}", question=f"Question {n}?", options=["low", "mid", "high"],
                 consequences="c")


def potential(count: int) -> PotentialLeverList:
    return PotentialLeverList(levers=[lever(n) for n in range(1, count + 1)])


def decision(lever_id, what, into=None):
    return LeverDecisionAnswer(lever_id=lever_id, decision=what, merge_into_id=into, justification="j")


def test_deduplicate_drops_unknown_keeps_first_duplicate_and_defaults_missing():
    answer = LeverDecisionAnswers(decisions=[
        decision("L-9", "remove"), decision("l-1: Financing", "remove"), decision("L-1", "keep"),
        decision("L-2", "merge", "lever L-3"),
        decision("L-3", "keep"), decision("L-4", "keep"), decision("L-5", "keep"), decision("L-6", "keep"),
    ])  # L-7 is missing
    result = deduplicate_levers.apply_decisions(potential(7), answer)
    outcomes = {o.lever_id: o for o in result.outcomes}
    assert list(outcomes) == [f"L-{n}" for n in range(1, 8)]
    assert outcomes["L-1"].decision == "remove" and not outcomes["L-1"].defaulted
    assert outcomes["L-2"].decision == "merge" and outcomes["L-2"].merge_into_id == "L-3"
    assert outcomes["L-7"].decision == "keep" and outcomes["L-7"].defaulted
    assert [lv.id for lv in result.levers] == ["L-3", "L-4", "L-5", "L-6", "L-7"]
    assert deduplicate_levers.apply_decisions(potential(7), answer) == result


@pytest.mark.parametrize("target", ["L-1", "L-99", None, "L-2"])
def test_merge_into_self_unknown_or_unkept_lever_counts_as_keep(target):
    answer = LeverDecisionAnswers(decisions=[decision("L-1", "merge", target), decision("L-2", "remove")]
                                  + [decision(f"L-{n}", "keep") for n in range(3, 8)])
    outcome = deduplicate_levers.apply_decisions(potential(7), answer).outcomes[0]
    assert (outcome.decision, outcome.merge_into_id, outcome.defaulted) == ("keep", None, True)


def test_too_few_kept_levers_are_restored_in_id_order():
    answer = LeverDecisionAnswers(decisions=[decision(f"L-{n}", "remove") for n in range(1, 8)])
    result = deduplicate_levers.apply_decisions(potential(7), answer)
    assert [lv.id for lv in result.levers] == ["L-1", "L-2", "L-3", "L-4", "L-5"]
    assert all(o.defaulted for o in result.outcomes[:5]) and not result.outcomes[5].defaulted


def enriched(count: int) -> EnrichedLevers:
    return EnrichedLevers(levers=[EnrichedLever(**lever(n).model_dump(), description="d", synergies="s",
                                                conflicts="c", key_metric="k") for n in range(1, count + 1)])


def test_enrichment_missing_levers_get_flagged_defaults():
    answers = [LeverEnrichment(lever_id=i, description=f"about {i}", synergies="s", conflicts="c", key_metric="k")
               for i in ("L-2", "L-2", "X-1")]
    kept = deduplicate_levers.DeduplicatedLevers(levers=potential(3).levers, outcomes=[])
    result = enrich_levers.merge(answers, kept)
    assert [(lv.id, lv.enrichment_defaulted) for lv in result.levers] == [("L-1", True), ("L-2", False), ("L-3", True)]
    assert result.levers[1].description == "about L-2"


def picks(*ids: str) -> VitalPickAnswers:
    return VitalPickAnswers(picks=[VitalPickAnswer(lever_id=i, why_vital=f"why {i}") for i in ids], summary="s")


def test_vital_few_keeps_the_answer_order_and_caps_at_five():
    result = vital_few_levers.apply_picks(enriched(8), picks("L-7", "L-99", "L-2", "L-7", "L-1", "L-3", "L-4", "L-5"))
    assert [v.lever.id for v in result.levers] == ["L-7", "L-2", "L-1", "L-3", "L-4"]
    assert not any(v.defaulted for v in result.levers)


def test_vital_few_tops_up_too_few_picks_in_id_order():
    result = vital_few_levers.apply_picks(enriched(8), picks("L-6", "nonsense"))
    assert [(v.lever.id, v.defaulted) for v in result.levers] == [("L-6", False), ("L-1", True), ("L-2", True),
                                                                   ("L-3", True)]
    assert vital_few_levers.apply_picks(enriched(8), picks("L-6", "nonsense")) == result


def vital(count: int):
    return vital_few_levers.apply_picks(enriched(count), picks(*[f"L-{n}" for n in range(1, count + 1)]))


def test_scenario_choices_map_to_vital_levers_with_stance_defaults():
    answer = ScenarioAnswers(scenarios=[ScenarioAnswer(name="Bold", stance="ambitious", summary="s", choices=[
        LeverChoiceAnswer(lever_id="L-2", option_number=1), LeverChoiceAnswer(lever_id="L-2", option_number=2),
        LeverChoiceAnswer(lever_id="Q-7", option_number=1), LeverChoiceAnswer(lever_id="L-3", option_number=0),
        LeverChoiceAnswer(lever_id="L-4", option_number=7)])])
    result = candidate_scenarios.build_scenarios(vital(4), answer)
    assert [s.id for s in result.scenarios] == ["S-1", "S-2", "S-3"]
    assert [s.stance for s in result.scenarios] == ["ambitious", "balanced", "conservative"]
    bold = result.scenarios[0]
    assert [(c.lever_id, c.option_number, c.defaulted) for c in bold.choices] == [
        ("L-1", 3, True), ("L-2", 1, False), ("L-3", 1, False), ("L-4", 3, False)]
    assert bold.choices[1].option == "low"
    assert all(c.option_number == 1 and c.defaulted for c in result.scenarios[2].choices)


def candidate_set() -> CandidateScenarioSet:
    answer = ScenarioAnswers(scenarios=[ScenarioAnswer(name=n, stance=st, summary="s", choices=[])
                                        for n, st in (("A", "ambitious"), ("B", "balanced"), ("C", "conservative"))])
    return candidate_scenarios.build_scenarios(vital(4), answer)


@pytest.mark.parametrize("given, chosen, defaulted", [
    ("S-3", "S-3", False), (" s-1", "S-1", False), ("S-9", "S-2", True), ("the best one", "S-2", True)])
def test_select_scenario_maps_the_answer_or_falls_back_to_balanced(given, chosen, defaulted):
    result = select_scenario.apply_selection(candidate_set(), SelectionAnswer(
        scenario_id=given, justification="fits", why_not_others="others"))
    assert (result.scenario.id, result.defaulted) == (chosen, defaulted)
    md = scenarios.to_markdown(candidate_set(), result)
    assert f"{chosen} {result.scenario.name} (selected)" in md


def test_review_flags_unchecked_assumptions_and_drops_unknown_ids():
    distilled = DistilledAssumptions(key_assumptions=[
        KeyAssumption(id=f"KA-{n}", statement=f"s{n}", value="EUR 1", confidence_percent=50, source_ids=[])
        for n in (1, 2)])
    answer = ReviewAnswer(checks=[
        AssumptionCheckAnswer(assumption_id=i, verdict="unrealistic", issue="i", recommendation="r")
        for i in ("KA-2", "KA-7")], missing_assumptions=[], overall_assessment="o")
    result = review_assumptions.apply_review(distilled, answer)
    assert [(c.assumption_id, c.verdict, c.defaulted) for c in result.checks] == [
        ("KA-1", "not reviewed", True), ("KA-2", "unrealistic", False)]
