"""PDF: the HTML report paginated for print, rendered by WeasyPrint (no browser).

The page is 070-report.html itself with print.css added after its own styles, so the PDF says
what the report says. WeasyPrint needs Pango at run time (Debian: libpango-1.0-0 and
libpangoft2-1.0-0). The report's text comes from an LLM: the renderer is given a fetcher that
loads nothing, so no link in it can reach the network or a local file.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

from weasyprint import HTML

from planexe_pipeline.export.page_fit import landscape_is_larger

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"
PRINT_CSS = (Path(__file__).parent / "print.css").read_text(encoding="utf-8")
# Room for the chart below the schedule's heading, in mm, on an A4 page with print.css's margins.
CHART_ROOM = {"portrait": (180, 225), "landscape": (267, 145)}
# The report's chart, as report/gantt_svg.py writes it: its size in SVG units.
_CHART = re.compile(r'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" role="img" width="([\d.]+)" '
                    r'height="([\d.]+)"')


def _fetch_nothing(url: str, *args, **kwargs):
    # The report is self-contained: anything it would load came from model text.
    raise ValueError(f"the PDF export loads nothing ({url[:80]})")


def print_page(report_html: str) -> str:
    """The report with the print styles after its own: the same origin (the page's author) and
    later, so they win where both set a property. (WeasyPrint's `stylesheets` would be user
    styles, which lose to the page's.)"""
    head_end = report_html.index("</head>")
    styles = PRINT_CSS + _chart_page(report_html)
    return f"{report_html[:head_end]}<style>\n{styles}</style>\n{report_html[head_end:]}"


def _chart_page(report_html: str) -> str:
    """The schedule's page turned to landscape when that prints its chart larger, and the
    chart's greatest height on it (an SVG cannot break across pages)."""
    chart = _CHART.search(report_html)
    turned = chart is not None and landscape_is_larger(float(chart[1]), float(chart[2]), portrait=CHART_ROOM["portrait"],
                                                       landscape=CHART_ROOM["landscape"])
    room = CHART_ROOM["landscape" if turned else "portrait"]
    return (("section.gantt-section { page: chart; }\n" if turned else "")
            + f".gantt-wrap svg {{ max-height: {room[1]}mm; }}\n")


@contextmanager
def _fixed_font_dates():
    """fontTools stamps each embedded font subset with the time it was made, unless
    SOURCE_DATE_EPOCH says which: fixed, the same report gives the same PDF."""
    before = os.environ.get(SOURCE_DATE_EPOCH)
    os.environ[SOURCE_DATE_EPOCH] = "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ[SOURCE_DATE_EPOCH]
        else:
            os.environ[SOURCE_DATE_EPOCH] = before


def write(report_html: str) -> bytes:
    with _fixed_font_dates():
        return HTML(string=print_page(report_html), url_fetcher=_fetch_nothing).write_pdf()
