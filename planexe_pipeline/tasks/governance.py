"""Governance: six LLM phases and the chapter that joins them.

Phases 4, 5 and 6 read only the bodies (2) and their setup plan (3): any other edge would put
them behind more of the plan and lengthen the critical path.
"""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import governance as stage
from planexe_pipeline.tasks.base import LLMStage, PlanTask
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import IDEA

__all__ = ["GovernancePhase1Audit", "GovernancePhase2Bodies", "GovernancePhase3ImplPlan",
           "GovernancePhase4DecisionEscalation", "GovernancePhase5Monitoring", "GovernancePhase6Extra",
           "ConsolidateGovernance"]

PROJECT_PLAN = Input(ProjectPlan, "what is governed: scope, budget, stakeholders")


class GovernancePhase1Audit(LLMStage):
    number, stem = 24, "governance_phase1_audit"
    inputs = {"plan": IDEA, "project_plan": PROJECT_PLAN}
    execute, to_markdown = stage.execute_audit, stage.audit_to_markdown


class GovernancePhase2Bodies(LLMStage):
    number, stem = 25, "governance_phase2_bodies"
    inputs = {"plan": IDEA, "project_plan": PROJECT_PLAN,
              "audit": Input(GovernancePhase1Audit, "the weak points the bodies must watch")}
    execute, to_markdown = stage.execute_bodies, stage.bodies_to_markdown


class GovernancePhase3ImplPlan(LLMStage):
    number, stem = 26, "governance_phase3_impl_plan"
    inputs = {"plan": IDEA, "project_plan": PROJECT_PLAN,
              "bodies": Input(GovernancePhase2Bodies, "the bodies to set up")}
    execute, to_markdown = stage.execute_impl_plan, stage.impl_plan_to_markdown


# Phases 4-6 refine the bodies as they will be set up, and nothing else.
REFINEMENT_INPUTS = {"bodies": Input(GovernancePhase2Bodies, "the bodies and their remits"),
                     "impl_plan": Input(GovernancePhase3ImplPlan, "how and when the bodies are set up")}


class GovernancePhase4DecisionEscalation(LLMStage):
    number, stem = 27, "governance_phase4_decision_escalation"
    inputs = REFINEMENT_INPUTS
    execute, to_markdown = stage.execute_escalation, stage.escalation_to_markdown


class GovernancePhase5Monitoring(LLMStage):
    number, stem = 28, "governance_phase5_monitoring"
    inputs = REFINEMENT_INPUTS
    execute, to_markdown = stage.execute_monitoring, stage.monitoring_to_markdown


class GovernancePhase6Extra(LLMStage):
    number, stem = 29, "governance_phase6_extra"
    inputs = REFINEMENT_INPUTS
    execute, to_markdown = stage.execute_extra, stage.extra_to_markdown


PHASES: tuple[type[LLMStage], ...] = (GovernancePhase1Audit, GovernancePhase2Bodies, GovernancePhase3ImplPlan,
                                      GovernancePhase4DecisionEscalation, GovernancePhase5Monitoring,
                                      GovernancePhase6Extra)


class ConsolidateGovernance(PlanTask):
    number, stem, kinds = 30, "governance", ("md",)
    section = Section("governance", "Governance", position=80)
    inputs = {f"phase{n}": Input(phase, "its section") for n, phase in enumerate(PHASES, start=1)}

    def run(self):
        self.write_text("md", stage.consolidate([self.read(name) for name in self.inputs]))
