"""Assumptions: where the plan happens, its currency, its risks and the figures it rests on.

They start from the idea and the plan type, beside the lever chain rather than after it: the
idea names the place, the scale and the money, and the project plan joins the assumptions with
the chosen strategy.
"""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import (consolidate_assumptions, currency_strategy, distill_assumptions, identify_risks,
                                     make_assumptions, physical_locations, review_assumptions)
from planexe_pipeline.tasks.base import LLMStage, MarkdownStage
from planexe_pipeline.tasks.framing import PlanType
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.setup import IDEA

__all__ = ["PhysicalLocations", "CurrencyStrategy", "IdentifyRisks", "MakeAssumptions", "DistillAssumptions",
           "ReviewAssumptions", "ConsolidateAssumptions"]


class PhysicalLocations(LLMStage):
    number, stem = 14, "physical_locations"
    inputs = {"plan": IDEA, "plan_type": Input(PlanType, "whether the plan needs a site at all")}
    execute, to_markdown = physical_locations.execute, physical_locations.to_markdown


class CurrencyStrategy(LLMStage):
    number, stem = 15, "currency_strategy"
    inputs = {"plan": IDEA, "locations_md": Input(PhysicalLocations, "the countries the money is spent in")}
    execute, to_markdown = currency_strategy.execute, currency_strategy.to_markdown


class IdentifyRisks(LLMStage):
    number, stem = 16, "identify_risks"
    inputs = {"plan": IDEA}
    execute, to_markdown = identify_risks.execute, identify_risks.to_markdown


class MakeAssumptions(LLMStage):
    number, stem = 17, "make_assumptions"
    inputs = {"plan": IDEA, "locations_md": Input(PhysicalLocations, "the sites the figures are about"),
              "currency_md": Input(CurrencyStrategy, "the currency the figures are in"),
              "risks_md": Input(IdentifyRisks, "the risks the assumptions must allow for")}
    execute, to_markdown = make_assumptions.execute, make_assumptions.to_markdown


class DistillAssumptions(LLMStage):
    number, stem = 18, "distill_assumptions"
    inputs = {"plan": IDEA, "assumptions": Input(MakeAssumptions, "every assumption, to condense")}
    execute, to_markdown = distill_assumptions.execute, distill_assumptions.to_markdown


class ReviewAssumptions(LLMStage):
    number, stem = 19, "review_assumptions"
    inputs = {"plan": IDEA, "distilled": Input(DistillAssumptions, "the condensed assumptions, to judge")}
    execute, to_markdown = review_assumptions.execute, review_assumptions.to_markdown


class ConsolidateAssumptions(MarkdownStage):
    number, stem = 20, "consolidate_assumptions"
    section = Section("assumptions", "Assumptions", position=70)
    inputs = {"locations_md": Input(PhysicalLocations, "its section"), "currency_md": Input(CurrencyStrategy, "its section"),
              "risks_md": Input(IdentifyRisks, "its section"), "distilled_md": Input(DistillAssumptions, "its section"),
              "review_md": Input(ReviewAssumptions, "its section")}
    execute = consolidate_assumptions.consolidate
