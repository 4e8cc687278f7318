"""The report page is built from LLM text, so these tests treat it as an attack surface:
they parse the real output and check that nothing hostile survives as markup, that
the page loads nothing from elsewhere, and that the plan itself is all there."""

from __future__ import annotations

import re

import pytest

from planexe_pipeline.report.gantt_svg import GanttChart, render_gantt_svg
from planexe_pipeline.report.html import ReportSection, WBSNode, render_report_html
from support.report_page import ATTR_PAYLOAD, MARKDOWN_LINK, SCRIPT_PAYLOAD, SVG_PAYLOAD, Page, gantt_bars


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
        ReportSection("facts", "Facts", "|  |  |\n|---|---|\n| Verdict | usable |\n| Goal | A bakery |\n\n"
                      "| Id | Deliverable |\n|---|---|\n| D-1 | Oven |\n| DIR-12 | Lease |\n"),
        ReportSection("wbs", "Work breakdown structure", "- T-1 Setup (markdown: plan.md only)", page_part="wbs"),
        ReportSection("schedule-table", "Schedule", "| ID | Task |\n|---|---|\n| T-1 | Setup |\n", page_part="gantt"),
    ]


def _render(**overrides) -> str:
    args = dict(
        title="Solar <b>co-op</b> plan",
        prompt="Build a solar co-op </p><script>alert(1)</script>",
        sections=_sections(),
        wbs=_wbs(),
        gantt=GanttChart(gantt_bars()),
        links={"Timeline": "timeline.html", "Data": "data/plan.json"},
        meta={"Model": "llama<3>", "Created": "2025-02-10", "Run folder": "run/x"},
        notice=("Simulated text", "The offline simulator wrote <this> plan."),
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
    assert toc_hrefs == ["#overview"] + [f"#{s.key}" for s in _sections()], "the page in the order given"
    assert all(href[1:] in ids for href in toc_hrefs)


def test_the_wbs_and_the_gantt_stand_in_their_sections_in_reading_order(page):
    sections = [(attrs["id"], path) for tag, attrs, path in page.elements if tag == "section" and attrs.get("id")]
    assert [key for key, _ in sections][-2:] == ["wbs", "schedule-table"]
    inside = {tag: attrs for tag, attrs, path in page.elements if tag in ("ul", "svg") and "section" in path}
    assert "ul" in inside and "svg" in inside
    wbs_at, chart_at, table_at = (page.html.index(marker) for marker in ('class="wbs"', "<svg", "<td>Setup</td>"))
    assert page.html.index('id="wbs"') < wbs_at < page.html.index('id="schedule-table"') < chart_at < table_at
    assert "markdown: plan.md only" not in page.all_text, "the page draws the tree instead of the markdown"


def test_a_key_value_table_has_no_empty_header_row(page):
    tables = [t for tag, t, path in page.elements if tag == "table" and "main" in path]
    key_values = [t for t in tables if "key-values" in (t.get("class") or "")]
    assert len(key_values) == 1
    assert len(page.tags("thead")) == len(tables) - 1, "only the tables with a header row keep one"


def test_ids_stay_on_one_line(page):
    ids = [text for tag, text in page.text_in if tag == "span"]
    assert {"D-1", "DIR-12", "T-1"} <= set(ids)
    assert [a for a in page.with_class("span", "id")], "each id in a span that does not wrap"
    assert ".id { white-space: nowrap; }" in "\n".join(page.styles)


def test_the_simulated_notice_stands_under_the_title(page):
    (note,) = page.with_class("p", "notice")
    assert note.get("role") == "note"
    assert "The offline simulator wrote <this> plan." in page.all_text  # escaped like any text
    assert page.html.index("<h1>") < page.html.index('class="notice"') < page.html.index('<table class="meta">')
    assert 'class="notice"' not in _render(notice=None)


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
    assert render_gantt_svg(GanttChart(gantt_bars())) == render_gantt_svg(GanttChart(gantt_bars()))


@pytest.mark.parametrize("bad", [
    {"sections": _sections() + [ReportSection("risks", "Again", "x")]},
    {"sections": [ReportSection("overview", "Clash", "x")]},
    {"sections": [ReportSection("chart", "Chart", "x", page_part="pie")]},
    {"links": {"Evil": "javascript:alert(1)"}},
    {"links": {"Elsewhere": "https://example.org/"}},
])
def test_caller_bugs_are_rejected(bad):
    with pytest.raises(ValueError):
        _render(**bad)
