"""Team: related projects, the roster, three independent enrichment passes, review, chapter.

The three passes each read only the roster, so they run at the same time; ReviewTeam joins
their answers to the roster by member id with our own code before the review call.
"""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import related_resources, team, team_enrichment, team_review
from planexe_pipeline.tasks.base import LLMTask, PlanTask
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import Setup

__all__ = ["RelatedResources", "FindTeamMembers", "EnrichContractType", "EnrichBackground", "EnrichEnvironment",
           "ReviewTeam", "TeamMarkdown"]


class RelatedResources(LLMTask):
    group = "team"
    number, stem = 28, "related_resources"

    def requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan)}

    def run(self):
        result = related_resources.execute(self.executor(), self.input_text("setup", "plan"),
                                           self.input_text("project_plan"))
        self.write_stage(result, related_resources.to_markdown(result))


class FindTeamMembers(LLMTask):
    group = "team"
    number, stem = 29, "find_team_members"

    def requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan),
                "related_resources": self.clone(RelatedResources)}

    def run(self):
        result = team.execute(self.executor(), plan=self.input_text("setup", "plan"),
                              project_plan=self.input_text("project_plan"),
                              related_resources=self.input_text("related_resources"))
        self.write_stage(result, team.to_markdown(result))


class EnrichContractType(LLMTask):
    group = "team"
    number, stem = 30, "enrich_team_contract_type"

    def requires(self):
        return {"setup": self.clone(Setup), "team": self.clone(FindTeamMembers)}

    def run(self):
        result = team_enrichment.execute_contract_type(self.executor(), self.input_text("setup", "plan"),
                                                       self.input_text("team"))
        self.write_stage(result, team_enrichment.contract_type_to_markdown(result))


class EnrichBackground(LLMTask):
    group = "team"
    number, stem = 31, "enrich_team_background"

    def requires(self):
        return {"setup": self.clone(Setup), "team": self.clone(FindTeamMembers)}

    def run(self):
        result = team_enrichment.execute_background(self.executor(), self.input_text("setup", "plan"),
                                                    self.input_text("team"))
        self.write_stage(result, team_enrichment.background_to_markdown(result))


class EnrichEnvironment(LLMTask):
    group = "team"
    number, stem = 32, "enrich_team_environment"

    def requires(self):
        return {"setup": self.clone(Setup), "team": self.clone(FindTeamMembers)}

    def run(self):
        result = team_enrichment.execute_environment(self.executor(), self.input_text("setup", "plan"),
                                                     self.input_text("team"))
        self.write_stage(result, team_enrichment.environment_to_markdown(result))


class ReviewTeam(LLMTask):
    group = "team"
    number, stem = 33, "review_team"

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
    number, stem, kinds = 34, "team", ("md",)
    section = Section("team", "Team", position=90)

    def requires(self):
        return {"review": self.clone(ReviewTeam)}

    def run(self):
        self.write_text("md", team_review.team_markdown(self.input_model("review", team_review.ReviewedTeam)))
