"""Three independent passes over the team roster (contract type, background, work environment)
and the merge of their answers by member id.

Each pass sees the same roster, so the three calls run at the same time. The model answers
per member id; `merge_team` joins the answers to the roster by the pipeline's one rule
(`stages/answer_ids.py`): unknown ids are dropped, a repeated id keeps its first answer, and
a member nobody answered for gets a default flagged `defaulted: true`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.answer_ids import map_answers
from planexe_pipeline.stages.markdown import user_prompt, document, table
from planexe_pipeline.stages.team import MAX_MEMBERS, TeamMember, TeamRoster

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
                                              json_schema_extra=bounded(MAX_MEMBERS, soft=True))


CONTRACT_SYSTEM_PROMPT = """You decide how each role of a project team should be engaged.
For every member id in the roster choose one contract type: full-time or part-time employee,
independent contractor, agency temp, volunteer, or other. Base it on how long and how steadily
the project needs the role, the skills market, and the budget. Answer once per member id,
using the ids exactly as given, with a one-sentence justification."""


# -- pass 2: background ---------------------------------------------------------------------
class BackgroundAnswer(BaseModel):
    member_id: str = Field(description=_MEMBER_ID)
    background_story: str = Field(
        description="A short fictional profile of a suitable person: training, experience, what they bring.")


class BackgroundAnswers(BaseModel):
    answers: list[BackgroundAnswer] = Field(description="One answer per member of the roster.",
                                            json_schema_extra=bounded(MAX_MEMBERS, soft=True))


BACKGROUND_SYSTEM_PROMPT = """You write short background profiles for the roles of a project team.
For every member id in the roster describe, in two or three sentences, the kind of person who
would do the job well on this particular project: training, years and kind of experience,
local knowledge, and what they bring that others on the team do not. Profiles are fictional
illustrations, never real people. Answer once per member id, using the ids exactly as given."""


# -- pass 3: work environment ---------------------------------------------------------------
class EnvironmentAnswer(BaseModel):
    member_id: str = Field(description=_MEMBER_ID)
    equipment_needs: str = Field(description="Tools, software, vehicles or protective gear the role needs.")
    facility_needs: str = Field(description="Where the role works: office, site, lab, remote, and what that place needs.")


class EnvironmentAnswers(BaseModel):
    answers: list[EnvironmentAnswer] = Field(description="One answer per member of the roster.",
                                             json_schema_extra=bounded(MAX_MEMBERS, soft=True))


ENVIRONMENT_SYSTEM_PROMPT = """You plan the working conditions of each role of a project team.
For every member id in the roster say what equipment the role needs (tools, software,
vehicles, protective gear) and where it works (office, site, lab, remote) with what that place
must provide. Be specific to this project, since these needs become budget lines. Answer once
per member id, using the ids exactly as given."""


# -- the passes ----------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)  # eq=False: hashed by identity, as its task's functions are
class EnrichmentPass:
    """One pass over the roster: what it asks, the answer it takes, and the table of its file.

    `execute` and `to_markdown` are its task's stage functions (tasks/team.py); the merge joins
    each pass's answers to the roster by member id into the member's field named `field`."""

    field: str  # of EnrichedMember, and the name ReviewTeam reads this pass's answers by
    label: str  # of an answer the merge dropped
    answers: type[BaseModel]  # {answers: [one per member id]}
    system_prompt: str
    info: type[BaseModel]  # what the merged member holds: the answer less its member id
    default: BaseModel  # what a member nobody answered for holds, flagged `defaulted`
    title: str
    columns: tuple[str, ...]  # the table's columns after "Member"
    row: Callable[[Any], list[str]]  # one answer's cells after its member id

    def execute(self, llm: LLMExecutor, plan: str, team: str) -> BaseModel:
        return llm.structured(self.answers, self.system_prompt, user_prompt(plan=plan, team_members=team))

    def to_markdown(self, result: Any) -> str:
        rows = [[a.member_id, *self.row(a)] for a in result.answers]
        return document(self.title, table(["Member", *self.columns], rows))

    def info_of(self, answer: Any | None) -> BaseModel:
        return self.info(**answer.model_dump(exclude={"member_id"})) if answer is not None else self.default


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


CONTRACT_TYPE = EnrichmentPass(
    field="contract", label="contract type", answers=ContractTypeAnswers, system_prompt=CONTRACT_SYSTEM_PROMPT,
    info=ContractInfo, default=ContractInfo(contract_type="undecided", defaulted=True,
                                            justification="No answer was given for this role; decide when hiring."),
    title="Team Contract Types", columns=("Contract type", "Justification"),
    row=lambda a: [a.contract_type.replace("_", " "), a.justification])
BACKGROUND = EnrichmentPass(
    field="background", label="background", answers=BackgroundAnswers, system_prompt=BACKGROUND_SYSTEM_PROMPT,
    info=BackgroundInfo, default=BackgroundInfo(background_story="No profile was given for this role.", defaulted=True),
    title="Team Backgrounds", columns=("Background",), row=lambda a: [a.background_story])
ENVIRONMENT = EnrichmentPass(
    field="environment", label="environment", answers=EnvironmentAnswers, system_prompt=ENVIRONMENT_SYSTEM_PROMPT,
    info=EnvironmentInfo,
    default=EnvironmentInfo(equipment_needs="Not assessed.", facility_needs="Not assessed.", defaulted=True),
    title="Team Work Environment", columns=("Equipment", "Facilities"),
    row=lambda a: [a.equipment_needs, a.facility_needs])
PASSES = (CONTRACT_TYPE, BACKGROUND, ENVIRONMENT)


def merge_team(roster: TeamRoster, contract: ContractTypeAnswers, background: BackgroundAnswers,
               environment: EnvironmentAnswers) -> MergedTeam:
    answered = {"contract": contract, "background": background, "environment": environment}
    ids = [m.id for m in roster.members]
    found = {p.field: map_answers(ids, answered[p.field].answers, lambda a: a.member_id) for p in PASSES}
    members = [EnrichedMember(**m.model_dump(), **{p.field: p.info_of(found[p.field].get(m.id)) for p in PASSES})
               for m in roster.members]
    dropped = [f"{p.label}: {d}" for p in PASSES for d in found[p.field].dropped]
    return MergedTeam(members=members, dropped_answers=dropped)
