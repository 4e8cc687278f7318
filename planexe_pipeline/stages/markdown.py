"""Small markdown builders shared by every stage's renderer.

Text in these sections comes from an LLM; the report renders markdown with raw HTML
disabled, so here we only keep table cells and list items on one line each.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from planexe_pipeline.stages.condense import SECTION_LIMIT_CHARS, outline


def one_line(text: object) -> str:
    return " ".join(str(text if text is not None else "").split())


def cell(text: object) -> str:
    return one_line(text).replace("|", "\\|")


def heading(title: str, level: int = 2) -> str:
    return f"{'#' * level} {one_line(title)}"


def bullets(items: Iterable[object]) -> str:
    lines = [f"- {one_line(i)}" for i in items if one_line(i)]
    return "\n".join(lines) if lines else "_None._"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    rows = list(rows)
    if not rows:
        return "_None._"
    out = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


def document(title: str, *blocks: str) -> str:
    """A stage's markdown: its heading, then its blocks separated by blank lines."""
    return "\n\n".join([heading(title), *[b.strip() for b in blocks if b and b.strip()]]) + "\n"


def with_revision(markdown: str, notes: Sequence[str]) -> str:
    """A section a person revised (edited by hand, or had asked again with a remark) says so under
    its title; an unrevised section is left as it was, byte for byte."""
    if not notes:
        return markdown
    note = "\n".join(f"> **Revised:** {one_line(line)}" for line in notes)
    title, _, rest = markdown.partition("\n")
    if not title.startswith("#"):
        return f"{note}\n\n{markdown}"
    return f"{title}\n\n{note}\n\n{rest.lstrip(chr(10))}"


# The key under which a stage's JSON lists the degenerate places of the answers it kept.
FLAGS_KEY = "quality_flags"


def with_flags(markdown: str, flags: Sequence[str]) -> str:
    """A section written from an answer that stayed degenerate says so under its title
    (llm/degeneracy.py); without flags the section is left as it was, byte for byte."""
    if not flags:
        return markdown
    note = "\n".join(["> **Quality flag:** the model's answer looked degenerate here, and was kept as the best "
                      "it gave; read this section with care.", ">",
                      *(f"> - {one_line(flag)}" for flag in flags)])
    title, _, rest = markdown.partition("\n")
    if not title.startswith("#"):
        return f"{note}\n\n{markdown}"
    return f"{title}\n\n{note}\n\n{rest.lstrip(chr(10))}"


def user_prompt(**sections: str) -> str:
    """The user message of a call: the plan first (the model reads it first), then each
    upstream section it needs, under a heading named after the argument. A section longer than
    SECTION_LIMIT_CHARS is sent as its outline, so that no prompt grows without bound."""
    parts = []
    for name, text in sections.items():
        if text and text.strip():
            text = text.strip() if len(text.strip()) <= SECTION_LIMIT_CHARS else outline(text, SECTION_LIMIT_CHARS)
            parts.append(f"# {name.replace('_', ' ').capitalize()}\n\n{text}")
    return "\n\n".join(parts)


def condensed_user_prompt(*, plan: str = "", tail: dict[str, str] | None = None, **sections: str) -> str:
    """`user_prompt()` with every section outlined (stages/condense.py): the plan (the user's own
    words) and the `tail` (what this call asks, built by our code) stay whole."""
    return user_prompt(plan=plan, **{name: outline(text) for name, text in sections.items()}, **(tail or {}))
