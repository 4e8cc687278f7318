"""PDF: the HTML report paginated for print, rendered by WeasyPrint (no browser), a section at a time.

A section is printed as soon as its stage is done (`print_part`): the section's HTML as the
report page shows it, with print.css after the page's own styles, on pages of its own under the
plan's title. Once the last part is in, `write` renders what comes before the sections (the
title, the plan's facts, the idea, the contents with each section's page, now known from the
parts' page counts), and pikepdf (qpdf) joins the parts' pages after it, writes "Page n of m"
beneath every page, makes each contents entry a link to its section and adds each section's
headings to the bookmarks. Laying out the whole report takes WeasyPrint seconds; the front and
the joining take a tenth of a second, so the PDF is ready soon after the report is.

WeasyPrint needs Pango at run time (Debian: libpango-1.0-0 and libpangoft2-1.0-0). The report's
text comes from an LLM: the renderer is given a fetcher that loads nothing, so no link in it can
reach the network or a local file.
"""

from __future__ import annotations

import io
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from weasyprint import HTML

from planexe_pipeline.export.page_fit import landscape_is_larger

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"
PRINT_CSS = (Path(__file__).parent / "print.css").read_text(encoding="utf-8")
# A part holds its section's pages alone: the page's header, idea and contents are the front's.
# Its running header is the plan's title, given as text (the part has no h1 to take it from).
PART_CSS = """@page { @top-left { content: %(title)s; } @bottom-right { content: none; } }
@page :first { @top-left { content: %(title)s; } }
header.report-header, section.overview, nav.toc, footer { display: none; }
"""
# The front: each contents entry says its section's page (given, not counted: the sections are
# not in this document) and links to it once joined (`_link_contents`).
FRONT_CSS = """@page { @bottom-right { content: none; } }
nav.toc a::after { content: none; }
nav.toc li { margin: 0; padding: 2.5pt 0 1pt; border-bottom: 0.5pt solid #d5dbe3; }
nav.toc .page { float: right; padding-left: 6pt; }
"""
PAGE_LINK = "planexe-page:"  # a contents entry's link as the front is rendered: to page n
# "Page n of m" as print.css's page footer set it: 8 pt, grey, its baseline 22.7 pt above the
# page's foot, ending at the right margin (15 mm); in Helvetica, which every PDF reader has.
FOOTER_SIZE, FOOTER_BASELINE, FOOTER_RIGHT, FOOTER_GREY = 8, 22.74, 42.52, (0.373, 0.42, 0.478)
# Helvetica's advance widths (1/1000 em) of the footer's characters.
_HELVETICA = {**dict.fromkeys("0123456789aeog", 556), "P": 667, " ": 278, "f": 278}
# Room for the chart below the schedule's heading, in mm, on an A4 page with print.css's margins.
CHART_ROOM = {"portrait": (180, 225), "landscape": (267, 145)}
# The report's chart, as report/gantt_svg.py writes it: its size in SVG units.
_CHART = re.compile(r'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" role="img" width="([\d.]+)" '
                    r'height="([\d.]+)"')
_MAIN = re.compile(r"<main>.*</main>", re.S)
_CONTENTS_ENTRY = re.compile(r'<li><a href="#([^"]+)">(.*?)</a></li>')


@dataclass(frozen=True)
class PrintedPart:
    key: str  # the section's anchor in the report page
    pdf: bytes  # print_part's pages of the section


def _fetch_nothing(url: str, *args, **kwargs):
    # The report is self-contained: anything it would load came from model text.
    raise ValueError(f"the PDF export loads nothing ({url[:80]})")


def print_page(report_html: str, extra_css: str = "") -> str:
    """The report with the print styles after its own: the same origin (the page's author) and
    later, so they win where both set a property. (WeasyPrint's `stylesheets` would be user
    styles, which lose to the page's.)"""
    head_end = report_html.index("</head>")
    styles = PRINT_CSS + _chart_page(report_html) + extra_css
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


def _render(html: str) -> bytes:
    with _fixed_font_dates():
        return HTML(string=html, url_fetcher=_fetch_nothing).write_pdf()


def css_string(text: str) -> str:
    """`text` as a CSS string: every character but ASCII letters and digits escaped (the space
    after each escape ends it), so model text can neither end the string nor the style element."""
    return '"' + "".join(c if c.isascii() and c.isalnum() else f"\\{ord(c):x} " for c in text) + '"'


def print_part(section_page_html: str, *, title: str) -> bytes:
    """One section's pages: `section_page_html` is the report page rendered with that section alone."""
    return _render(print_page(section_page_html, PART_CSS % {"title": css_string(title)}))


