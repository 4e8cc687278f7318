"""The report page is built from LLM text, so these tests treat it as an attack surface:
they parse the real output and check that nothing hostile survives as markup, that
the page loads nothing from elsewhere, and that the plan itself is all there."""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from planexe_pipeline.report.gantt_svg import GanttBar, GanttChart, render_gantt_svg
from planexe_pipeline.report.html import (
    ReportSection,
    WBSNode,
    format_duration,
    is_safe_url,
    markdown_to_safe_html,
    render_report_html,
)

SCRIPT_PAYLOAD = "<script>alert(1)</script>"
ATTR_PAYLOAD = '"><img src=x onerror=alert(1)>'
SVG_PAYLOAD = '"><svg onload=alert(1)>'
MARKDOWN_LINK = "https://example.org/guide"


class Page(HTMLParser):
    """Flattens a document into elements (with their nesting path) and text."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None], tuple[str, ...]]] = []
        self.text: list[str] = []
        self.text_in: list[tuple[str, str]] = []  # (innermost open tag, text)
        self.styles: list[str] = []
        self._stack: list[str] = []
        self.feed(markup)
        self.close()

    VOID = {"meta", "br", "hr", "img", "input", "link", "col", "source", "wbr"}
    SVG_LEAVES = {"rect", "line", "path", "circle"}

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), tuple(self._stack)))
        if tag not in self.VOID:
            self._stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), tuple(self._stack)))

    def handle_endtag(self, tag):
        if tag in self._stack:
            while self._stack.pop() != tag:
                pass

    def handle_data(self, data):
        self.text.append(data)
        self.text_in.append((self._stack[-1] if self._stack else "", data))
        if self._stack and self._stack[-1] == "style":
            self.styles.append(data)

    @property
    def all_text(self) -> str:
        return "".join(self.text)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs, _ in self.elements if tag == name]

    def with_class(self, tag: str, cls: str) -> list[dict[str, str | None]]:
        return [a for a in self.tags(tag) if cls in (a.get("class") or "").split()]


def _bars() -> list[GanttBar]:
    d = datetime.date
    return [
        GanttBar("1", "Setup", d(2025, 3, 3), d(2025, 3, 31), critical=True, level=1),
        GanttBar("1.1", "Form cooperative", d(2025, 3, 3), d(2025, 3, 17), critical=True, level=2),
        GanttBar("1.2", "Appoint board", d(2025, 3, 17), d(2025, 3, 31), level=2),
        GanttBar("2", "Financing", d(2025, 3, 31), d(2025, 6, 30), level=1),
        GanttBar("2.1", SVG_PAYLOAD, d(2025, 4, 1), d(2025, 5, 1), level=2),
        GanttBar("M", "Go-live milestone", d(2025, 6, 30), d(2025, 6, 30), critical=True, level=2),
    ]


def _wbs() -> list[WBSNode]:
    return [
        WBSNode("1", "Setup", 20, (
            WBSNode("1.1", "Form cooperative", 10),
            WBSNode("1.2", "Install", 2.5, (WBSNode("1.2.1", SVG_PAYLOAD, 1),)),
        )),
        WBSNode("2", "Operation", None),
    ]


def _sections() -> list[ReportSection]:
    return [
        ReportSection("executive-summary", "Executive summary",
                      f"# Summary\n\nSee [the guide]({MARKDOWN_LINK}).\n\n{SCRIPT_PAYLOAD}\n"),
        ReportSection("risks", "Risks",
                      f"| Risk | Score |\n|---|---|\n| Delay | 5 |\n\n{ATTR_PAYLOAD}\n\n"
                      "[click](javascript:alert(1)) ![pixel](https://tracker.example/p.png)\n"),
        ReportSection("empty", "Empty section", ""),
    ]


def _render(**overrides) -> str:
    args = dict(
        title="Solar <b>co-op</b> plan",
        prompt="Build a solar co-op </p><script>alert(1)</script>",
        sections=_sections(),
        wbs=_wbs(),
        gantt=GanttChart(_bars()),
        links={"Timeline": "timeline.html", "Data": "data/plan.json"},
        meta={"Model": "llama<3>", "Created": "2025-02-10", "Run folder": "run/x"},
    )
    args.update(overrides)
    return render_report_html(**args)


@pytest.fixture(scope="module")
def page() -> Page:
    return Page(_render())


# --- the page as a whole is inert and self-contained -------------------------------

def test_page_has_no_script_and_no_event_handlers(page):
    assert page.tags("script") == []
    handlers = [(tag, name) for tag, attrs, _ in page.elements for name in attrs
                if name.lower().startswith("on")]
    assert handlers == []


def test_no_element_injected_by_llm_text(page):
    # Only our own svg (the Gantt chart) may exist, and no img/iframe/object at all.
    assert len(page.tags("svg")) == 1
    for tag in ("img", "iframe", "object", "embed", "link", "base", "form", "input"):
        assert page.tags(tag) == [], tag


def test_no_dangerous_url_scheme_anywhere(page):
    for tag, attrs, _ in page.elements:
        for name in ("href", "src", "xlink:href", "action", "formaction"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, value)


def test_only_markdown_links_point_outside(page):
    external = [(tag, attrs.get("href") or attrs.get("src")) for tag, attrs, _ in page.elements
                if re.match(r"\s*(https?:)?//", attrs.get("href") or attrs.get("src") or "")]
    assert external == [("a", MARKDOWN_LINK)]
    assert page.tags("img") == []


def test_css_loads_nothing(page):
    css = "\n".join(page.styles)
    assert "color" in css  # the stylesheet really is inline
    assert "url(" not in css.lower()
    assert "@import" not in css.lower()
    assert not [a for a in page.tags("link")]


def test_content_security_policy_forbids_scripts_and_remote_loads(page):
    policies = [a.get("content") or "" for a in page.tags("meta")
                if (a.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(policies) == 1
    assert "default-src 'none'" in policies[0]
    assert "script-src" not in policies[0]


def test_hostile_text_is_shown_escaped(page):
    text = page.all_text
    assert SCRIPT_PAYLOAD in text
    assert ATTR_PAYLOAD in text
    assert "[click](javascript:alert(1))" in text
    assert SVG_PAYLOAD in text
    assert "Solar <b>co-op</b> plan" in text  # title escaped, not bold
    assert "</p><script>alert(1)</script>" in text  # prompt escaped
    assert "llama<3>" in text  # meta escaped
    assert page.tags("b") == []


# --- structure -------------------------------------------------------------------

def test_toc_links_to_every_section_and_every_link_resolves(page):
    toc_hrefs = [attrs["href"] for tag, attrs, path in page.elements
                 if tag == "a" and "nav" in path and (attrs.get("href") or "").startswith("#")]
    ids = {attrs["id"] for _, attrs, _ in page.elements if attrs.get("id")}
    for section in _sections():
        assert f"#{section.key}" in toc_hrefs
        assert section.key in ids
    assert "#work-breakdown" in toc_hrefs and "#schedule" in toc_hrefs
    assert all(href[1:] in ids for href in toc_hrefs)


def test_sections_are_rendered_from_markdown(page):
    assert "Executive summary" in page.all_text
    assert page.tags("table")  # tables extension on
    assert "Delay" in page.all_text
    # The LLM's "# Summary" is demoted below our own h2 section title.
    assert "h1" not in {tag for tag, _, path in page.elements if "main" in path}
    assert page.with_class("p", "empty")  # empty section says so


def test_header_links_and_meta_shown(page):
    hrefs = [a.get("href") for a in page.tags("a")]
    assert "timeline.html" in hrefs and "data/plan.json" in hrefs
    assert "Run folder" in page.all_text and "run/x" in page.all_text


def test_wbs_is_nested_list_with_durations(page):
    roots = page.with_class("ul", "wbs")
    assert len(roots) == 1
    wbs_titles = [attrs for tag, attrs, path in page.elements
                  if tag == "span" and "wbs-title" in (attrs.get("class") or "")]
    assert len(wbs_titles) == 5
    # The deepest task sits under three nested lists.
    depths = [path.count("ul") for tag, attrs, path in page.elements
              if tag == "span" and attrs.get("class") == "wbs-title"]
    assert sorted(depths) == [1, 1, 2, 2, 3]
    assert len(page.with_class("span", "wbs-duration")) == 4  # "Operation" has none
    for label in ("20 days", "10 days", "2.5 days", "1 day"):
        assert label in page.all_text


def test_empty_wbs_and_missing_gantt_are_explained():
    page = Page(_render(wbs=[], gantt=None))
    assert page.tags("svg") == []
    assert "No work breakdown was produced." in page.all_text
    assert "No schedule was produced." in page.all_text


def test_output_is_deterministic():
    assert _render() == _render()
    assert render_gantt_svg(GanttChart(_bars())) == render_gantt_svg(GanttChart(_bars()))


@pytest.mark.parametrize("bad", [
    {"sections": _sections() + [ReportSection("risks", "Again", "x")]},
    {"sections": [ReportSection("schedule", "Clash", "x")]},
    {"links": {"Evil": "javascript:alert(1)"}},
    {"links": {"Elsewhere": "https://example.org/"}},
])
def test_caller_bugs_are_rejected(bad):
    with pytest.raises(ValueError):
        _render(**bad)


# --- markdown_to_safe_html -------------------------------------------------------

@pytest.mark.parametrize("markdown", [
    "[x](javascript:alert(1))",
    "[x](JavaScript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "[x](file:///etc/passwd)",
    "[x](//evil.example/x)",
    "<javascript:alert(1)>",
    "[x][r]\n\n[r]: javascript:alert(1)",
])
def test_unsafe_links_are_neutralised(markdown):
    page = Page(markdown_to_safe_html(markdown))
    assert page.tags("a") == []


@pytest.mark.parametrize("url, safe", [
    ("https://example.org/x", True), ("HTTPS://example.org/x", True), ("mailto:a@b.c", True),
    ("plan/timeline.html", True), ("#top", True), ("?q=a:b", True), ("a/b:c", True),
    # Browsers drop tabs/newlines and leading blanks, so these still mean javascript: or //host.
    ("java\tscript:alert(1)", False), (" \x01javascript:alert(1)", False),
    (" //evil.example/", False), ("\\\\evil.example/", False), ("/\\evil.example/", False),
    # Not a scheme to a browser, but ambiguous enough that we refuse it.
    ("java%09script:alert(1)", False), ("x-custom:thing", False), ("tel:123", False),
])
def test_is_safe_url(url, safe):
    assert is_safe_url(url) is safe


@pytest.mark.parametrize("url", [
    "https://example.org/a?b=1", "http://example.org", "mailto:pm@example.org",
    "timeline.html", "../data/plan.json", "#risks",
])
def test_safe_links_survive(url):
    links = Page(markdown_to_safe_html(f"[x]({url})")).tags("a")
    assert [a["href"] for a in links] == [url]


def test_external_links_carry_no_referrer():
    (link,) = Page(markdown_to_safe_html(f"[x]({MARKDOWN_LINK})")).tags("a")
    assert "noreferrer" in link["rel"] and "nofollow" in link["rel"]


@pytest.mark.parametrize("src", ["https://tracker.example/p.png", "local.png",
                                 "data:image/png;base64,iVBORw0KGgo="])
def test_images_become_their_alt_text(src):
    page = Page(markdown_to_safe_html(f"![Org chart]({src})"))
    assert page.tags("img") == []
    assert "Org chart" in page.all_text


def test_raw_html_is_escaped_not_passed_through():
    markup = markdown_to_safe_html(f"{SCRIPT_PAYLOAD}\n\n{ATTR_PAYLOAD}\n\n<div onclick=x>hi</div>")
    page = Page(markup)
    assert [tag for tag, _, _ in page.elements] == ["p", "p", "p"]
    assert SCRIPT_PAYLOAD in page.all_text and ATTR_PAYLOAD in page.all_text


def test_tables_and_heading_offset():
    page = Page(markdown_to_safe_html("# A\n\n| a | b |\n|---|---|\n| 1 | 2 |", heading_offset=2))
    assert page.tags("h3") and not page.tags("h1")
    assert len(page.tags("td")) == 2
    assert Page(markdown_to_safe_html("###### deep", heading_offset=2)).tags("h6")


def test_duration_formatting():
    assert [format_duration(v) for v in (None, float("nan"), 1, 1.0, 2.5, 3.04, 0)] == [
        "", "", "1 day", "1 day", "2.5 days", "3 days", "0 days"]


# --- Gantt SVG -------------------------------------------------------------------

def test_gantt_has_one_bar_per_item_and_marks_critical():
    bars = _bars()
    svg = Page(render_gantt_svg(GanttChart(bars)))
    drawn = svg.with_class("rect", "bar")
    assert len(drawn) == len(bars)
    assert len(svg.with_class("rect", "critical")) == sum(b.critical for b in bars)
    critical_fills = {a["fill"] for a in svg.with_class("rect", "critical")}
    other_fills = {a["fill"] for a in drawn if "critical" not in a["class"].split()}
    assert critical_fills and critical_fills.isdisjoint(other_fills)
    # A zero-length milestone is still visible.
    assert all(float(a["width"]) > 0 for a in drawn)


def test_gantt_labels_escaped_truncated_and_phases_bold():
    long_title = "Negotiate the grid connection agreement with the regional operator"
    bars = _bars() + [GanttBar("9", long_title, datetime.date(2025, 7, 1),
                               datetime.date(2025, 8, 1), level=1)]
    markup = render_gantt_svg(GanttChart(bars))
    ET.fromstring(markup)  # well-formed, so it also works as a standalone .svg file
    svg = Page(markup)
    assert svg.tags("svg") == [svg.elements[0][1]]  # the payload made no nested svg
    assert not [n for _, a, _ in svg.elements for n in a if n.lower().startswith("on")]
    assert SVG_PAYLOAD in svg.all_text
    labels = [t for tag, t in svg.text_in if tag == "text"]
    assert long_title not in "".join(labels)  # the full title is only in the tooltip
    label = next(t for t in labels if t.startswith("9 Negotiate"))
    assert len(label) <= 50 and label.endswith("\u2026")
    bold = [a for a in svg.tags("text") if a.get("font-weight") == "700"]
    assert len(bold) == sum(b.level == 1 for b in bars)


def test_gantt_has_month_and_week_ticks_and_width_follows_span():
    d = datetime.date
    short = Page(render_gantt_svg(GanttChart([GanttBar("a", "A", d(2025, 1, 6), d(2025, 3, 3))])))
    long = Page(render_gantt_svg(GanttChart([GanttBar("a", "A", d(2025, 1, 6), d(2027, 1, 4))])))
    assert short.with_class("line", "month-tick") and short.with_class("line", "week-tick")
    assert "Feb 2025" in short.all_text
    assert float(long.tags("svg")[0]["width"]) > float(short.tags("svg")[0]["width"])


def test_gantt_month_labels_do_not_follow_locale():
    d = datetime.date
    svg = Page(render_gantt_svg(GanttChart([GanttBar("a", "A", d(2025, 4, 1), d(2025, 7, 1))])))
    assert {"Apr 2025", "May 2025", "Jun 2025"} <= set(svg.text)


def test_empty_gantt_says_so():
    markup = render_gantt_svg(GanttChart([]))
    ET.fromstring(markup)
    svg = Page(markup)
    assert svg.tags("svg") and "No scheduled tasks" in svg.all_text
    assert svg.with_class("rect", "bar") == []
