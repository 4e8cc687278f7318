"""Framing: purpose, plan type, strategic levers and scenarios."""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import (candidate_scenarios, deduplicate_levers, enrich_levers, identify_purpose,
                                     plan_type, potential_levers, scenarios, select_scenario, strategic_decisions,
                                     vital_few_levers)
from planexe_pipeline.tasks.base import LLMTask, PlanTask
from planexe_pipeline.tasks.setup import Setup

__all__ = ["IdentifyPurpose", "PlanType", "PotentialLevers", "DeduplicateLevers", "EnrichLevers", "VitalFewLevers",
           "StrategicDecisionsMarkdown", "CandidateScenarios", "SelectScenario", "ScenariosMarkdown"]


class IdentifyPurpose(LLMTask):
    group = "framing"
    number, stem = 2, "identify_purpose"
    section = Section("purpose", "Purpose", position=30)

    def requires(self):
        return {"setup": self.clone(Setup)}

    def run(self):
        result = identify_purpose.execute(self.executor(), self.input_text("setup", "plan"))
        self.write_stage(result, identify_purpose.to_markdown(result))


class PlanType(LLMTask):
    group = "framing"
    number, stem = 3, "plan_type"

    def requires(self):
        return {"setup": self.clone(Setup), "purpose": self.clone(IdentifyPurpose)}

    def run(self):
        result = plan_type.execute(self.executor(), self.input_text("setup", "plan"), self.input_text("purpose"))
        self.write_stage(result, plan_type.to_markdown(result))


class PotentialLevers(LLMTask):
    group = "framing"
    number, stem = 4, "potential_levers"

    def requires(self):
        return {"setup": self.clone(Setup), "purpose": self.clone(IdentifyPurpose), "plan_type": self.clone(PlanType)}

    def run(self):
        result = potential_levers.execute(self.executor(), plan=self.input_text("setup", "plan"),
                                          purpose_md=self.input_text("purpose"),
                                          plan_type_md=self.input_text("plan_type"))
        self.write_stage(result, potential_levers.to_markdown(result))


class DeduplicateLevers(LLMTask):
    group = "framing"
    number, stem = 5, "deduplicate_levers"

    def requires(self):
        return {"setup": self.clone(Setup), "levers": self.clone(PotentialLevers)}

    def run(self):
        result = deduplicate_levers.execute(self.executor(), self.input_text("setup", "plan"),
                                            self.input_model("levers", potential_levers.PotentialLeverList))
        self.write_stage(result, deduplicate_levers.to_markdown(result))


class EnrichLevers(LLMTask):
    group = "framing"
    number, stem = 6, "enrich_levers"

    def requires(self):
        return {"setup": self.clone(Setup), "levers": self.clone(DeduplicateLevers)}

    def run(self):
        result = enrich_levers.execute(self.executor(), self.input_text("setup", "plan"),
                                       self.input_model("levers", deduplicate_levers.DeduplicatedLevers))
        self.write_stage(result, enrich_levers.to_markdown(result))


class VitalFewLevers(LLMTask):
    group = "framing"
    number, stem = 7, "vital_few_levers"

    def requires(self):
        return {"setup": self.clone(Setup), "levers": self.clone(EnrichLevers)}

    def run(self):
        result = vital_few_levers.execute(self.executor(), self.input_text("setup", "plan"),
                                          self.input_model("levers", enrich_levers.EnrichedLevers))
        self.write_stage(result, vital_few_levers.to_markdown(result))


class StrategicDecisionsMarkdown(PlanTask):
    group = "framing"
    number, stem, kinds = 8, "strategic_decisions", ("md",)
    section = Section("strategic-decisions", "Strategic decisions", position=50)

    def requires(self):
        return {"vital": self.clone(VitalFewLevers)}

    def run(self):
        vital = self.input_model("vital", vital_few_levers.VitalLevers)
        self.write_text("md", strategic_decisions.to_markdown(vital))


class CandidateScenarios(LLMTask):
    group = "framing"
    number, stem = 9, "candidate_scenarios"

    def requires(self):
        return {"setup": self.clone(Setup), "vital": self.clone(VitalFewLevers)}

    def run(self):
        result = candidate_scenarios.execute(self.executor(), self.input_text("setup", "plan"),
                                             self.input_model("vital", vital_few_levers.VitalLevers))
        self.write_stage(result, candidate_scenarios.to_markdown(result))


class SelectScenario(LLMTask):
    group = "framing"
    number, stem = 10, "select_scenario"

    def requires(self):
        return {"setup": self.clone(Setup), "candidates": self.clone(CandidateScenarios)}

    def run(self):
        result = select_scenario.execute(self.executor(), self.input_text("setup", "plan"),
                                         self.input_model("candidates", candidate_scenarios.CandidateScenarioSet))
        self.write_stage(result, select_scenario.to_markdown(result))


class ScenariosMarkdown(PlanTask):
    group = "framing"
    number, stem, kinds = 11, "scenarios", ("md",)
    section = Section("scenarios", "Scenarios", position=60)

    def requires(self):
        return {"candidates": self.clone(CandidateScenarios), "selection": self.clone(SelectScenario)}

    def run(self):
        self.write_text("md", scenarios.to_markdown(
            self.input_model("candidates", candidate_scenarios.CandidateScenarioSet),
            self.input_model("selection", select_scenario.ScenarioSelection)))
