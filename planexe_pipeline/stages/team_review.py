"""ReviewTeam: the merged team reviewed for gaps; and the team chapter rendered from it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import user_prompt, document, heading, one_line, table
from planexe_pipeline.stages.team import TeamRoster
from planexe_pipeline.stages.team_enrichment import (BackgroundAnswers, ContractTypeAnswers, EnrichedMember,
                                                     EnvironmentAnswers, MergedTeam, merge_team)


class TeamFinding(BaseModel):
    issue: str = Field(description="What is missing or could be better, in one sentence.")
    recommendation: str = Field(description="The concrete change to the team.")


class TeamReviewFindings(BaseModel):
    summary: str = Field(description="Two or three sentences: can this team deliver the plan, and its biggest gap.")
    omissions: list[TeamFinding] = Field(description="Two to four roles, skills or responsibilities the plan needs and the team lacks.",
                                         json_schema_extra=bounded(4, soft=True))
    potential_improvements: list[TeamFinding] = Field(json_schema_extra=bounded(4, soft=True),
        description="Two to four changes to existing roles: merge, split, contract type, headcount, location.")


class ReviewedTeam(BaseModel):
    team: MergedTeam = Field(description="The roster with the three enrichment passes merged by member id.")
    review: TeamReviewFindings


SYSTEM_PROMPT = """You review the proposed team of a project plan before anyone is hired.
Compare the roles, contract types, profiles and working conditions with what the plan must
deliver. Point out omissions (a skill, approval or stakeholder nobody covers) and improvements
to existing roles (merge overlapping ones, change a contract type, adjust headcount), each with
a concrete recommendation. Refer to members by their ids. Keep the summary short."""


def member_rows(team: MergedTeam) -> list[list[object]]:
    return [[m.id, m.job_category_title, m.people_needed, m.contract.contract_type.replace("_", " "),
             m.background.background_story, m.environment.equipment_needs, m.environment.facility_needs]
            for m in team.members]


def team_table(team: MergedTeam) -> str:
    return table(["Id", "Role", "People", "Contract", "Background", "Equipment", "Facilities"], member_rows(team))


def execute(llm: LLMExecutor, *, plan: str, project_plan: str, roster: TeamRoster, contract: ContractTypeAnswers,
            background: BackgroundAnswers, environment: EnvironmentAnswers) -> ReviewedTeam:
    """The three enrichment passes joined to the roster by member id (our code), then reviewed."""
    team = merge_team(roster, contract, background, environment)
    prompt = user_prompt(plan=plan, project_plan=project_plan, proposed_team=team_table(team))
    findings = llm.structured(TeamReviewFindings, SYSTEM_PROMPT, prompt)
    return ReviewedTeam(team=team, review=findings)


def _findings_table(findings: list[TeamFinding]) -> str:
    return table(["Issue", "Recommendation"], [[f.issue, f.recommendation] for f in findings])


def review_blocks(review: TeamReviewFindings, level: int) -> list[str]:
    return [one_line(review.summary),
            heading("Omissions", level), _findings_table(review.omissions),
            heading("Potential improvements", level), _findings_table(review.potential_improvements)]


def to_markdown(result: ReviewedTeam) -> str:
    """ReviewTeam's section: the review itself, with the merged team as a table it refers to."""
    return document("Team Review", *review_blocks(result.review, 3), heading("Team reviewed", 3), team_table(result.team))


def _member_section(m: EnrichedMember) -> list[str]:
    def flagged(text: str, defaulted: bool) -> str:
        return f"{one_line(text)} _(default: no answer was given)_" if defaulted else one_line(text)

    rows = [["People needed", m.people_needed],
            ["Contract type", flagged(m.contract.contract_type.replace("_", " "), m.contract.defaulted)],
            ["Why this contract", m.contract.justification],
            ["Equipment", flagged(m.environment.equipment_needs, m.environment.defaulted)],
            ["Facilities", m.environment.facility_needs],
            ["Without this role", m.consequences_of_not_having]]
    return [heading(f"{m.id} {m.job_category_title}", 3), one_line(m.short_explanation), table(["", ""], rows),
            "**Background:** " + flagged(m.background.background_story, m.background.defaulted)]


def team_markdown(reviewed: ReviewedTeam) -> str:
    """TeamMarkdown's file: the team chapter of the plan, one section per member, then the review."""
    blocks: list[str] = []
    for member in reviewed.team.members:
        blocks += _member_section(member)
    return document("Team", *blocks, heading("Review", 3), *review_blocks(reviewed.review, 4))
