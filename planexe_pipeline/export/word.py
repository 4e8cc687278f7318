"""Word (.docx): the plan's markdown (070-plan.md) as a document a reader can restyle and edit.

Written as the PDF is, a section at a time: `print_part` writes one section's body as Word's XML
(with the links, the picture and the numbered lists it refers to) as soon as its stage is done,
and `write` puts the title, the idea and the contents before the parts and joins them, renaming
what they refer to into the one document: what is left at the plan's end takes a tenth of a second.

Every block is given Word's own style rather than direct formatting: the plan's title is
Title, its sections Heading 1 (their parts Heading 2 and down), lists List Bullet and List
Number (each numbered list counting from 1), the idea a Quote, tables Table Grid with a header
row that repeats on every page and columns as wide as their text asks. The Gantt chart follows
the schedule's heading as a picture (gantt_png.py), on a landscape page of its own when that
prints it larger (page_fit.py). Links keep only what the HTML report keeps (http, https, mailto). The file is
the same for the same plan: its dates are the plan's first day, its zip entries undated.
"""

from __future__ import annotations

import base64
import copy
import datetime
import io
import json
import zipfile

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from lxml import etree
from markdown_it import MarkdownIt
from markdown_it.token import Token
from PIL import Image

from planexe_pipeline.export.gantt_png import render_png
from planexe_pipeline.export.page_fit import landscape_is_larger
from planexe_pipeline.report.gantt_svg import GanttChart
from planexe_pipeline.report.html import is_safe_url

AUTHOR = "planexe-pipeline"
LINK_COLOR = RGBColor(0x2C, 0x4F, 0x86)
CODE_FONT = "Courier New"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry: undated
PAPER, MARGIN = (Mm(210), Mm(297)), Mm(20)  # A4, as the PDF
HEADING_ROOM = Mm(22)  # what the schedule's heading takes above the chart
# A column is at least as wide as its longest word and wants room for its longest text up to
# COLUMN_CHARS characters; an id column stays narrow, a description gets what is left.
COLUMN_CHARS = 40
TABLE_TEXT = Pt(9)  # the Table Grid style's, as the PDF sets its tables smaller than its text
CHAR_WIDTH, CELL_PADDING = Mm(2.0), Mm(5)  # a wide character of 9 pt text; a cell's inner margins
_PARSER = MarkdownIt("commonmark", {"html": False}).enable("table")
# What a part's XML refers to by relationship id: a link's address, a picture.
_RELATION_ATTRIBUTES = {qn("r:id"), qn("r:embed")}
_NUM_ID = qn("w:numId")
_TEMPLATE_NUMS = max(num.numId for num in Document().part.numbering_part.element.num_lst)  # python-docx's own


