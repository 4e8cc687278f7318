"""ScenariosMarkdown: all candidate scenarios side by side, with the selected one marked (no LLM)."""

from __future__ import annotations

from planexe_pipeline.stages.candidate_scenarios import CandidateScenarioSet, scenario_section
from planexe_pipeline.stages.markdown import document, heading, table
from planexe_pipeline.stages.select_scenario import ScenarioSelection


def to_markdown(candidates: CandidateScenarioSet, selection: ScenarioSelection) -> str:
    chosen_id = selection.scenario.id
    headers = ["Lever"] + [f"{s.id} {s.name}" + (" (selected)" if s.id == chosen_id else "") for s in candidates.scenarios]
    lever_rows: dict[str, list[str]] = {}
    for s in candidates.scenarios:
        for c in s.choices:
            lever_rows.setdefault(c.lever_id, [f"{c.lever_id} {c.lever_name}"]).append(f"{c.option_number}. {c.option}")
    comparison = table(headers, [row for row in lever_rows.values() if len(row) == len(headers)])
    selected = "\n\n".join([heading("Selected", 3),
                            f"**{selection.scenario.id} {selection.scenario.name}**" + (" (chosen by rule)" if selection.defaulted else ""),
                            selection.justification])
    return document("Scenarios", comparison, selected, *[scenario_section(s) for s in candidates.scenarios])
