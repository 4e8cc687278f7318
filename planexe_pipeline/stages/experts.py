"""FindExperts: two independent queries for the kinds of expert who should criticise the plan,
merged into one list with ids E-1, E-2, ... by our code.

The experts are chosen for what the plan is about, from the plan alone; the SWOT analysis
directs their criticism, not who they are, so both start as soon as the plan exists.
Experts are described by their role ("Grid interconnection engineer"), never as named people;
that role title is the expert's name, and two queries naming the same role (up to case,
punctuation and spacing) yield one expert: the first one, in query order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import bullets, condensed_user_prompt, document, heading, one_line, table

EXPERTS_PER_QUERY = 4


@dataclass(frozen=True)
class QueryAngle:
    key: str
    focus: str


# Two angles so that the two calls do not propose the same kind of expert twice.
QUERY_ANGLES: tuple[QueryAngle, ...] = (
    QueryAngle("technical", "Technical and domain experts: the people who know how the thing is built, "
                            "operated and maintained, and where such projects fail in practice."),
    QueryAngle("business", "Business, regulatory and community experts: the people who know the money, "
                           "the permits and laws, the market, and the stakeholders affected."),
)


class ExpertCandidate(BaseModel):
    expert_title: str = Field(description="The expert's role, e.g. 'Danish grid interconnection engineer'; not a person's name.")
    expertise: str = Field(description="What this expert knows that the plan needs.")
    why_relevant: str = Field(description="Which part of this plan the expert should examine, and why.")
    questions_to_ask: list[str] = Field(description="Two or three questions to put to the expert.",
                                        json_schema_extra=bounded(3, chars=240, soft=True))
    how_to_find: str = Field(description="Where such an expert can be found: associations, firms, universities, search terms.")


class ExpertCandidates(BaseModel):
    experts: list[ExpertCandidate] = Field(
        description="Experts with different specialities, most useful first.",
        json_schema_extra=bounded(EXPERTS_PER_QUERY, width="experts_per_query", soft=True),
    )


class ExpertQueryResult(BaseModel):
    angle: str = Field(description="Key of the query angle that produced these experts.")
    experts: list[ExpertCandidate]


class Expert(ExpertCandidate):
    id: str = Field(description="Expert id assigned by the pipeline, E-1, E-2, ...")
    angle: str = Field(description="Key of the query angle that found this expert.")


class ExpertList(BaseModel):
    experts: list[Expert]
    duplicates_removed: list[str] = Field(default_factory=list, description="Titles dropped as repeats of an earlier expert.")


SYSTEM_PROMPT = """You choose the experts who should criticise a project plan before it is approved.
Stay within the focus given: propose experts of that kind only, each with a different
speciality that this plan really needs. Describe each by role and speciality, never by a
person's name. Say what they know, which part of the plan they should examine, what to ask
them, and where such a person can be found."""


def execute(llm: LLMExecutor, angle: QueryAngle, *, plan: str, project_plan: str) -> ExpertQueryResult:
    prompt = condensed_user_prompt(plan=plan, project_plan=project_plan, tail={"focus": angle.focus})
    found = llm.structured(ExpertCandidates, SYSTEM_PROMPT, prompt)
    return ExpertQueryResult(angle=angle.key, experts=found.experts)


def normalise_name(name: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", name.lower()).split())


def merge_experts(results: list[ExpertQueryResult]) -> ExpertList:
    """Every query's experts in query order, repeats dropped, numbered E-1, E-2, ..."""
    seen: set[str] = set()
    experts: list[Expert] = []
    duplicates: list[str] = []
    for result in results:
        for candidate in result.experts:
            key = normalise_name(candidate.expert_title)
            if key in seen:
                duplicates.append(candidate.expert_title)
                continue
            seen.add(key)
            experts.append(Expert(id=f"E-{len(experts) + 1}", angle=result.angle, **candidate.model_dump()))
    return ExpertList(experts=experts, duplicates_removed=duplicates)


def to_markdown(result: ExpertList) -> str:
    blocks: list[str] = [table(["Id", "Expert", "Angle"], [[e.id, e.expert_title, e.angle] for e in result.experts])]
    for e in result.experts:
        blocks += [heading(f"{e.id} {e.expert_title}", 3),
                   table(["", ""], [["Expertise", e.expertise], ["Why", e.why_relevant], ["How to find", e.how_to_find]]),
                   "**Questions to ask**\n\n" + bullets(e.questions_to_ask)]
    if result.duplicates_removed:
        blocks.append("Repeats left out: " + one_line("; ".join(result.duplicates_removed)))
    return document("Experts", *blocks)