def _document(*, title: str = "", first_day: datetime.date | None = None):
    """An empty A4 document; dated the plan's first day and titled, for the file itself."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = PAPER
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, MARGIN)
    document.styles["Table Grid"].font.size = TABLE_TEXT
    if first_day is not None:
        properties = document.core_properties
        properties.title, properties.author, properties.last_modified_by = title, AUTHOR, AUTHOR
        properties.created = properties.modified = datetime.datetime.combine(first_day, datetime.time())
        properties.revision = 1
    return document


def print_part(section_markdown: str, *, gantt: GanttChart | None) -> bytes:
    """One section's body (its heading first), with what its XML refers to outside itself: the
    links' addresses, the chart's picture, its numbered lists (`write` joins the parts)."""
    document = _document()
    picture = render_png(gantt) if gantt is not None and gantt.bars else None
    heading = _PARSER.parse(section_markdown)[1].content if gantt is not None else ""
    _Writer(document, picture, heading).blocks(_PARSER.parse(section_markdown))
    body = document.element.body
    part = document.part
    used = {value for element in body.iter() for name, value in element.attrib.items() if name in _RELATION_ATTRIBUTES}
    links = {rid: rel.target_ref for rid, rel in part.rels.items() if rid in used and rel.is_external}
    images = {rid: base64.b64encode(rel.target_part.blob).decode() for rid, rel in part.rels.items()
              if rid in used and not rel.is_external}
    numbering = part.numbering_part.element
    nums = {str(num.numId): str(num.abstractNumId.val) for num in numbering.num_lst
            if num.numId > _TEMPLATE_NUMS}
    content = copy.deepcopy(body)
    content.remove(content.sectPr)  # the document's last section: the joined file has its own
    etree.cleanup_namespaces(content)  # the namespaces it uses, declared once
    xml = etree.tostring(content, encoding="unicode")
    return json.dumps({"body": xml, "links": links, "images": images, "lists": nums}, sort_keys=True).encode()


def write(*, front_markdown: str, parts: list[bytes], title: str, first_day: datetime.date) -> bytes:
    """The plan: `front_markdown` (its title, the models that wrote it, the idea, the contents) in
    Word's styles, then each section's body as print_part made it, in order."""
    document = _document(title=title, first_day=first_day)
    _Writer(document, None, "").blocks(_PARSER.parse(front_markdown))
    body, part = document.element.body, document.part
    end = body.sectPr
    numbering = part.numbering_part.element
    for data in parts:
        printed = json.loads(data)
        renamed = {rid: part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
                   for rid, url in printed["links"].items()}
        renamed |= {rid: part.get_or_add_image(io.BytesIO(base64.b64decode(png)))[0]
                    for rid, png in printed["images"].items()}
        lists = {}
        for num_id, abstract in printed["lists"].items():
            num = numbering.add_num(int(abstract))
            num.add_lvlOverride(ilvl=0).add_startOverride(1)
            lists[num_id] = str(num.numId)
        wrapper = parse_xml(printed["body"])
        for element in wrapper.iter():
            for name in _RELATION_ATTRIBUTES & set(element.attrib):
                element.set(name, renamed[element.get(name)])
            if element.tag == _NUM_ID:
                element.set(qn("w:val"), lists.get(element.get(qn("w:val")), element.get(qn("w:val"))))
        for child in list(wrapper):
            end.addprevious(child)
    out = io.BytesIO()
    document.save(out)
    return _undated(out.getvalue())


def _undated(package: bytes) -> bytes:
    """The package with every entry dated ZIP_DATE: python-docx stamps them with the time of saving."""
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=ZIP_DATE)
            fixed.compress_type, fixed.external_attr = zipfile.ZIP_DEFLATED, entry.external_attr
            target.writestr(fixed, source.read(entry.filename))
    return out.getvalue()


def _plain(inline: Token) -> str:
    """An inline token's text as shown (entities decoded, no markup)."""
    return "".join(child.content for child in inline.children or [] if child.type in ("text", "code_inline"))


