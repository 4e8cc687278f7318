"""DataCollection: what data the plan rests on, how to get it, and how to check it.

An outline call picks the data areas from everything the plan knows (the project plan,
comparable projects, the SWOT analysis, the team and the experts' criticism); then one call per
area, all at the same time, says what to collect, where from, how to estimate it meanwhile, who
validates it and who owns it. The merge keeps the outline's order.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import bullets, condensed_user_prompt, document, heading, one_line, table


class DataAreaHeading(BaseModel):
    title: str = Field(description="The subject, e.g. 'Grid connection capacity' or 'Local demand'.")
    rationale: str = Field(description="Which decision in the plan depends on this data.",
                           json_schema_extra=bounded(chars=300))


class DataCollectionOutlineAnswer(BaseModel):
    model_config = ConfigDict(title="DataCollectionOutline")  # the name models know it by

    areas: list[DataAreaHeading] = Field(description="Four to seven data areas, most decision-critical first.",
                                         json_schema_extra=bounded(7, soft=True))
    summary: str = Field(description="Two or three sentences: the data the plan most urgently lacks.")


class DataAreaWork(BaseModel):
    data_to_collect: list[str] = Field(description="Three to five specific figures or facts needed.",
                                       json_schema_extra=bounded(5, chars=160, soft=True))
    sources: list[str] = Field(description="Two to four sources they come from: agencies, surveys, suppliers, measurements.",
                               json_schema_extra=bounded(4, chars=160, soft=True))
    simulation_steps: list[str] = Field(description="Two to four steps to estimate the data before the real figures arrive, with the tools used.",
                                        json_schema_extra=bounded(4, chars=200, soft=True))
    expert_validation_steps: list[str] = Field(description="One to three checks: which expert or team role checks the data, and how.",
                                               json_schema_extra=bounded(3, chars=200, soft=True))
    responsible_role: str = Field(description="The team role that owns collecting it.")


class DataArea(DataAreaWork, DataAreaHeading):
    """An area as the plan shows it: its heading from the outline, its work from its own call."""


class DataCollectionPlan(BaseModel):
    areas: list[DataArea]
    summary: str


OUTLINE_SYSTEM_PROMPT = """You plan the data collection a project needs before its work is broken down.
From the plan, comparable projects, the SWOT analysis, the team and the experts' criticism,
pick the data areas that decisions depend on, most decision-critical first, and say which
decision each one serves. Prefer the gaps the experts and the SWOT raised over data the plan
already has. Others will then plan the collection of each area."""

AREA_SYSTEM_PROMPT = """You plan the collection of one area of data a project depends on.
List the figures to collect and their sources, how to estimate them by simulation or desk
research until real data arrives, how an expert or team role validates them, and which role of
the team owns the work. Be specific to this plan and this area."""


def execute_outline(llm: LLMExecutor, *, project_plan: str, related_resources: str, swot: str, team: str,
                    expert_review: str) -> DataCollectionOutlineAnswer:
    prompt = condensed_user_prompt(project_plan=project_plan, related_resources=related_resources, swot_analysis=swot,
                               team=team, expert_review=expert_review)
    return llm.structured(DataCollectionOutlineAnswer, OUTLINE_SYSTEM_PROMPT, prompt)


def outline_to_markdown(outline: DataCollectionOutlineAnswer) -> str:
    return document("Data Collection: areas", one_line(outline.summary),
                    table(["Area", "Why"], [[a.title, a.rationale] for a in outline.areas]))


def execute_area(llm: LLMExecutor, area: DataAreaHeading, *, project_plan: str, team: str) -> DataArea:
    prompt = condensed_user_prompt(project_plan=project_plan, team=team,
                               tail={"data_area": f"{one_line(area.title)}: {one_line(area.rationale)}"})
    work = llm.structured(DataAreaWork, AREA_SYSTEM_PROMPT, prompt)
    return DataArea(**area.model_dump(), **work.model_dump())


def merge(areas: list[DataArea], outline: DataCollectionOutlineAnswer) -> DataCollectionPlan:
    return DataCollectionPlan(areas=areas, summary=outline.summary)


def to_markdown(result: DataCollectionPlan) -> str:
    blocks: list[str] = [one_line(result.summary)]
    for index, area in enumerate(result.areas, start=1):
        blocks += [heading(f"{index}. {area.title}", 3),
                   table(["", ""], [["Why", area.rationale], ["Owner", area.responsible_role]]),
                   "**Data to collect**\n\n" + bullets(area.data_to_collect),
                   "**Sources**\n\n" + bullets(area.sources),
                   "**Simulation steps**\n\n" + bullets(area.simulation_steps),
                   "**Expert validation**\n\n" + bullets(area.expert_validation_steps)]
    return document("Data Collection", *blocks)
