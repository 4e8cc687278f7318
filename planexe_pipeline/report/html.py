"""Render the final plan report as one self-contained, script-free HTML page.

Almost all of the text on the page was written by an LLM that read a user's
prompt, so it is treated as hostile: markdown is rendered with raw HTML turned
off and with an allow-list of link schemes, every other field goes through
Jinja's autoescaping, and the page carries a Content-Security-Policy that
forbids scripts and remote loads in case anything slips through anyway.
The page references nothing outside itself so it can be mailed, archived or
opened from disk years later and still look the same.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt
from markupsafe import Markup

from planexe_pipeline.report.gantt_svg import GanttChart, render_gantt_svg

__all__ = ["ReportSection", "WBSNode", "markdown_to_safe_html", "render_report_html"]


@dataclass(frozen=True)
class ReportSection:
    key: str  # our own slug, used as the HTML id and TOC anchor
    title: str  # our own heading text
    markdown: str  # untrusted: written by an LLM


@dataclass(frozen=True)
class WBSNode:
    id: str  # e.g. "T-1.2"; derived from LLM output, so escaped like the title
    title: str
    duration_days: float | None
    children: tuple["WBSNode", ...] = ()


# Ids of the built-in parts of the page; a section may not reuse them, or its
# TOC link would jump to the wrong place.
WBS_ID = "work-breakdown"
SCHEDULE_ID = "schedule"
OVERVIEW_ID = "overview"
_RESERVED_IDS = frozenset({WBS_ID, SCHEDULE_ID, OVERVIEW_ID})

_TEMPLATES_DIR = Path(__file__).parent / "templates"

# A scheme is what a browser would read before the first ':' unless a '/', '?'
# or '#' comes first; anything else with a colon is ambiguous, so refused.
_SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
_EXTERNAL_SCHEMES = frozenset({"http", "https"})


def is_safe_url(url: str) -> bool:
    """True for http(s)/mailto URLs and for relative or fragment-only URLs."""
    # Browsers ignore leading whitespace/control characters and strip tabs and
    # newlines anywhere in a URL, so "java\tscript:" must be judged as "javascript:".
    candidate = re.sub(r"[\x00-\x20\x7f]", "", url)
    match = _SCHEME_RE.match(candidate)
    if match:
        return match.group(1).lower() in _ALLOWED_SCHEMES
    # Protocol-relative ("//host/x", also spelled with backslashes) leaves the report
    # for a host we never vetted, and from a file:// page it becomes file://host.
    if candidate[:2].replace("\\", "/") == "//":
        return False
    head = re.split(r"[/?#]", candidate, maxsplit=1)[0]
    return ":" not in head


def _is_relative_url(url: str) -> bool:
    return is_safe_url(url) and not _SCHEME_RE.match(url.strip())


def _build_markdown_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    # markdown-it's own validator only blocks a short deny-list; ours is an allow-list.
    md.validateLink = is_safe_url  # type: ignore[method-assign]

    def render_image(self, tokens, idx, options, env):
        # An image would be a remote load (tracking pixel) or a broken relative file,
        # so show what it was meant to depict instead.
        token = tokens[idx]
        alt = self.renderInlineAsText(token.children or [], options, env)
        return f'<span class="image-alt">[image: {escape(alt)}]</span>' if alt else ""

    def render_link_open(self, tokens, idx, options, env):
        token = tokens[idx]
        href = token.attrGet("href") or ""
        match = _SCHEME_RE.match(href)
        if match and match.group(1).lower() in _EXTERNAL_SCHEMES:
            # Outbound links from LLM text are unvetted: no referrer, no ranking credit.
            token.attrSet("rel", "nofollow noopener noreferrer")
            token.attrJoin("class", "external")
        return self.renderToken(tokens, idx, options, env)

    def render_table_open(self, tokens, idx, options, env):
        # Wide LLM tables scroll inside their own box instead of widening the page.
        return '<div class="table-wrap">' + self.renderToken(tokens, idx, options, env)

    def render_table_close(self, tokens, idx, options, env):
        return self.renderToken(tokens, idx, options, env) + "</div>\n"

    md.add_render_rule("image", render_image)
    md.add_render_rule("link_open", render_link_open)
    md.add_render_rule("table_open", render_table_open)
    md.add_render_rule("table_close", render_table_close)
    return md


_MARKDOWN = _build_markdown_parser()


def markdown_to_safe_html(text: str, *, heading_offset: int = 0) -> str:
    """Render untrusted markdown to HTML that cannot run code or load anything.

    Raw HTML is shown as text, links keep only http/https/mailto/relative/fragment
    targets (others stay as literal text), images become their alt text, tables
    are on. `heading_offset` demotes headings (capped at h6) so an LLM's "# Title"
    nests under the report's own section heading instead of competing with it.
    """
    tokens = _MARKDOWN.parse(text)
    if heading_offset:
        for token in tokens:
            if token.type in ("heading_open", "heading_close"):
                level = min(6, max(1, int(token.tag[1]) + heading_offset))
                token.tag = f"h{level}"
    return _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})


def format_duration(days: float | None) -> str:
    """'1 day', '2.5 days', '' for unknown; never 'nan days'."""
    if days is None or not math.isfinite(days):
        return ""
    rounded = round(days, 1)
    number = str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"
    return f"{number} day" if number == "1" else f"{number} days"


def _count_nodes(nodes: list[WBSNode] | tuple[WBSNode, ...]) -> int:
    return sum(1 + _count_nodes(node.children) for node in nodes)


def _make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(_TEMPLATES_DIR)),
        autoescape=True,  # every {{ }} is escaped unless we deliberately pass Markup
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["duration"] = format_duration
    return env


_ENV = _make_environment()


def render_report_html(*, title: str, prompt: str, sections: list[ReportSection],
                       wbs: list[WBSNode], gantt: GanttChart | None,
                       links: dict[str, str] | None = None,
                       meta: dict[str, str] | None = None) -> str:
    """One self-contained HTML page: inline CSS, no <script>, no external URL,
    a TOC linking every section, sections rendered from markdown, the WBS as a
    nested <ul> and the schedule as an inline SVG Gantt chart.

    `links` are our own relative links shown in the header (e.g. {"Timeline":
    "timeline.html"}); `meta` is a small key/value table (model, created, run folder).
    Raises ValueError for duplicate/reserved section keys or a non-relative header link,
    both of which are bugs in the caller rather than bad LLM output.
    """
    seen: set[str] = set()
    for section in sections:
        if section.key in _RESERVED_IDS or section.key in seen:
            raise ValueError(f"section key {section.key!r} is duplicated or reserved")
        seen.add(section.key)
    for label, href in (links or {}).items():
        if not _is_relative_url(href):
            raise ValueError(f"header link {label!r} must be relative, got {href!r}")

    rendered_sections = [
        {"id": s.key, "title": s.title,
         "body": Markup(markdown_to_safe_html(s.markdown, heading_offset=2))}
        for s in sections
    ]
    toc = [{"id": OVERVIEW_ID, "title": "Overview"}]
    toc += [{"id": s.key, "title": s.title} for s in sections]
    toc += [{"id": WBS_ID, "title": "Work breakdown"}, {"id": SCHEDULE_ID, "title": "Schedule"}]

    # Our SVG renderer escapes everything itself, so it is marked safe here once.
    gantt_svg = Markup(render_gantt_svg(gantt)) if gantt is not None else None
    template = _ENV.get_template("report.html.j2")
    return template.render(
        title=title,
        prompt=prompt,
        sections=rendered_sections,
        toc=toc,
        wbs=wbs,
        wbs_count=_count_nodes(wbs),
        gantt_svg=gantt_svg,
        gantt_count=len(gantt.bars) if gantt is not None else 0,
        links=links or {},
        meta=meta or {},
        wbs_id=WBS_ID,
        schedule_id=SCHEDULE_ID,
        overview_id=OVERVIEW_ID,
    )
