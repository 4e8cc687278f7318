"""Pitch: the case for the project, for a sponsor who reads it in two minutes.

One call decides what the pitch says (audience, benefits, proof points, risks, the ask) from the
idea and the project plan; our code lays it out as the section. Rewriting the same content into
prose would be a second call on the way to the review and the summary, and add nothing they read.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import NAME_CHARS, bounded
from planexe_pipeline.stages.markdown import bullets, condensed_user_prompt, document, heading, one_line, table


class StakeholderBenefit(BaseModel):
    stakeholder: str = Field(description="Who gains, e.g. 'local municipality' or 'first customers'.")
    benefit: str = Field(description="What they gain, concretely, in one sentence.")


class PitchAnswer(BaseModel):
    model_config = ConfigDict(title="Pitch")  # the name models know it by

    pitch_title: str = Field(description="A short, memorable name for the pitch (under ten words).",
                             json_schema_extra=bounded(chars=NAME_CHARS))
    elevator_pitch: str = Field(description="Three to five sentences: the problem, the project, why now, the ask.")
    target_audience: str = Field(description="Who the pitch is for: funders, partners, the public, decision makers.")
    stakeholder_benefits: list[StakeholderBenefit] = Field(description="Two to five stakeholders and what each gains.",
                                                           json_schema_extra=bounded(5, soft=True))
    proof_points: list[str] = Field(description="Facts from the plan that make it credible: milestones, team, assets.",
                                    json_schema_extra=bounded(6, chars=240, soft=True))
    risks_acknowledged: list[str] = Field(description="The two or three risks a sceptic raises first, each with the answer.",
                                          json_schema_extra=bounded(3, chars=240, soft=True))
    success_metrics: list[str] = Field(description="Three to five ways backers will know it worked: measurable outcomes with a date.",
                                       json_schema_extra=bounded(5, chars=200, soft=True))
    call_to_action: str = Field(description="The one thing the audience is asked to do next, in one sentence.")


SYSTEM_PROMPT = """You write the pitch for a project whose plan is already drafted.
Use only what the idea and its project plan say: no invented figures.
Name the audience, say plainly what problem is solved and for whom, give the proof points that
make the plan credible (milestones, team, existing assets), face the obvious risks honestly,
and end with one concrete request. Keep sentences short; avoid hype words."""


def execute(llm: LLMExecutor, *, plan: str, project_plan: str) -> PitchAnswer:
    user = condensed_user_prompt(plan=plan, project_plan=project_plan)
    return llm.structured(PitchAnswer, SYSTEM_PROMPT, user)


def to_markdown(pitch: PitchAnswer) -> str:
    return document(
        f"Pitch: {one_line(pitch.pitch_title)}",
        one_line(pitch.elevator_pitch),
        f"**Audience:** {one_line(pitch.target_audience)}",
        heading("Who benefits", 3),
        table(["Stakeholder", "Benefit"], [[b.stakeholder, b.benefit] for b in pitch.stakeholder_benefits]),
        heading("Why it is credible", 3),
        bullets(pitch.proof_points),
        heading("Risks we acknowledge", 3),
        bullets(pitch.risks_acknowledged),
        heading("How success is measured", 3),
        bullets(pitch.success_metrics),
        f"**The ask:** {one_line(pitch.call_to_action)}",
    )
