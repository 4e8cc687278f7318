"""An HTML page as the report tests read it, the hostile strings they feed it, and sample Gantt bars."""

from __future__ import annotations

import datetime
from html.parser import HTMLParser


from planexe_pipeline.report.gantt_svg import GanttBar

SCRIPT_PAYLOAD = "<script>alert(1)</script>"
ATTR_PAYLOAD = '"><img src=x onerror=alert(1)>'
SVG_PAYLOAD = '"><svg onload=alert(1)>'
MARKDOWN_LINK = "https://example.org/guide"


class Page(HTMLParser):
    """Flattens a document into elements (with their nesting path) and text."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.html = markup
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


def gantt_bars() -> list[GanttBar]:
    d = datetime.date
    return [
        GanttBar("1", "Setup", d(2025, 3, 3), d(2025, 3, 31), critical=True, level=1),
        GanttBar("1.1", "Form cooperative", d(2025, 3, 3), d(2025, 3, 17), critical=True, level=2),
        GanttBar("1.2", "Appoint board", d(2025, 3, 17), d(2025, 3, 31), level=2),
        GanttBar("2", "Financing", d(2025, 3, 31), d(2025, 6, 30), level=1),
        GanttBar("2.1", SVG_PAYLOAD, d(2025, 4, 1), d(2025, 5, 1), level=2),
        GanttBar("M", "Go-live milestone", d(2025, 6, 30), d(2025, 6, 30), critical=True, level=2),
    ]

