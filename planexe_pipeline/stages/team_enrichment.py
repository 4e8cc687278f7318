"""Three independent passes over the team roster (contract type, background, work environment)
and the merge of their answers by member id.

Each pass sees the same roster, so the three calls run at the same time. The model answers
per member id; `merge_team` joins the answers to the roster by the pipeline's one rule
(`stages/answer_ids.py`): unknown ids are dropped, a repeated id keeps its first answer, and
a member nobody answered for gets a default flagged `defaulted: true`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import WIDTHS, bounded
from planexe_pipeline.stages.answer_ids import map_answers
from planexe_pipeline.stages.markdown import context, document, table
from planexe_pipeline.stages.team import TeamMember, TeamRoster

_MEMBER_ID = "The team member's id exactly as given in the roster, e.g. M-2."


# -- pass 1: contract type ------------------------------------------------------------------
ContractType = Literal["full_time_employee", "part_time_employee", "independent_contractor",
                       "agency_temp", "volunteer", "other"]


class ContractTypeAnswer(BaseModel):
    member_id: str = Field(description=_MEMBER_ID)
    contract_type: ContractType = Field(description="How this role is best engaged.")
    justification: str = Field(description="Why this contract type suits the role and the project.")


class ContractTypeAnswers(BaseModel):
    answers: list[ContractTypeAnswer] = Field(description="One answer per member of the roster.",
                                              json_schema_extra=bounded(WIDTHS["team_members"], soft=True))


CONTRACT_SYSTEM_PROMPT = """You decide how each role of a project team should be engaged.
For every member id in the roster choose one contract type: full-time or part-time employee,
independent contractor, agency temp, volunteer, or other. Base it on how long and how steadily
the project needs the role, the skills market, and the budget. Answer once per member id,
using the ids exactly as given, with a one-sentence justification."""


def execute_contract_type(llm: LLMExecutor, plan: str, team: str) -> ContractTypeAnswers:
    return llm.structured(ContractTypeAnswers, CONTRACT_SYSTEM_PROMPT, context(plan=plan, team_members=team))


# -- pass 2: background ---------------------------------------------------------------------
class BackgroundAnswer(BaseModel):
    member_id: str = Field(description=_MEMBER_ID)
    background_story: str = Field(
        description="A short fictional profile of a suitable person: training, experience, what they bring.")


class BackgroundAnswers(BaseModel):
    answers: list[BackgroundAnswer] = Field(description="One answer per member of the roster.",
                                            json_schema_extra=bounded(WIDTHS["team_members"], soft=True))


BACKGROUND_SYSTEM_PROMPT = """You write short background profiles for the roles of a project team.
For every member id in the roster describe, in two or three sentences, the kind of person who
would do the job well on this particular project: training, years and kind of experience,
local knowledge, and what they bring that others on the team do not. Profiles are fictional
illustrations, never real people. Answer once per member id, using the ids exactly as given."""


def execute_background(llm: LLMExecutor, plan: str, team: str) -> BackgroundAnswers:
    return llm.structured(BackgroundAnswers, BACKGROUND_SYSTEM_PROMPT, context(plan=plan, team_members=team))


# -- pass 3: work environment ---------------------------------------------------------------
class EnvironmentAnswer(BaseModel):
    member_id: str = Field(description=_MEMBER_ID)
    equipment_needs: str = Field(description="Tools, software, vehicles or protective gear the role needs.")
    facility_needs: str = Field(description="Where the role works: office, site, lab, remote, and what that place needs.")


class EnvironmentAnswers(BaseModel):
    answers: list[EnvironmentAnswer] = Field(description="One answer per member of the roster.",
                                             json_schema_extra=bounded(WIDTHS["team_members"], soft=True))


ENVIRONMENT_SYSTEM_PROMPT = """You plan the working conditions of each role of a project team.
For every member id in the roster say what equipment the role needs (tools, software,
vehicles, protective gear) and where it works (office, site, lab, remote) with what that place
must provide. Be specific to this project, since these needs become budget lines. Answer once
per member id, using the ids exactly as given."""


def execute_environment(llm: LLMExecutor, plan: str, team: str) -> EnvironmentAnswers:
    return llm.structured(EnvironmentAnswers, ENVIRONMENT_SYSTEM_PROMPT, context(plan=plan, team_members=team))


# -- markdown of one pass -------------------------------------------------------------------
def contract_type_to_markdown(result: ContractTypeAnswers) -> str:
    rows = [[a.member_id, a.contract_type.replace("_", " "), a.justification] for a in result.answers]
    return document("Team Contract Types", table(["Member", "Contract type", "Justification"], rows))


def background_to_markdown(result: BackgroundAnswers) -> str:
    return document("Team Backgrounds", table(["Member", "Background"], [[a.member_id, a.background_story] for a in result.answers]))


def environment_to_markdown(result: EnvironmentAnswers) -> str:
    rows = [[a.member_id, a.equipment_needs, a.facility_needs] for a in result.answers]
    return document("Team Work Environment", table(["Member", "Equipment", "Facilities"], rows))


# -- merge by member id ---------------------------------------------------------------------
class ContractInfo(BaseModel):
    contract_type: str
    justification: str
    defaulted: bool = Field(default=False, description="True when the model gave no answer for this member.")


class BackgroundInfo(BaseModel):
    background_story: str
    defaulted: bool = False


class EnvironmentInfo(BaseModel):
    equipment_needs: str
    facility_needs: str
    defaulted: bool = False


class EnrichedMember(TeamMember):
    contract: ContractInfo
    background: BackgroundInfo
    environment: EnvironmentInfo


class MergedTeam(BaseModel):
    members: list[EnrichedMember] = Field(description="The roster in its own order, with the three passes joined.")
    dropped_answers: list[str] = Field(default_factory=list, description="Answers not used, and why.")


DEFAULT_CONTRACT = ContractInfo(contract_type="undecided", defaulted=True,
                                justification="No answer was given for this role; decide when hiring.")
DEFAULT_BACKGROUND = BackgroundInfo(background_story="No profile was given for this role.", defaulted=True)
DEFAULT_ENVIRONMENT = EnvironmentInfo(equipment_needs="Not assessed.", facility_needs="Not assessed.", defaulted=True)


def merge_team(roster: TeamRoster, contract: ContractTypeAnswers, background: BackgroundAnswers,
               environment: EnvironmentAnswers) -> MergedTeam:
    ids = [m.id for m in roster.members]
    contracts = map_answers(ids, contract.answers, lambda a: a.member_id)
    backgrounds = map_answers(ids, background.answers, lambda a: a.member_id)
    environments = map_answers(ids, environment.answers, lambda a: a.member_id)
    members = []
    for m in roster.members:
        c, b, e = contracts.get(m.id), backgrounds.get(m.id), environments.get(m.id)
        members.append(EnrichedMember(
            **m.model_dump(),
            contract=ContractInfo(contract_type=c.contract_type, justification=c.justification) if c else DEFAULT_CONTRACT,
            background=BackgroundInfo(background_story=b.background_story) if b else DEFAULT_BACKGROUND,
            environment=(EnvironmentInfo(equipment_needs=e.equipment_needs, facility_needs=e.facility_needs)
                         if e else DEFAULT_ENVIRONMENT),
        ))
    dropped = ([f"contract type: {d}" for d in contracts.dropped] + [f"background: {d}" for d in backgrounds.dropped]
               + [f"environment: {d}" for d in environments.dropped])
    return MergedTeam(members=members, dropped_answers=dropped)
