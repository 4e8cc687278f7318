"""Team: related projects, the roster, three independent enrichment passes, review, chapter.

The three passes each read only the roster, so they run at the same time; ReviewTeam joins
their answers to the roster by member id with our own code before the review call.
"""

from __future__ import annotations

from planexe_pipeline.stages import related_resources, team, team_enrichment, team_review
from planexe_pipeline.tasks.base import LLMTask, PlanTask
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import Setup

__all__ = ["RelatedResources", "FindTeamMembers", "EnrichContractType", "EnrichBackground", "EnrichEnvironment",
           "ReviewTeam", "TeamMarkdown"]


class RelatedResources(LLMTask):
    group = "team"
    files = {"json": "028-related_resources.json", "md": "028-related_resources.md"}

    def requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan)}

    def run(self):
        result = related_resources.execute(self.executor(), self.input_text("setup", "plan"),
                                           self.input_text("project_plan"))
        self.write_stage(result, related_resources.to_markdown(result))


class FindTeamMembers(LLMTask):
    group = "team"
    files = {"json": "029-find_team_members.json", "md": "029-find_team_members.md"}

    def requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan),
                "related_resources": self.clone(RelatedResources)}

    def run(self):
        result = team.execute(self.executor(), self.input_text("setup", "plan"), self.input_text("project_plan"),
                              self.input_text("related_resources"))
        self.write_stage(result, team.to_markdown(result))


class EnrichContractType(LLMTask):
    group = "team"
    files = {"json": "030-enrich_team_contract_type.json", "md": "030-enrich_team_contract_type.md"}

    def requires(self):
        return {"setup": self.clone(Setup), "team": self.clone(FindTeamMembers)}

    def run(self):
        result = team_enrichment.execute_contract_type(self.executor(), self.input_text("setup", "plan"),
                                                       self.input_text("team"))
        self.write_stage(result, team_enrichment.contract_type_to_markdown(result))


class EnrichBackground(LLMTask):
    group = "team"
    files = {"json": "031-enrich_team_background.json", "md": "031-enrich_team_background.md"}

    def requires(self):
        return {"setup": self.clone(Setup), "team": self.clone(FindTeamMembers)}

    def run(self):
        result = team_enrichment.execute_background(self.executor(), self.input_text("setup", "plan"),
                                                    self.input_text("team"))
        self.write_stage(result, team_enrichment.background_to_markdown(result))


class EnrichEnvironment(LLMTask):
    group = "team"
    files = {"json": "032-enrich_team_environment.json", "md": "032-enrich_team_environment.md"}

    def requires(self):
        return {"setup": self.clone(Setup), "team": self.clone(FindTeamMembers)}

    def run(self):
        result = team_enrichment.execute_environment(self.executor(), self.input_text("setup", "plan"),
                                                     self.input_text("team"))
        self.write_stage(result, team_enrichment.environment_to_markdown(result))


class ReviewTeam(LLMTask):
    group = "team"
    files = {"json": "033-review_team.json", "md": "033-review_team.md"}

    def requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan),
                "team": self.clone(FindTeamMembers), "contract_type": self.clone(EnrichContractType),
                "background": self.clone(EnrichBackground), "environment": self.clone(EnrichEnvironment)}

    def run(self):
        merged = team_enrichment.merge_team(
            self.input_model("team", team.TeamRoster),
            self.input_model("contract_type", team_enrichment.ContractTypeAnswers),
            self.input_model("background", team_enrichment.BackgroundAnswers),
            self.input_model("environment", team_enrichment.EnvironmentAnswers),
        )
        result = team_review.execute(self.executor(), self.input_text("setup", "plan"),
                                     self.input_text("project_plan"), merged)
        self.write_stage(result, team_review.to_markdown(result))


class TeamMarkdown(PlanTask):
    group = "team"
    files = {"md": "034-team.md"}

    def requires(self):
        return {"review": self.clone(ReviewTeam)}

    def run(self):
        self.write_text("md", team_review.team_markdown(self.input_model("review", team_review.ReviewedTeam)))