class _Writer:
    """Walks markdown-it's block tokens and adds a paragraph or table per block."""

    def __init__(self, document, picture: bytes | None, picture_after: str):
        self.document = document
        self.picture, self.picture_after = picture, picture_after
        self.lists: list[dict] = []  # open lists, innermost last: {"ordered", "num_id", "items"}
        self.quoted = 0
        self._styles: dict[str, object] = {}
        self._style_ids: dict[str, str] = {}

    def add_paragraph(self, style: str | None):
        """A paragraph of a style whose id is looked up once: python-docx, given a style by name or
        as an object, searches every style for it and for the default, paragraph by paragraph."""
        paragraph = self.document.add_paragraph()
        if style is not None:
            if style not in self._style_ids:
                self._style_ids[style] = self.document.styles[style].style_id
            paragraph._p.style = self._style_ids[style]
        return paragraph

    def blocks(self, tokens: list[Token]) -> None:
        i = 0
        while i < len(tokens):
            token = tokens[i]
            kind = token.type
            if kind == "heading_open":
                self.heading(int(token.tag[1]), tokens[i + 1])
                i += 3
                continue
            if kind == "paragraph_open":
                self.paragraph(tokens[i + 1])
                i += 3
                continue
            if kind == "table_open":
                end = next(j for j in range(i, len(tokens)) if tokens[j].type == "table_close")
                self.table(tokens[i:end])
                i = end + 1
                continue
            if kind in ("bullet_list_open", "ordered_list_open"):
                self.lists.append({"ordered": kind == "ordered_list_open", "num_id": None})
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.lists.pop()
            elif kind == "list_item_open":
                self.lists[-1]["first"] = True
            elif kind == "blockquote_open":
                self.quoted += 1
            elif kind == "blockquote_close":
                self.quoted -= 1
            elif kind in ("fence", "code_block"):
                self.code(token.content)
            i += 1

    # -- blocks ----------------------------------------------------------------------------
    def heading(self, level: int, inline: Token) -> None:
        chart = self.picture is not None and level > 1 and inline.content.strip() == self.picture_after
        turned = chart and self.turn_for_chart()
        style = "Title" if level == 1 else f"Heading {min(9, level - 1)}"
        self.runs(self.add_paragraph(style), inline.children or [])
        if chart:
            self.chart()
            if turned:
                self.new_page(landscape=False)

    def turn_for_chart(self) -> bool:
        """A landscape page for the heading and the chart, when that prints the chart larger."""
        width, height = Image.open(io.BytesIO(self.picture)).size
        portrait = (PAPER[0] - 2 * MARGIN, PAPER[1] - 2 * MARGIN - HEADING_ROOM)
        landscape = (PAPER[1] - 2 * MARGIN, PAPER[0] - 2 * MARGIN - HEADING_ROOM)
        if landscape_is_larger(width, height, portrait=portrait, landscape=landscape):
            self.new_page(landscape=True)
            return True
        return False

    def new_page(self, *, landscape: bool) -> None:
        section = self.document.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = (PAPER[1], PAPER[0]) if landscape else PAPER

    def chart(self) -> None:
        """The Gantt chart as large as the page leaves room for below its heading."""
        section = self.document.sections[-1]
        width, height = Image.open(io.BytesIO(self.picture)).size
        room_width = section.page_width - section.left_margin - section.right_margin
        room_height = section.page_height - section.top_margin - section.bottom_margin - HEADING_ROOM
        scale = min(room_width / width, room_height / height)
        self.document.add_picture(io.BytesIO(self.picture), width=int(width * scale), height=int(height * scale))
        self.picture = None

    def paragraph(self, inline: Token) -> None:
        style = "Quote" if self.quoted else None
        numbering = None
        if self.lists:
            current = self.lists[-1]
            depth = "" if len(self.lists) == 1 else f" {min(3, len(self.lists))}"
            if not current.pop("first", False):
                style = f"List Continue{depth}"
            elif current["ordered"]:
                style = f"List Number{depth}"
                numbering = current
            else:
                style = f"List Bullet{depth}"
        paragraph = self.add_paragraph(style)
        if numbering is not None:
            self.number(paragraph, numbering)
        self.runs(paragraph, inline.children or [])

    def number(self, paragraph, current: dict) -> None:
        """Word continues one numbering through every List Number paragraph of a document; each
        list of ours gets its own instance of it, counting from 1."""
        if current["num_id"] is None:
            numbering = self.document.part.numbering_part.element
            style_num = paragraph.style.element.pPr.numPr.numId.val
            abstract = numbering.num_having_numId(style_num).abstractNumId.val
            num = numbering.add_num(abstract)
            num.add_lvlOverride(ilvl=0).add_startOverride(1)
            current["num_id"] = num.numId
        paragraph._p.get_or_add_pPr().get_or_add_numPr().get_or_add_numId().val = current["num_id"]

    def code(self, text: str) -> None:
        paragraph = self.add_paragraph("No Spacing")
        run = paragraph.add_run(text.rstrip("\n"))
        run.font.name, run.font.size = CODE_FONT, Pt(9)

    def table(self, tokens: list[Token]) -> None:
        rows: list[list[Token]] = []
        header_rows = 0
        in_head = False
        for j, token in enumerate(tokens):
            if token.type == "thead_open":
                in_head = True
            elif token.type == "thead_close":
                in_head = False
            elif token.type == "tr_open":
                rows.append([])
                header_rows += in_head
            elif token.type == "inline":
                rows[-1].append(token)
        columns = max((len(row) for row in rows), default=0)
        if not columns:
            return
        table = self.document.add_table(rows=len(rows), cols=columns)
        table.style = self.table_style()
        table.autofit = False
        widths = self.column_widths(rows, columns)
        for column, width in zip(table.columns, widths):
            column.width = width
        # Row by row: table.cell() walks the whole grid on every call.
        for r, (row, cells) in enumerate(zip(rows, (row.cells for row in table.rows))):
            for cell, width, inline in zip(cells, widths, row):
                cell.width = width  # Word reads each cell's width, LibreOffice the grid's
                self.runs(cell.paragraphs[0], inline.children or [], bold=r < header_rows)
        for r in range(header_rows):
            repeat = OxmlElement("w:tblHeader")
            repeat.set(qn("w:val"), "true")
            table.rows[r]._tr.get_or_add_trPr().append(repeat)
        self.add_paragraph(None)  # Word joins two tables that touch

    def table_style(self):
        if "Table Grid" not in self._styles:
            self._styles["Table Grid"] = self.document.styles["Table Grid"]
        return self._styles["Table Grid"]

    def column_widths(self, rows: list[list[Token]], columns: int) -> list[int]:
        least, wanted = [], []
        for c in range(columns):
            texts = [_plain(row[c]) for row in rows if c < len(row)]
            word = max((len(w) for text in texts for w in text.split()), default=1)
            least.append(word * CHAR_WIDTH + CELL_PADDING)
            wanted.append(max(least[-1], min(COLUMN_CHARS, max(map(len, texts), default=1)) * CHAR_WIDTH + CELL_PADDING))
        section = self.document.sections[-1]
        room = section.page_width - section.left_margin - section.right_margin
        if sum(wanted) <= room:  # every column gets what it wants, and the rest in proportion
            return [int(w * room / sum(wanted)) for w in wanted]
        if sum(least) >= room:  # long words: they will break, in proportion
            return [int(n * room / sum(least)) for n in least]
        spare, extra = room - sum(least), sum(w - n for w, n in zip(wanted, least))
        return [int(n + (w - n) * spare / extra) for w, n in zip(wanted, least)]

    # -- inline ----------------------------------------------------------------------------
    def runs(self, paragraph, children: list[Token], *, bold: bool = False) -> None:
        strong, emphasis, link = (1 if bold else 0), 0, None
        for token in children:
            kind = token.type
            if kind == "strong_open":
                strong += 1
            elif kind == "strong_close":
                strong -= 1
            elif kind == "em_open":
                emphasis += 1
            elif kind == "em_close":
                emphasis -= 1
            elif kind == "link_open":
                href = str(token.attrGet("href") or "")
                link = self.hyperlink(paragraph, href) if href.split(":", 1)[0].lower() in (
                    "http", "https", "mailto") and is_safe_url(href) else None
            elif kind == "link_close":
                link = None
            elif kind in ("text", "code_inline", "softbreak", "hardbreak", "image", "html_inline"):
                text = {"softbreak": " ", "hardbreak": "\n"}.get(kind, token.content)
                run = paragraph.add_run(text)
                run.bold, run.italic = bool(strong) or None, bool(emphasis) or None
                if kind == "code_inline":
                    run.font.name = CODE_FONT
                if link is not None:
                    run.font.color.rgb, run.font.underline = LINK_COLOR, True
                    link.append(run._r)

    def hyperlink(self, paragraph, url: str):
        """A w:hyperlink in the paragraph; the link's runs are moved into it as they are added."""
        element = OxmlElement("w:hyperlink")
        element.set(qn("r:id"), paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True))
        paragraph._p.append(element)
        return element
