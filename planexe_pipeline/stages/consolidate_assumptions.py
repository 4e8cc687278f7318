"""ConsolidateAssumptions: locations, currency, risks and the reviewed assumptions as one section (no LLM)."""

from __future__ import annotations

import re

from planexe_pipeline.stages.markdown import document

_HEADING = re.compile(r"^(#{1,5}) ", re.MULTILINE)


def demote_headings(markdown: str) -> str:
    """Push every heading one level down so a stage's section nests under the consolidated one."""
    parts = re.split(r"(^(?:```|~~~)[^\n]*\n.*?^(?:```|~~~)[^\n]*$)", markdown, flags=re.MULTILINE | re.DOTALL)
    # Odd parts are fenced code blocks: a '#' there is not a heading.
    return "".join(p if i % 2 else _HEADING.sub(lambda m: m.group(1) + "# ", p) for i, p in enumerate(parts))


def consolidate(*, locations_md: str, currency_md: str, risks_md: str, distilled_md: str, review_md: str) -> str:
    sections = [locations_md, currency_md, risks_md, distilled_md, review_md]
    return document("Assumptions", *[demote_headings(s.strip()) for s in sections])
