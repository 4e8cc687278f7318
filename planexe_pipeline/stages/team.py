"""FindTeamMembers: the roles the plan needs, each given an id (M-1, M-2, ...) by our code."""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import user_prompt, document, table

MAX_MEMBERS = 6


class TeamRoleDraft(BaseModel):
    job_category_title: str = Field(description="The role, e.g. 'Grid Connection Engineer' or 'Community Liaison'.")
    short_explanation: str = Field(description="Why the plan needs this role, in one or two sentences.",
                                   json_schema_extra=bounded(chars=300))
    people_needed: int = Field(ge=1, description="How many people fill this role at the busiest time.")
    consequences_of_not_having: str = Field(description="What goes wrong if nobody fills the role.")


class TeamRoleDrafts(BaseModel):
    roles: list[TeamRoleDraft] = Field(
        description="The roles, most critical first; no two roles with the same job.",
        json_schema_extra=bounded(MAX_MEMBERS, width="team_members", soft=True),
    )


class TeamMember(TeamRoleDraft):
    id: str = Field(description="Member id assigned by the pipeline, M-1, M-2, ... in list order.")


class TeamRoster(BaseModel):
    members: list[TeamMember] = Field(description="The roles found, in the order the model gave them.")


SYSTEM_PROMPT = """You staff a project plan. From the plan, list the roles
the project cannot succeed without: those that lead, build, approve, fund, and talk to the
people affected. Use job categories, not names of people. Say how many people each role needs,
why it is needed, and what goes wrong without it. Size the team to the project: a one-person
venture needs a few roles, a public infrastructure project many."""


def member_id(position: int) -> str:
    return f"M-{position + 1}"


def execute(llm: LLMExecutor, *, plan: str, project_plan: str) -> TeamRoster:
    prompt = user_prompt(plan=plan, project_plan=project_plan)
    drafts = llm.structured(TeamRoleDrafts, SYSTEM_PROMPT, prompt)
    return TeamRoster(members=[TeamMember(id=member_id(i), **role.model_dump()) for i, role in enumerate(drafts.roles)])


def to_markdown(result: TeamRoster) -> str:
    rows = [[m.id, m.job_category_title, m.people_needed, m.short_explanation, m.consequences_of_not_having]
            for m in result.members]
    return document("Team Members", table(["Id", "Role", "People", "Why needed", "Without it"], rows))
