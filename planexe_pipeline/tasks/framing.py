"""Framing: purpose, plan type, strategic levers and scenarios.

Purpose, plan type and the levers each read the idea alone, so they start together; the lever
chain (levers, their triage, one enrichment call per lever, the vital few, the scenarios and
the choice among them) is the plan's opening chain.
"""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import (candidate_scenarios, deduplicate_levers, enrich_levers, identify_purpose,
                                     plan_type, potential_levers, scenarios, select_scenario, strategic_decisions,
                                     vital_few_levers)
from planexe_pipeline.stages.deduplicate_levers import DeduplicatedLevers
from planexe_pipeline.stages.potential_levers import Lever
from planexe_pipeline.tasks.base import LLMStage, MarkdownStage
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.setup import IDEA

__all__ = ["IdentifyPurpose", "PlanType", "PotentialLevers", "DeduplicateLevers", "EnrichLeverItem", "EnrichLevers",
           "VitalFewLevers", "StrategicDecisionsMarkdown", "CandidateScenarios", "SelectScenario", "ScenariosMarkdown"]


class IdentifyPurpose(LLMStage):
    number, stem = 4, "identify_purpose"
    section = Section("purpose", "Purpose", position=30)
    inputs = {"plan": IDEA}
    execute, to_markdown = identify_purpose.execute, identify_purpose.to_markdown


class PlanType(LLMStage):
    number, stem = 5, "plan_type"
    inputs = {"plan": IDEA}
    execute, to_markdown = plan_type.execute, plan_type.to_markdown


class PotentialLevers(LLMStage):
    number, stem = 6, "potential_levers"
    inputs = {"plan": IDEA}
    execute, to_markdown = potential_levers.execute, potential_levers.to_markdown


class DeduplicateLevers(LLMStage):
    number, stem = 7, "deduplicate_levers"
    inputs = {"plan": IDEA, "potential": Input(PotentialLevers, "every lever, to keep, merge or remove")}
    execute, to_markdown = deduplicate_levers.execute, deduplicate_levers.to_markdown


class EnrichLeverItem(FanOutItem[Lever]):
    """One kept lever analysed: what is at stake, and which other levers it helps or hinders."""

    number, stem = 8, "enrich_levers"
    result_model = enrich_levers.LeverEnrichment
    items_input = "deduplicated"
    inputs = {"plan": IDEA,
              "deduplicated": Input(DeduplicateLevers, "the kept levers: one call each, the others as context")}
    execute = enrich_levers.execute

    def all_items(self):
        return self.read("deduplicated", DeduplicatedLevers).levers


class EnrichLevers(FanOutMerge):
    item_task = EnrichLeverItem
    execute, to_markdown = enrich_levers.merge, enrich_levers.to_markdown


class VitalFewLevers(LLMStage):
    number, stem = 9, "vital_few_levers"
    inputs = {"plan": IDEA, "enriched": Input(EnrichLevers, "each lever with what is at stake, to pick from")}
    execute, to_markdown = vital_few_levers.execute, vital_few_levers.to_markdown


class StrategicDecisionsMarkdown(MarkdownStage):
    number, stem = 10, "strategic_decisions"
    section = Section("strategic-decisions", "Strategic decisions", position=50)
    inputs = {"vital": Input(VitalFewLevers, "the vital levers and why they matter")}
    execute = strategic_decisions.to_markdown


class CandidateScenarios(LLMStage):
    number, stem = 11, "candidate_scenarios"
    inputs = {"plan": IDEA, "vital": Input(VitalFewLevers, "the vital levers, whose options a scenario picks")}
    execute, to_markdown = candidate_scenarios.execute, candidate_scenarios.to_markdown


class SelectScenario(LLMStage):
    number, stem = 12, "select_scenario"
    inputs = {"plan": IDEA, "candidates": Input(CandidateScenarios, "the scenarios to choose from")}
    execute, to_markdown = select_scenario.execute, select_scenario.to_markdown


class ScenariosMarkdown(MarkdownStage):
    number, stem = 13, "scenarios"
    section = Section("scenarios", "Scenarios", position=60)
    inputs = {"candidates": Input(CandidateScenarios, "every scenario, for the comparison table"),
              "selection": Input(SelectScenario, "which scenario was chosen and why")}
    execute = scenarios.to_markdown
