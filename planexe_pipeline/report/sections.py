"""A report section as a stage declares it: the report's order and titles come from these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    key: str  # our slug: the HTML anchor, and the name under which the Report task requires it
    title: str
    # Reading order, lowest first: the decision-maker's pages, then the plan in the order it
    # was reasoned out, then the checks on it. Steps of 10 leave room to insert a section.
    position: int
    # A part the HTML page draws in this section from the stage's model: "wbs" (the tree, in place
    # of the markdown) or "gantt" (the chart, above the markdown's table). plan.md has the markdown.
    page_part: str = ""
