"""RelatedResources: earlier projects like this one, and what they teach."""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import bullets, user_prompt, document, heading, one_line, table


class SimilarProject(BaseModel):
    project_name: str = Field(description="Name of the project, or a short description of its kind when unsure of the name.")
    location_and_period: str = Field(description="Where and when it ran, e.g. 'Esbjerg, Denmark, 2019-2021'.")
    description: str = Field(description="What it did, in one or two sentences.", json_schema_extra=bounded(chars=300))
    success_factors: list[str] = Field(description="Two to four things that made it work, as lessons this plan can copy.",
                                       json_schema_extra=bounded(4, chars=200, soft=True))
    risks_and_lessons: list[str] = Field(description="Two to four things that went wrong or nearly did, as warnings for this plan.",
                                         json_schema_extra=bounded(4, chars=200, soft=True))
    relevance: str = Field(description="Why it matters for this plan in particular.")


class RelatedResourceList(BaseModel):
    similar_projects: list[SimilarProject] = Field(description="Three to five comparable projects, most relevant first.",
                                                   json_schema_extra=bounded(5, soft=True))
    sources_to_consult: list[str] = Field(json_schema_extra=bounded(6, chars=200, soft=True),
        description="Organisations, reports, databases or search terms that hold more evidence.")


SYSTEM_PROMPT = """You find earlier projects a planning team should learn from before they start.
Pick three to five projects that resemble this plan in scale, place or technology. Name a
project only when you are confident it exists; otherwise describe the kind of project instead
of inventing a name. For each, say what made it succeed, what went wrong, and why it is
relevant here. End with the sources the team should consult for more evidence."""


def execute(llm: LLMExecutor, plan: str, project_plan: str) -> RelatedResourceList:
    return llm.structured(RelatedResourceList, SYSTEM_PROMPT, user_prompt(plan=plan, project_plan=project_plan))


def to_markdown(result: RelatedResourceList) -> str:
    blocks: list[str] = []
    for index, project in enumerate(result.similar_projects, start=1):
        blocks += [
            heading(f"{index}. {project.project_name}", 3),
            table(["", ""], [["Where and when", project.location_and_period], ["Relevance", project.relevance]]),
            one_line(project.description),
            "**Success factors**\n\n" + bullets(project.success_factors),
            "**Risks and lessons**\n\n" + bullets(project.risks_and_lessons),
        ]
    return document("Related Resources", *blocks, heading("Sources to consult", 3), bullets(result.sources_to_consult))