def write(front_html: str, parts: list[PrintedPart]) -> bytes:
    """The report: `front_html` is the report page with every section's title and no text (its
    header, idea and contents); the parts' pages follow it in order."""
    documents = [pikepdf.open(io.BytesIO(part.pdf)) for part in parts]
    counts = [len(document.pages) for document in documents]
    front_pages, front = 2, b""  # the title page and one of contents, unless rendering says otherwise
    for _ in range(3):
        firsts = {part.key: front_pages + 1 + sum(counts[:i]) for i, part in enumerate(parts)}
        front = _render(print_page(_front(front_html, firsts), FRONT_CSS))
        rendered = len(pikepdf.open(io.BytesIO(front)).pages)
        if rendered == front_pages:
            break
        front_pages = rendered
    out = pikepdf.open(io.BytesIO(front))
    _add_parts(out, documents)
    _link_contents(out)
    _number_pages(out)
    data = io.BytesIO()
    # The document's id from its content: the same report, the same bytes.
    out.save(data, deterministic_id=True)
    return data.getvalue()


def _front(front_html: str, firsts: dict[str, int]) -> str:
    """The front page and the contents, each entry with its page and a link to it."""
    def entry(match: re.Match) -> str:
        page = firsts.get(match[1], 1)  # the overview is on the first page
        # Ruled lines, not leader("."): WeasyPrint lays out each dot of a leader as a word, and
        # draws each dot of a dotted border as a path of its own.
        return f'<li><a href="{PAGE_LINK}{page}"><span class="page">{page}</span>{match[2]}</a></li>'

    contents = _CONTENTS_ENTRY.sub(entry, front_html)
    return _MAIN.sub("<main></main>", contents, count=1)


def _add_parts(out: pikepdf.Pdf, documents: list[pikepdf.Pdf]) -> None:
    """Each part's pages after the front, and its bookmarks (its section and the section's
    headings) after the front's, under the plan's title."""
    with out.open_outline() as outline:
        top = outline.root[0].children if len(outline.root) else outline.root
        for document in documents:
            first = len(out.pages)
            with document.open_outline() as part_outline:
                top.extend(_moved(item, document, first) for item in part_outline.root)
            for page in document.pages:
                # A link within the report pointed into the part alone: its target is elsewhere now.
                annotations = page.obj.get("/Annots")
                if annotations is not None:
                    kept = [a for a in annotations if a.get("/A", {}).get("/S") == "/URI"]
                    page.obj.Annots = document.make_indirect(pikepdf.Array(kept))
                out.pages.append(page)


def _moved(item: pikepdf.OutlineItem, document: pikepdf.Pdf, first: int) -> pikepdf.OutlineItem:
    """A part's bookmark, pointing at its page once the part's pages start at `first`."""
    destination = item.destination
    page = 0
    if isinstance(destination, pikepdf.Array) and len(destination):
        page = pikepdf.Page(destination[0]).index
    top = float(destination[3]) if isinstance(destination, pikepdf.Array) and len(destination) > 3 else None
    moved = pikepdf.OutlineItem(item.title, first + page, pikepdf.PageLocation.XYZ, top=top)
    moved.children.extend(_moved(child, document, first) for child in item.children)
    return moved


def _link_contents(out: pikepdf.Pdf) -> None:
    """The contents' links, rendered as links to PAGE_LINK n, to page n of the document."""
    for page in out.pages[:4]:
        for annotation in page.obj.get("/Annots", []):
            uri = str(annotation.get("/A", {}).get("/URI", ""))
            if uri.startswith(PAGE_LINK):
                target = out.pages[min(len(out.pages), int(uri[len(PAGE_LINK):])) - 1]
                del annotation.A
                annotation.Dest = pikepdf.Array([target.obj, pikepdf.Name.Fit])


def _number_pages(out: pikepdf.Pdf) -> None:
    font = out.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica,
                                                Encoding=pikepdf.Name.WinAnsiEncoding))
    total = len(out.pages)
    for number, page in enumerate(out.pages, 1):
        text = f"Page {number} of {total}"
        width = sum(_HELVETICA[c] for c in text) * FOOTER_SIZE / 1000
        name = page.add_resource(font, pikepdf.Name.Font, pikepdf.Name("/FooterFont"))
        x = float(page.mediabox[2]) - FOOTER_RIGHT - width
        grey = " ".join(f"{v:g}" for v in FOOTER_GREY)
        # The page's own drawing may leave the graphics state changed: the footer starts afresh.
        page.contents_add(out.make_stream(b"q\n"), prepend=True)
        page.contents_add(out.make_stream(
            f"Q q BT {name} {FOOTER_SIZE} Tf {grey} rg {x:.2f} {FOOTER_BASELINE} Td ({text}) Tj ET Q\n".encode()))
