"""Outlines: the condensed form of a section, for the stages that read the whole plan.

The executive summary, the review, Q&A, the premortem, the pitch and the data collection read
many sections at once; the document drafts and the expert calls repeat the same sections once
per item. Sent in full, their prompts grow with everything a model wrote upstream (a real model
writes several times more than the simulator), until they no longer fit a local model's
window and dominate the plan's cost. They read each section's own outline instead: its
headings, the ids and titles of its items, the first sentence of each paragraph, bullet and
table cell, and never more than a fixed number of characters per section. The outline is
built by our code from the section's markdown, so it is deterministic and bounded whatever
the model wrote. Any other section is sent whole up to SECTION_LIMIT_CHARS, and outlined
beyond (markdown.user_prompt), so that no prompt grows with the length of what a model wrote.
"""

from __future__ import annotations

import re

SECTION_CHARS = 1600  # an outlined section: about 400 tokens
SECTION_LIMIT_CHARS = 6000  # a section sent whole: about 1,500 tokens
LINE_CHARS = 160
CELL_CHARS = 60
TABLE_ROWS = 8
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_TABLE_RULE = re.compile(r"^\|[\s:|-]*\|$")


def first_sentence(text: str, limit: int = LINE_CHARS) -> str:
    sentence = _SENTENCE_END.split(" ".join(text.split()), maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def _table_row(line: str) -> str:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    return "| " + " | ".join(first_sentence(c, CELL_CHARS) for c in cells) + " |"


def outline(markdown: str, max_chars: int = SECTION_CHARS) -> str:
    """The section's outline, at most max_chars long (cut at a line, with a note saying so)."""
    lines: list[str] = []
    rows_in_table = 0
    for raw in markdown.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            rows_in_table = 0
            continue
        if stripped.startswith("|"):
            rows_in_table += 1
            if _TABLE_RULE.match(stripped) or rows_in_table > TABLE_ROWS + 1:
                continue
            lines.append(_table_row(stripped))
        elif stripped.startswith("#"):
            lines.append(first_sentence(stripped, LINE_CHARS))
        elif stripped.startswith(("- ", "* ")) or re.match(r"^\d+\. ", stripped):
            indent = "  " if line.startswith((" ", "\t")) else ""
            lines.append(indent + first_sentence(stripped, LINE_CHARS))
        else:
            lines.append(first_sentence(stripped, LINE_CHARS * 2))
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        if used + len(line) + 1 > max_chars:
            kept.append(f"(outline: {len(lines) - index} more lines in the full section)")
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)
