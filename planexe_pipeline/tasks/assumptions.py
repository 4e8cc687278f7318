"""Assumptions: where the plan happens, its currency, its risks and the figures it rests on."""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import (consolidate_assumptions, currency_strategy, distill_assumptions, identify_risks,
                                     make_assumptions, physical_locations, plan_type, review_assumptions)
from planexe_pipeline.tasks.base import LLMTask, PlanTask
from planexe_pipeline.tasks.framing import PlanType, SelectScenario
from planexe_pipeline.tasks.setup import Setup

__all__ = ["PhysicalLocations", "CurrencyStrategy", "IdentifyRisks", "MakeAssumptions", "DistillAssumptions",
           "ReviewAssumptions", "ConsolidateAssumptions"]


class PhysicalLocations(LLMTask):
    group = "assumptions"
    number, stem = 12, "physical_locations"

    def requires(self):
        return {"setup": self.clone(Setup), "plan_type": self.clone(PlanType), "scenario": self.clone(SelectScenario)}

    def run(self):
        result = physical_locations.execute(self.executor(), self.input_text("setup", "plan"),
                                            self.input_model("plan_type", plan_type.PlanTypeDecision),
                                            self.input_text("scenario"))
        self.write_stage(result, physical_locations.to_markdown(result))


class CurrencyStrategy(LLMTask):
    group = "assumptions"
    number, stem = 13, "currency_strategy"

    def requires(self):
        return {"setup": self.clone(Setup), "locations": self.clone(PhysicalLocations)}

    def run(self):
        result = currency_strategy.execute(self.executor(), self.input_text("setup", "plan"), self.input_text("locations"))
        self.write_stage(result, currency_strategy.to_markdown(result))


class IdentifyRisks(LLMTask):
    group = "assumptions"
    number, stem = 14, "identify_risks"

    def requires(self):
        return {"setup": self.clone(Setup), "scenario": self.clone(SelectScenario),
                "locations": self.clone(PhysicalLocations), "currency": self.clone(CurrencyStrategy)}

    def run(self):
        result = identify_risks.execute(self.executor(), plan=self.input_text("setup", "plan"),
                                        scenario_md=self.input_text("scenario"),
                                        locations_md=self.input_text("locations"),
                                        currency_md=self.input_text("currency"))
        self.write_stage(result, identify_risks.to_markdown(result))


class MakeAssumptions(LLMTask):
    group = "assumptions"
    number, stem = 15, "make_assumptions"

    def requires(self):
        return {"setup": self.clone(Setup), "locations": self.clone(PhysicalLocations),
                "currency": self.clone(CurrencyStrategy), "risks": self.clone(IdentifyRisks)}

    def run(self):
        result = make_assumptions.execute(self.executor(), plan=self.input_text("setup", "plan"),
                                          locations_md=self.input_text("locations"),
                                          currency_md=self.input_text("currency"), risks_md=self.input_text("risks"))
        self.write_stage(result, make_assumptions.to_markdown(result))


class DistillAssumptions(LLMTask):
    group = "assumptions"
    number, stem = 16, "distill_assumptions"

    def requires(self):
        return {"setup": self.clone(Setup), "assumptions": self.clone(MakeAssumptions)}

    def run(self):
        result = distill_assumptions.execute(self.executor(), self.input_text("setup", "plan"),
                                             self.input_model("assumptions", make_assumptions.AssumptionList))
        self.write_stage(result, distill_assumptions.to_markdown(result))


class ReviewAssumptions(LLMTask):
    group = "assumptions"
    number, stem = 17, "review_assumptions"

    def requires(self):
        return {"setup": self.clone(Setup), "distilled": self.clone(DistillAssumptions)}

    def run(self):
        result = review_assumptions.execute(self.executor(), self.input_text("setup", "plan"),
                                            self.input_model("distilled", distill_assumptions.DistilledAssumptions))
        self.write_stage(result, review_assumptions.to_markdown(result))


class ConsolidateAssumptions(PlanTask):
    group = "assumptions"
    number, stem, kinds = 18, "consolidate_assumptions", ("md",)
    section = Section("assumptions", "Assumptions", position=70)

    def requires(self):
        return {"locations": self.clone(PhysicalLocations), "currency": self.clone(CurrencyStrategy),
                "risks": self.clone(IdentifyRisks), "distilled": self.clone(DistillAssumptions),
                "review": self.clone(ReviewAssumptions)}

    def run(self):
        self.write_text("md", consolidate_assumptions.consolidate(locations_md=self.input_text("locations"),
                                                                  currency_md=self.input_text("currency"),
                                                                  risks_md=self.input_text("risks"),
                                                                  distilled_md=self.input_text("distilled"),
                                                                  review_md=self.input_text("review")))
