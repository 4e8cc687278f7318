"""PhysicalLocations: where the plan happens, with candidate sites and what each needs.

A digital plan that lists no physical need gets no LLM call; the section says it needs no site.
A "digital" plan that still lists physical needs (an office, a server room) is located like any other.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import bullets, user_prompt, document, heading, table
from planexe_pipeline.stages.plan_type import PlanTypeDecision


class CandidateLocation(BaseModel):
    name: str = Field(description="Short name of the site or area.")
    country: str = Field(description="The country.", json_schema_extra=bounded(chars=60))
    city_or_region: str = Field(description="City, region or address as precise as the plan allows.")
    rationale: str = Field(description="Why this place suits the plan: access, cost, rules, people.")
    considerations: str = Field(description="Permits, costs or drawbacks to check before committing.")


class LocationAnswer(BaseModel):
    location_requirements: list[str] = Field(description="What any site must offer: space, power, access, zoning, staff.",
                                             json_schema_extra=bounded(6, chars=200, soft=True))
    candidates: list[CandidateLocation] = Field(description="Three candidate locations, the most suitable first.",
                                                json_schema_extra=bounded(3, soft=True))
    summary: str = Field(description="Two sentences on where the plan should happen and why.")


class PhysicalLocationsAnswer(BaseModel):
    model_config = ConfigDict(title="PhysicalLocations")  # the name models know it by

    needs_physical_site: bool
    location_requirements: list[str]
    candidates: list[CandidateLocation]
    summary: str


SYSTEM_PROMPT = """You find where a project should physically take place.
If the plan names a place, respect it and make it precise; otherwise suggest places that fit.
State what any site must offer, then give three candidate locations (country, city or region)
with the reason each fits and what must be checked (permits, costs, access, local rules).
Keep to places that really exist and suit the idea."""


def execute(llm: LLMExecutor, plan: str, plan_type: PlanTypeDecision) -> PhysicalLocationsAnswer:
    if plan_type.plan_type == "digital" and not any(need.strip() for need in plan_type.physical_needs):
        return PhysicalLocationsAnswer(needs_physical_site=False, location_requirements=[], candidates=[],
                                 summary="The plan is digital; it needs no physical site. " + plan_type.reasoning)
    answer = llm.structured(LocationAnswer, SYSTEM_PROMPT, user_prompt(plan=plan, plan_type=plan_type.reasoning))
    return PhysicalLocationsAnswer(needs_physical_site=True, **answer.model_dump())


def to_markdown(result: PhysicalLocationsAnswer) -> str:
    if not result.needs_physical_site:
        return document("Physical Locations", result.summary)
    rows = [[c.name, c.country, c.city_or_region, c.rationale, c.considerations] for c in result.candidates]
    return document(
        "Physical Locations",
        result.summary,
        heading("Requirements", 3) + "\n\n" + bullets(result.location_requirements),
        heading("Candidate locations", 3) + "\n\n" + table(["Location", "Country", "Where", "Why", "To check"], rows),
    )
