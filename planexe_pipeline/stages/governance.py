"""Governance in six phases: audit, bodies, setup plan, escalation, monitoring, extra checks.

Phases 1-3 build on each other; phases 4-6 only refine the bodies (2) and their setup plan
(3), so they read nothing else and run side by side. `consolidate` joins the six sections
into the plan's governance chapter without any LLM call.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import NAME_CHARS, bounded
from planexe_pipeline.stages.markdown import bullets, user_prompt, document, heading, one_line, table


# -- phase 1: audit -----------------------------------------------------------------------
class GovernanceAudit(BaseModel):
    corruption_risks: list[str] = Field(json_schema_extra=bounded(6, chars=240, soft=True),
        description="Concrete ways money, permits, contracts or data in this plan could be abused, one per item.")
    misallocation_risks: list[str] = Field(json_schema_extra=bounded(6, chars=240, soft=True),
        description="Ways budget, time or people could be spent on the wrong things, one per item.")
    audit_procedures: list[str] = Field(json_schema_extra=bounded(6, chars=240, soft=True),
        description="Checks that catch those risks, each with its frequency and who performs it.")
    transparency_measures: list[str] = Field(json_schema_extra=bounded(6, chars=240, soft=True),
        description="What is published or shared, with whom and how often, so outsiders can see decisions.")


AUDIT_SYSTEM_PROMPT = """You audit a project plan for integrity before its governance is designed.
Name the specific corruption and misallocation risks this plan faces (its contracts, permits,
suppliers, funds and data), not generic ones. For each kind of risk propose audit procedures
with a frequency and an owner, and transparency measures that let sponsors and the public see
how decisions are made. Keep every item to one or two sentences."""


def execute_audit(llm: LLMExecutor, plan: str, project_plan: str) -> GovernanceAudit:
    return llm.structured(GovernanceAudit, AUDIT_SYSTEM_PROMPT, user_prompt(plan=plan, project_plan=project_plan))


def audit_to_markdown(result: GovernanceAudit) -> str:
    return document(
        "Governance Audit",
        heading("Corruption risks", 3), bullets(result.corruption_risks),
        heading("Misallocation risks", 3), bullets(result.misallocation_risks),
        heading("Audit procedures", 3), bullets(result.audit_procedures),
        heading("Transparency measures", 3), bullets(result.transparency_measures),
    )


# -- phase 2: governance bodies -------------------------------------------------------------
class GovernanceBody(BaseModel):
    body_name: str = Field(description="Name of the committee, board or role, e.g. 'Project Steering Committee'.",
                           json_schema_extra=bounded(chars=NAME_CHARS))
    rationale: str = Field(json_schema_extra=bounded(chars=300), description="Why this plan needs this body.")
    responsibilities: list[str] = Field(description="What the body decides or oversees.",
                                        json_schema_extra=bounded(6, chars=200, soft=True))
    membership: list[str] = Field(description="Roles that sit on the body (roles, not people's names).",
                                  json_schema_extra=bounded(8, chars=NAME_CHARS, soft=True))
    decision_rights: str = Field(description="Which decisions it may take alone, e.g. budget up to a limit.")
    decision_mechanism: str = Field(description="How it decides: majority, consensus, chair's casting vote.")
    escalation_path: str = Field(description="Where issues beyond its rights go.")


class GovernanceBodies(BaseModel):
    bodies: list[GovernanceBody] = Field(description="Three to five bodies, from the most senior down.",
                                         json_schema_extra=bounded(5, soft=True))


BODIES_SYSTEM_PROMPT = """You design the internal governance bodies of a project plan.
Propose three to five bodies sized to this project (a small project needs a small board),
from strategic oversight down to day-to-day delivery, with any technical or ethics advisory
group the audit findings call for. For each give its membership by role, its decision rights
with clear limits, how it decides, and where it escalates. Use the audit to decide which
controls each body owns."""


def execute_bodies(llm: LLMExecutor, *, plan: str, project_plan: str, audit: str) -> GovernanceBodies:
    prompt = user_prompt(plan=plan, project_plan=project_plan, governance_audit=audit)
    return llm.structured(GovernanceBodies, BODIES_SYSTEM_PROMPT, prompt)


def bodies_to_markdown(result: GovernanceBodies) -> str:
    blocks: list[str] = []
    for body in result.bodies:
        blocks += [
            heading(body.body_name, 3),
            one_line(body.rationale),
            table(["", ""], [["Decision rights", body.decision_rights],
                             ["Decision mechanism", body.decision_mechanism],
                             ["Escalation path", body.escalation_path]]),
            "**Responsibilities**\n\n" + bullets(body.responsibilities),
            "**Membership**\n\n" + bullets(body.membership),
        ]
    return document("Governance Bodies", *blocks)


# -- phase 3: implementation plan -----------------------------------------------------------
class SetupStep(BaseModel):
    step: str = Field(description="One action that sets up governance, e.g. 'Appoint the steering committee chair'.")
    responsible_body: str = Field(description="Which governance body or role does it.",
                                  json_schema_extra=bounded(chars=NAME_CHARS))
    timeframe: str = Field(description="When, relative to project start, e.g. 'Week 2'.",
                           json_schema_extra=bounded(chars=60))
    key_outputs: list[str] = Field(description="One to three things that exist once the step is done (charter, minutes, register).",
                                   json_schema_extra=bounded(3, chars=NAME_CHARS, soft=True))
    dependencies: list[str] = Field(description="At most three steps or decisions that must come first; empty if none.",
                                    json_schema_extra=bounded(3, chars=NAME_CHARS, soft=True))


class GovernanceImplementationPlan(BaseModel):
    steps: list[SetupStep] = Field(description="Setup steps in the order they should happen.",
                                   json_schema_extra=bounded(10, soft=True))


IMPL_PLAN_SYSTEM_PROMPT = """You turn a set of governance bodies into the steps that bring them to life.
List, in order, the concrete actions from the first weeks of the project: drafting terms of
reference, appointing chairs and members, holding the first meetings, setting up registers
and reporting. Give each step the body or role responsible, a timeframe relative to project
start, the outputs it leaves behind and what it depends on."""


def execute_impl_plan(llm: LLMExecutor, *, plan: str, project_plan: str, bodies: str) -> GovernanceImplementationPlan:
    prompt = user_prompt(plan=plan, project_plan=project_plan, governance_bodies=bodies)
    return llm.structured(GovernanceImplementationPlan, IMPL_PLAN_SYSTEM_PROMPT, prompt)


def impl_plan_to_markdown(result: GovernanceImplementationPlan) -> str:
    rows = [[i, s.step, s.responsible_body, s.timeframe, "; ".join(s.key_outputs), "; ".join(s.dependencies) or "-"]
            for i, s in enumerate(result.steps, start=1)]
    return document("Governance Implementation Plan",
                    table(["#", "Step", "Responsible", "When", "Outputs", "Depends on"], rows))


# -- phase 4: decision escalation matrix ----------------------------------------------------
class EscalationRule(BaseModel):
    issue: str = Field(description="A kind of decision or problem, e.g. 'Budget overrun above 10%'.")
    escalation_level: str = Field(description="The body or role it goes to.")
    approval_process: str = Field(description="How that body resolves it.")
    rationale: str = Field(description="Why it cannot be settled at a lower level.")
    consequence_if_unresolved: str = Field(description="What happens to the project if nobody decides.")


class DecisionEscalationMatrix(BaseModel):
    rules: list[EscalationRule] = Field(description="Four to eight escalation rules, most frequent first.",
                                        json_schema_extra=bounded(8, soft=True))


ESCALATION_SYSTEM_PROMPT = """You write the decision escalation matrix for a project's governance bodies.
For the issues this project will really meet (budget overruns, schedule slips, supplier or
permit problems, safety or ethics concerns, disputes between teams) say which body the issue
goes to, how that body approves or resolves it, why a lower level cannot, and what happens if
it stays unresolved. Only name bodies and roles that exist in the governance given."""


def execute_escalation(llm: LLMExecutor, bodies: str, impl_plan: str) -> DecisionEscalationMatrix:
    prompt = user_prompt(governance_bodies=bodies, governance_implementation_plan=impl_plan)
    return llm.structured(DecisionEscalationMatrix, ESCALATION_SYSTEM_PROMPT, prompt)


def escalation_to_markdown(result: DecisionEscalationMatrix) -> str:
    rows = [[r.issue, r.escalation_level, r.approval_process, r.rationale, r.consequence_if_unresolved]
            for r in result.rules]
    return document("Decision Escalation Matrix",
                    table(["Issue", "Escalates to", "Approval process", "Why", "If unresolved"], rows))


# -- phase 5: monitoring progress -----------------------------------------------------------
class MonitoringActivity(BaseModel):
    approach: str = Field(description="What is measured or reviewed, e.g. 'Track spend against budget'.")
    monitoring_tools: str = Field(description="Data sources, reports or tools used.")
    frequency: str = Field(description="How often, e.g. 'Weekly', 'Monthly'.", json_schema_extra=bounded(chars=60))
    responsible_role: str = Field(description="Who does it.")
    adaptation_trigger: str = Field(description="The threshold that calls for action.")
    adaptation_process: str = Field(description="What happens when the trigger fires, and who approves it.")


class MonitoringPlan(BaseModel):
    activities: list[MonitoringActivity] = Field(description="Four to eight monitoring activities.",
                                                 json_schema_extra=bounded(8, soft=True))


MONITORING_SYSTEM_PROMPT = """You define how a project's governance bodies will monitor progress.
Choose the few measures that show whether this project is on track (spend, schedule, quality,
risks, stakeholder sentiment, compliance), and for each say which tools or reports supply the
data, how often it is reviewed, who owns it, which threshold triggers a change of course, and
how that change is decided. Assign owners only among the bodies and roles given."""


def execute_monitoring(llm: LLMExecutor, bodies: str, impl_plan: str) -> MonitoringPlan:
    prompt = user_prompt(governance_bodies=bodies, governance_implementation_plan=impl_plan)
    return llm.structured(MonitoringPlan, MONITORING_SYSTEM_PROMPT, prompt)


def monitoring_to_markdown(result: MonitoringPlan) -> str:
    rows = [[a.approach, a.monitoring_tools, a.frequency, a.responsible_role, a.adaptation_trigger, a.adaptation_process]
            for a in result.activities]
    return document("Monitoring Progress",
                    table(["What", "Tools", "Frequency", "Owner", "Trigger", "Response"], rows))


# -- phase 6: extra checks ------------------------------------------------------------------
class GovernanceCheck(BaseModel):
    check: str = Field(description="What was verified, e.g. 'Every body has a clear escalation path'.")
    finding: str = Field(description="What the governance given actually shows.")
    recommendation: str = Field(description="The fix, or 'none' when the check passes.")


class GovernanceExtra(BaseModel):
    validation_checks: list[GovernanceCheck] = Field(description="Checks of completeness and consistency.",
                                                     json_schema_extra=bounded(6, soft=True))
    tough_questions: list[str] = Field(description="Questions a sceptical sponsor should ask the governance bodies.",
                                       json_schema_extra=bounded(6, chars=240, soft=True))
    summary: str = Field(description="Two or three sentences: is the governance fit for this project, and its main gap.")


EXTRA_SYSTEM_PROMPT = """You review a project's governance bodies and their setup plan as an outside examiner.
Check that every body has a purpose, decision rights, members and an escalation path, that
the setup plan covers every body, and that no role sits on both sides of a control. Report
what each check found and the fix. Then ask the tough questions a sceptical sponsor would
ask, and sum up in two or three sentences."""


def execute_extra(llm: LLMExecutor, bodies: str, impl_plan: str) -> GovernanceExtra:
    prompt = user_prompt(governance_bodies=bodies, governance_implementation_plan=impl_plan)
    return llm.structured(GovernanceExtra, EXTRA_SYSTEM_PROMPT, prompt)


def extra_to_markdown(result: GovernanceExtra) -> str:
    return document(
        "Governance Review",
        one_line(result.summary),
        heading("Validation checks", 3),
        table(["Check", "Finding", "Recommendation"],
              [[c.check, c.finding, c.recommendation] for c in result.validation_checks]),
        heading("Tough questions", 3), bullets(result.tough_questions),
    )


# -- consolidation (no LLM) -----------------------------------------------------------------
_HEADING = re.compile(r"^(#{1,5}) ", re.MULTILINE)


def consolidate(sections: list[str]) -> str:
    """The governance chapter: each phase's section one heading level down, in phase order."""
    demoted = [_HEADING.sub(r"#\1 ", s.strip()) for s in sections if s.strip()]
    return document("Governance", *demoted)
