"""CreatePitch and PitchMarkdown: the case for the project, first as content, then as prose.

Two calls on purpose: the first decides what the pitch says (audience, benefits, proof
points, the ask) from the plan and its work breakdown; the second only rewrites that content
into a section a sponsor reads in two minutes, so its prompt is small and its output stable.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import FEWEST_ITEMS, NAME_CHARS, bounded
from planexe_pipeline.stages.markdown import bullets, condensed_context, context, document, heading, one_line, table


class StakeholderBenefit(BaseModel):
    stakeholder: str = Field(description="Who gains, e.g. 'local municipality' or 'first customers'.")
    benefit: str = Field(description="What they gain, concretely, in one sentence.")


class Pitch(BaseModel):
    pitch_title: str = Field(description="A short, memorable name for the pitch (under ten words).",
                             json_schema_extra=bounded(chars=NAME_CHARS))
    elevator_pitch: str = Field(description="Three to five sentences: the problem, the project, why now, the ask.")
    target_audience: str = Field(description="Who the pitch is for: funders, partners, the public, decision makers.")
    stakeholder_benefits: list[StakeholderBenefit] = Field(description="Two to five stakeholders and what each gains.",
                                                           json_schema_extra=bounded(5, soft=True))
    proof_points: list[str] = Field(description="Facts from the plan that make it credible: milestones, team, assets.",
                                    json_schema_extra=bounded(6, chars=240, soft=True))
    risks_acknowledged: list[str] = Field(description="The two or three risks a sceptic raises first, each with the answer.",
                                          json_schema_extra=bounded(FEWEST_ITEMS, chars=240, soft=True))
    success_metrics: list[str] = Field(description="How backers will know it worked: measurable outcomes with a date.",
                                       json_schema_extra=bounded(FEWEST_ITEMS, chars=200, soft=True))
    call_to_action: str = Field(description="The one thing the audience is asked to do next, in one sentence.")


SYSTEM_PROMPT = """You write the pitch for a project whose plan is already drafted.
Use only what the plan, its related resources and its work breakdown say: no invented figures.
Name the audience, say plainly what problem is solved and for whom, give the proof points that
make the plan credible (milestones, team, existing assets), face the obvious risks honestly,
and end with one concrete request. Keep sentences short; avoid hype words."""


def execute(llm: LLMExecutor, *, plan: str, project_plan: str, related_resources: str, wbs: str) -> Pitch:
    user = condensed_context(plan=plan, project_plan=project_plan, related_resources=related_resources,
                             work_breakdown=wbs)
    return llm.structured(Pitch, SYSTEM_PROMPT, user)


def to_markdown(pitch: Pitch) -> str:
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


class PitchParagraph(BaseModel):
    heading: str = Field(description="A short sub-heading for this part of the pitch (two to six words).")
    paragraph_text: str = Field(description="One paragraph of plain prose, three to five sentences, no lists.")


class PolishedPitch(BaseModel):
    headline: str = Field(description="One line that makes a busy reader keep reading.")
    opening_summary: str = Field(description="Two or three sentences: what the project is and why it matters now.")
    paragraphs: list[PitchParagraph] = Field(json_schema_extra=bounded(5, soft=True),
        description="Three to five paragraphs in reading order: the need, the solution, the proof, the ask.")
    closing_call_to_action: str = Field(description="The final sentence: the request, addressed to the reader.")


POLISH_SYSTEM_PROMPT = """You are an editor turning pitch notes into a polished section of a plan document.
Keep every fact, number and name of the notes and add none; drop repetition.
Write flowing paragraphs in the active voice, each under its own short sub-heading,
so a sponsor can read the whole pitch in two minutes and knows what is asked of them."""


def polish(llm: LLMExecutor, *, pitch_notes: str) -> PolishedPitch:
    return llm.structured(PolishedPitch, POLISH_SYSTEM_PROMPT, context(pitch_notes=pitch_notes))


def polished_to_markdown(pitch: PolishedPitch) -> str:
    blocks = [f"**{one_line(pitch.headline)}**", one_line(pitch.opening_summary)]
    for part in pitch.paragraphs:
        blocks += [heading(part.heading, 3), one_line(part.paragraph_text)]
    blocks.append(f"_{one_line(pitch.closing_call_to_action)}_")
    return document("Pitch", *blocks)
