"""SWOTAnalysis: strengths, weaknesses, opportunities and threats of the plan, and what follows."""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import bullets, context, document, heading


class SWOT(BaseModel):
    strengths: list[str] = Field(json_schema_extra=bounded(6, chars=200, soft=True), description="Internal advantages the plan can build on.")
    weaknesses: list[str] = Field(json_schema_extra=bounded(6, chars=200, soft=True), description="Internal gaps or limits that could hold it back.")
    opportunities: list[str] = Field(json_schema_extra=bounded(6, chars=200, soft=True), description="Outside conditions the plan could exploit.")
    threats: list[str] = Field(json_schema_extra=bounded(6, chars=200, soft=True), description="Outside conditions that could harm it.")
    recommendations: list[str] = Field(json_schema_extra=bounded(6, chars=240, soft=True), description="Actions that use strengths and opportunities against weaknesses and threats.")
    strategic_objectives: list[str] = Field(json_schema_extra=bounded(6, chars=200, soft=True), description="Specific, measurable, time-bound objectives that follow from the analysis.")
    assumptions: list[str] = Field(json_schema_extra=bounded(6, chars=200, soft=True), description="What the analysis takes for granted.")
    missing_information: list[str] = Field(json_schema_extra=bounded(6, chars=200, soft=True), description="Facts the analysis lacked and the planners should obtain.")
    questions: list[str] = Field(json_schema_extra=bounded(6, chars=200, soft=True), description="Questions the planners should answer before committing.")


SYSTEM_PROMPT = """You write the SWOT analysis of a project plan.
Fit the analysis to the plan's purpose: for a business plan weigh market and money, for a
personal plan the person's time, skills and wellbeing, for public or research work the
people served and the funders. Each item is one concrete sentence about this plan, never a
generic truth. Then turn the analysis into recommendations and measurable, dated objectives,
and list the assumptions, missing information and open questions."""


def execute(llm: LLMExecutor, *, plan: str, purpose: str, project_plan: str) -> SWOT:
    return llm.structured(SWOT, SYSTEM_PROMPT, context(plan=plan, purpose=purpose, project_plan=project_plan))


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
