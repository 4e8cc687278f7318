"""Team: related projects, the roster, three independent enrichment passes, review, chapter.

The roster and the related projects both start from the project plan, side by side; the three
passes each read only the roster, so they run at the same time; the review joins their answers
to the roster by member id with our own code before its call.
"""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import related_resources, team, team_enrichment, team_review
from planexe_pipeline.tasks.base import LLMStage, MarkdownStage
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import IDEA

__all__ = ["RelatedResources", "FindTeamMembers", "EnrichContractType", "EnrichBackground", "EnrichEnvironment",
           "ReviewTeam", "TeamMarkdown"]


class RelatedResources(LLMStage):
    number, stem = 31, "related_resources"
    section = Section("related-resources", "Related resources", position=115)
    inputs = {"plan": IDEA, "project_plan": Input(ProjectPlan, "what the project does, to find projects like it")}
    execute, to_markdown = related_resources.execute, related_resources.to_markdown


class FindTeamMembers(LLMStage):
    number, stem = 32, "find_team_members"
    inputs = {"plan": IDEA, "project_plan": Input(ProjectPlan, "the work the team must deliver")}
    execute, to_markdown = team.execute, team.to_markdown


# Each enrichment pass reads the roster alone, so the three run at the same time.
ROSTER_TEXT = Input(FindTeamMembers, "the roles to describe, by member id")


class EnrichContractType(LLMStage):
    number, stem = 33, "enrich_team_contract_type"
    inputs = {"plan": IDEA, "team": ROSTER_TEXT}
    execute, to_markdown = team_enrichment.CONTRACT_TYPE.execute, team_enrichment.CONTRACT_TYPE.to_markdown
    answer = team_enrichment.CONTRACT_TYPE.answers  # one pass's function answers for all three


class EnrichBackground(LLMStage):
    number, stem = 34, "enrich_team_background"
    inputs = {"plan": IDEA, "team": ROSTER_TEXT}
    execute, to_markdown = team_enrichment.BACKGROUND.execute, team_enrichment.BACKGROUND.to_markdown
    answer = team_enrichment.BACKGROUND.answers  # one pass's function answers for all three


class EnrichEnvironment(LLMStage):
    number, stem = 35, "enrich_team_environment"
    inputs = {"plan": IDEA, "team": ROSTER_TEXT}
    execute, to_markdown = team_enrichment.ENVIRONMENT.execute, team_enrichment.ENVIRONMENT.to_markdown
    answer = team_enrichment.ENVIRONMENT.answers  # one pass's function answers for all three


class ReviewTeam(LLMStage):
    number, stem = 36, "review_team"
    inputs = {"plan": IDEA, "project_plan": Input(ProjectPlan, "what the team must deliver"),
              "roster": Input(FindTeamMembers, "the roles, joined with the passes by member id"),
              "contract": Input(EnrichContractType, "each member's contract type"),
              "background": Input(EnrichBackground, "each member's profile"),
              "environment": Input(EnrichEnvironment, "each member's equipment and facilities")}
    execute, to_markdown = team_review.execute, team_review.to_markdown


class TeamMarkdown(MarkdownStage):
    number, stem = 37, "team"
    section = Section("team", "Team", position=90)
    inputs = {"reviewed": Input(ReviewTeam, "the reviewed team, one section per member")}
    execute = team_review.team_markdown
