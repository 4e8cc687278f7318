"""EnrichLevers: what is at stake in each kept lever, and how it interacts with the others.

One call per lever, all at the same time: each sees every other kept lever, so it can name the
ones it reinforces or pulls against, and answers for its own lever only. The merge joins the
answers to the levers in id order.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.deduplicate_levers import DeduplicatedLevers
from planexe_pipeline.stages.markdown import user_prompt, document, heading, table
from planexe_pipeline.stages.answer_ids import map_answers
from planexe_pipeline.stages.potential_levers import Lever, lever_brief, levers_brief, options_text


class LeverEnrichmentAnswer(BaseModel):
    description: str = Field(description="Two or three sentences: what is at stake in this choice for this project.",
                             json_schema_extra=bounded(chars=500))
    synergies: str = Field(description="Which other levers this one reinforces, and how.",
                           json_schema_extra=bounded(chars=240))
    conflicts: str = Field(description="Which other levers this one pulls against, and the trade-off.",
                           json_schema_extra=bounded(chars=240))
    key_metric: str = Field(description="The one number that shows whether the chosen option is working.",
                            json_schema_extra=bounded(chars=160))


class LeverEnrichment(LeverEnrichmentAnswer):
    """One lever's answer: an item of the fan-out."""

    lever_id: str = Field(description="The lever analysed, by our id.")


class EnrichedLever(Lever):
    description: str
    synergies: str
    conflicts: str
    key_metric: str
    enrichment_defaulted: bool = Field(default=False, description="True when the model gave nothing for this lever.")


class EnrichedLevers(BaseModel):
    levers: list[EnrichedLever]


SYSTEM_PROMPT = """You deepen the analysis of one of a project's strategic levers.
Explain in plain words what is at stake in this lever for this particular project, which of the
other levers (by id) it reinforces and which it conflicts with, and the one number that would
show the chosen option is working. Be concrete; do not restate the options."""


def execute(llm: LLMExecutor, lever: Lever, *, plan: str, deduplicated: DeduplicatedLevers) -> LeverEnrichment:
    others = [other for other in deduplicated.levers if other.id != lever.id]
    user = user_prompt(plan=plan, lever_to_analyse=lever_brief(lever), other_levers=levers_brief(others))
    answer = llm.structured(LeverEnrichmentAnswer, SYSTEM_PROMPT, user)
    return LeverEnrichment(lever_id=lever.id, **answer.model_dump())


def merge(answers: list[LeverEnrichment], deduplicated: DeduplicatedLevers) -> EnrichedLevers:
    """The answers joined to the kept levers by id, in the levers' order."""
    levers = deduplicated.levers
    by_id = map_answers([lever.id for lever in levers], answers, lambda a: a.lever_id).by_id
    enriched = []
    for lever in levers:
        given = by_id.get(lever.id)
        if given is None:
            enriched.append(EnrichedLever(**lever.model_dump(), description=lever.consequences, synergies="Not assessed.",
                                          conflicts="Not assessed.", key_metric="Not assessed.", enrichment_defaulted=True))
        else:
            enriched.append(EnrichedLever(**lever.model_dump(), description=given.description, synergies=given.synergies,
                                          conflicts=given.conflicts, key_metric=given.key_metric))
    return EnrichedLevers(levers=enriched)


def lever_section(lever: EnrichedLever, level: int = 3) -> str:
    rows = [[f"Option {n}", option] for n, option in enumerate(lever.options, start=1)]
    rows += [["Synergies", lever.synergies], ["Conflicts", lever.conflicts], ["Key metric", lever.key_metric]]
    note = " _(not enriched: the model gave no answer for this lever)_" if lever.enrichment_defaulted else ""
    return "\n\n".join([heading(f"{lever.id} {lever.name}", level), f"**{lever.question}**{note}",
                        lever.description, table(["", ""], rows)])


def to_markdown(result: EnrichedLevers) -> str:
    overview = table(["Id", "Lever", "Options"], [[lv.id, lv.name, options_text(lv.options)] for lv in result.levers])
    return document("Enriched Levers", overview, *[lever_section(lever) for lever in result.levers])
