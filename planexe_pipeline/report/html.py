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
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup

from planexe_pipeline.report.gantt_svg import GanttChart, count_by_level, render_gantt_svg

__all__ = ["ReportSection", "WBSNode", "markdown_to_safe_html", "render_report_html"]


@dataclass(frozen=True)
class ReportSection:
    key: str  # our own slug, used as the HTML id and TOC anchor
    title: str  # our own heading text
    markdown: str  # untrusted: written by an LLM
    page_part: str = ""  # what the page draws here itself: "wbs" (instead of the markdown), "gantt" (above it)


@dataclass(frozen=True)
class WBSNode:
    id: str  # e.g. "T-1.2"; derived from LLM output, so escaped like the title
    title: str
    duration_days: float | None
    children: tuple["WBSNode", ...] = ()


# The id of the page's own header; a section may not reuse it, or its TOC link would jump there.
OVERVIEW_ID = "overview"
_RESERVED_IDS = frozenset({OVERVIEW_ID})
PAGE_PARTS = ("wbs", "gantt")
# An id of the plan's own (T-1.2, D-3, DIR-12, MS-4): kept on one line wherever it stands, as a
# narrow table column would otherwise break it after its hyphen ("D-" above "1").
_PLAN_ID = re.compile(r"\b[A-Z]{1,4}-\d{1,4}(?:\.\d{1,4})*\b")

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

    def render_text(self, tokens, idx, options, env):
        return _PLAN_ID.sub(lambda m: f'<span class="id">{m.group(0)}</span>', escapeHtml(tokens[idx].content))

    def render_table_close(self, tokens, idx, options, env):
        return self.renderToken(tokens, idx, options, env) + "</div>\n"

    md.add_render_rule("image", render_image)
    md.add_render_rule("link_open", render_link_open)
    md.add_render_rule("table_open", render_table_open)
    md.add_render_rule("table_close", render_table_close)
    md.add_render_rule("text", render_text)
    return md


def _key_value_tables(tokens: list) -> list:
    """A table whose header row is empty is a list of keys and values: drop the empty row (it
    would show as a blank grey bar) and mark the table, so its first column reads as the keys."""
    out, i = [], 0
    while i < len(tokens):
        token = tokens[i]
        if token.type == "thead_open":
            end = next(j for j in range(i, len(tokens)) if tokens[j].type == "thead_close")
            if all(not t.content.strip() for t in tokens[i:end] if t.type == "inline"):
                table_open = next(t for t in reversed(out) if t.type == "table_open")
                table_open.attrJoin("class", "key-values")
                i = end + 1
                continue
        out.append(token)
        i += 1
    return out


_MARKDOWN = _build_markdown_parser()


def markdown_to_safe_html(text: str, *, heading_offset: int = 0) -> str:
    """Render untrusted markdown to HTML that cannot run code or load anything.

    Raw HTML is shown as text, links keep only http/https/mailto/relative/fragment
    targets (others stay as literal text), images become their alt text, tables
    are on. `heading_offset` demotes headings (capped at h6) so an LLM's "# Title"
    nests under the report's own section heading instead of competing with it.
    """
    tokens = _key_value_tables(_MARKDOWN.parse(text))
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


def _levels(nodes: list[WBSNode] | tuple[WBSNode, ...], level: int = 1) -> list[int]:
    """The work-breakdown level of every node of the tree, phases being level 1."""
    return [depth for node in nodes for depth in (level, *_levels(node.children, level + 1))]


def _left_to_table(wbs: list[WBSNode], gantt: GanttChart | None) -> str:
    """The items of the levels the Gantt chart leaves to the schedule table, counted ('' if none)."""
    drawn = {bar.level for bar in gantt.bars} if gantt is not None else set()
    left = [level for level in _levels(wbs) if level not in drawn]
    return count_by_level(left) if gantt is not None and left else ""


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
                       meta: dict[str, str] | None = None,
                       notice: tuple[str, str] | None = None) -> str:
    """One self-contained HTML page: inline CSS, no <script>, no external URL,
    a TOC linking every section, sections rendered from markdown in the order given, the
    WBS as a nested <ul> in the section marked "wbs" and the schedule as an inline SVG Gantt
    chart at the top of the section marked "gantt".

    `links` are our own relative links shown in the header (e.g. {"Timeline":
    "timeline.html"}); `meta` is a small key/value table (model, created, run folder);
    `notice` a (title, text) warning shown above it (simulated text).
    Raises ValueError for duplicate/reserved section keys, an unknown page part or a
    non-relative header link, all bugs in the caller rather than bad LLM output.
    """
    seen: set[str] = set()
    for section in sections:
        if section.key in _RESERVED_IDS or section.key in seen:
            raise ValueError(f"section key {section.key!r} is duplicated or reserved")
        if section.page_part and section.page_part not in PAGE_PARTS:
            raise ValueError(f"section {section.key!r} asks for an unknown page part {section.page_part!r}")
        seen.add(section.key)
    for label, href in (links or {}).items():
        if not _is_relative_url(href):
            raise ValueError(f"header link {label!r} must be relative, got {href!r}")

    rendered_sections = [
        {"id": s.key, "title": s.title, "part": s.page_part,
         "body": Markup(markdown_to_safe_html(s.markdown, heading_offset=2)) if s.page_part != "wbs" else ""}
        for s in sections
    ]
    toc = [{"id": OVERVIEW_ID, "title": "Overview"}]
    toc += [{"id": s.key, "title": s.title} for s in sections]

    # Our SVG renderer escapes everything itself, so it is marked safe here once.
    gantt_svg = Markup(render_gantt_svg(gantt)) if gantt is not None else None
    template = _ENV.get_template("report.html.j2")
    return template.render(
        title=title,
        prompt=prompt,
        sections=rendered_sections,
        toc=toc,
        wbs=wbs,
        wbs_count=count_by_level(_levels(wbs)),
        gantt_svg=gantt_svg,
        gantt_count=count_by_level(bar.level for bar in gantt.bars) if gantt is not None else "",
        left_to_table=_left_to_table(wbs, gantt),
        links=links or {},
        meta=meta or {},
        notice=notice,
        overview_id=OVERVIEW_ID,
    )
