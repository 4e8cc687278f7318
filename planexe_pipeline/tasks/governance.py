"""Governance: six LLM phases and the chapter that joins them.

Class names start with "Governance" because the simulator's latency model keys on it.
Phases 4, 5 and 6 read only the bodies (2) and their setup plan (3): any other edge would put
them behind more of the plan and lengthen the critical path.
"""

from __future__ import annotations

from pydantic import BaseModel

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import governance as stage
from planexe_pipeline.tasks.base import LLMTask, PlanTask
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import Setup

__all__ = ["GovernancePhase1Audit", "GovernancePhase2Bodies", "GovernancePhase3ImplPlan",
           "GovernancePhase4DecisionEscalation", "GovernancePhase5Monitoring", "GovernancePhase6Extra",
           "ConsolidateGovernance"]


class GovernancePhase1Audit(LLMTask):
    group = "governance"
    number, stem = 21, "governance_phase1_audit"

    def requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan)}

    def run(self):
        result = stage.execute_audit(self.executor(), self.input_text("setup", "plan"), self.input_text("project_plan"))
        self.write_stage(result, stage.audit_to_markdown(result))


class GovernancePhase2Bodies(LLMTask):
    group = "governance"
    number, stem = 22, "governance_phase2_bodies"

    def requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan),
                "audit": self.clone(GovernancePhase1Audit)}

    def run(self):
        result = stage.execute_bodies(self.executor(), plan=self.input_text("setup", "plan"),
                                      project_plan=self.input_text("project_plan"), audit=self.input_text("audit"))
        self.write_stage(result, stage.bodies_to_markdown(result))


class GovernancePhase3ImplPlan(LLMTask):
    group = "governance"
    number, stem = 23, "governance_phase3_impl_plan"

    def requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan),
                "bodies": self.clone(GovernancePhase2Bodies)}

    def run(self):
        result = stage.execute_impl_plan(self.executor(), plan=self.input_text("setup", "plan"),
                                         project_plan=self.input_text("project_plan"),
                                         bodies=self.input_text("bodies"))
        self.write_stage(result, stage.impl_plan_to_markdown(result))


class GovernanceRefinement(LLMTask):
    """Shape of phases 4-6: bodies and setup plan in, one refinement out."""

    group = "governance"

    def requires(self):
        return {"bodies": self.clone(GovernancePhase2Bodies), "impl_plan": self.clone(GovernancePhase3ImplPlan)}

    def refine(self, bodies: str, impl_plan: str) -> tuple[BaseModel, str]:
        raise NotImplementedError

    def run(self):
        result, markdown = self.refine(self.input_text("bodies"), self.input_text("impl_plan"))
        self.write_stage(result, markdown)


class GovernancePhase4DecisionEscalation(GovernanceRefinement):
    number, stem = 24, "governance_phase4_decision_escalation"

    def refine(self, bodies, impl_plan):
        result = stage.execute_escalation(self.executor(), bodies, impl_plan)
        return result, stage.escalation_to_markdown(result)


class GovernancePhase5Monitoring(GovernanceRefinement):
    number, stem = 25, "governance_phase5_monitoring"

    def refine(self, bodies, impl_plan):
        result = stage.execute_monitoring(self.executor(), bodies, impl_plan)
        return result, stage.monitoring_to_markdown(result)


class GovernancePhase6Extra(GovernanceRefinement):
    number, stem = 26, "governance_phase6_extra"

    def refine(self, bodies, impl_plan):
        result = stage.execute_extra(self.executor(), bodies, impl_plan)
        return result, stage.extra_to_markdown(result)


PHASES: tuple[type[LLMTask], ...] = (GovernancePhase1Audit, GovernancePhase2Bodies, GovernancePhase3ImplPlan,
                                     GovernancePhase4DecisionEscalation, GovernancePhase5Monitoring,
                                     GovernancePhase6Extra)


class ConsolidateGovernance(PlanTask):
    group = "governance"
    number, stem, kinds = 27, "governance", ("md",)
    section = Section("governance", "Governance", position=80)

    def requires(self):
        return {f"phase{n}": self.clone(phase) for n, phase in enumerate(PHASES, start=1)}

    def run(self):
        self.write_text("md", stage.consolidate([self.input_text(f"phase{n}") for n in range(1, len(PHASES) + 1)]))
