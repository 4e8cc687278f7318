"""StrategicDecisionsMarkdown: the vital levers as the plan's strategic decisions (no LLM)."""

from __future__ import annotations

from planexe_pipeline.stages.enrich_levers import lever_section
from planexe_pipeline.stages.markdown import document
from planexe_pipeline.stages.vital_few_levers import VitalLevers


def to_markdown(vital: VitalLevers) -> str:
    sections = [lever_section(v.lever) + f"\n\n_Why it matters:_ {v.why_vital}" for v in vital.levers]
    return document("Strategic Decisions", vital.summary, *sections)
