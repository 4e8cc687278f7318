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
    html_title: str = ""  # where the page's own parts would make the title ambiguous
    # False where the HTML page draws the content itself (the WBS as a nested list).
    in_html: bool = True
