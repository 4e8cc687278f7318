"""SWOTAnalysis: strengths, weaknesses, opportunities and threats of the plan, and what follows."""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import bullets, user_prompt, document, heading

# Every SWOT list: a handful of one-sentence points (soft: a longer list keeps its first six).
POINTS = bounded(6, chars=200, soft=True)


class SWOT(BaseModel):
    strengths: list[str] = Field(description="Internal advantages the plan can build on.",
                                 json_schema_extra=POINTS)
    weaknesses: list[str] = Field(description="Internal gaps or limits that could hold it back.",
                                  json_schema_extra=POINTS)
    opportunities: list[str] = Field(description="Outside conditions the plan could exploit.",
                                     json_schema_extra=POINTS)
    threats: list[str] = Field(description="Outside conditions that could harm it.",
                               json_schema_extra=POINTS)
    recommendations: list[str] = Field(description="Actions that use strengths and opportunities against weaknesses and threats.",
                                       json_schema_extra=bounded(6, chars=240, soft=True))
    strategic_objectives: list[str] = Field(description="Specific, measurable, time-bound objectives that follow from the analysis.",
                                            json_schema_extra=POINTS)
    assumptions: list[str] = Field(description="What the analysis takes for granted.",
                                   json_schema_extra=POINTS)
    missing_information: list[str] = Field(description="Facts the analysis lacked and the planners should obtain.",
                                           json_schema_extra=POINTS)
    questions: list[str] = Field(description="Questions the planners should answer before committing.",
                                 json_schema_extra=POINTS)


SYSTEM_PROMPT = """You write the SWOT analysis of a project plan.
Fit the analysis to the plan's purpose: for a business plan weigh market and money, for a
personal plan the person's time, skills and wellbeing, for public or research work the
people served and the funders. Each item is one concrete sentence about this plan, never a
generic truth. Then turn the analysis into recommendations and measurable, dated objectives,
and list the assumptions, missing information and open questions."""


def execute(llm: LLMExecutor, *, plan: str, purpose: str, project_plan: str) -> SWOT:
    return llm.structured(SWOT, SYSTEM_PROMPT, user_prompt(plan=plan, purpose=purpose, project_plan=project_plan))


def to_markdown(result: SWOT) -> str:
    sections = [("Strengths", result.strengths), ("Weaknesses", result.weaknesses),
                ("Opportunities", result.opportunities), ("Threats", result.threats),
                ("Recommendations", result.recommendations), ("Strategic objectives", result.strategic_objectives),
                ("Assumptions", result.assumptions), ("Missing information", result.missing_information),
                ("Questions", result.questions)]
    blocks: list[str] = []
    for title, items in sections:
        blocks += [heading(title, 3), bullets(items)]
    return document("SWOT Analysis", *blocks)
