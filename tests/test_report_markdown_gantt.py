"""The report's markdown to safe HTML, and its Gantt chart as SVG."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

import pytest

from planexe_pipeline.report.gantt_svg import GanttBar, GanttChart, render_gantt_svg
from planexe_pipeline.report.html import format_duration, is_safe_url, markdown_to_safe_html
from support.report_page import ATTR_PAYLOAD, MARKDOWN_LINK, SCRIPT_PAYLOAD, SVG_PAYLOAD, Page, gantt_bars


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
    bars = gantt_bars()
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
    bars = gantt_bars() + [GanttBar("9", long_title, datetime.date(2025, 7, 1),
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


def test_gantt_month_labels_of_a_year_long_chart_leave_room_for_each_other():
    d = datetime.date
    svg = ET.fromstring(render_gantt_svg(GanttChart([GanttBar("a", "A", d(2026, 1, 5), d(2027, 2, 20))])))
    labels = [(float(t.get("x")), t.text) for t in svg.iter("{http://www.w3.org/2000/svg}text")
              if t.get("font-weight") == "600"]
    years = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "year"]
    assert years == ["2026", "2027"], "the year below the months, where the chart and each new year start"
    for (x, text), (next_x, _) in zip(labels, labels[1:]):
        assert x + 7 * len(text) < next_x, f"'{text}' runs into the next month's label"


def test_empty_gantt_says_so():
    markup = render_gantt_svg(GanttChart([]))
    ET.fromstring(markup)
    svg = Page(markup)
    assert svg.tags("svg") and "No scheduled tasks" in svg.all_text
    assert svg.with_class("rect", "bar") == []
