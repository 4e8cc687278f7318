"""The export formats, declared once: the files' names, the module that writes each, and the
libraries it needs (the package's `export` extra)."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from functools import cache

EXTRA_INSTALL = "pip install 'planexe-pipeline[export]'"


@dataclass(frozen=True)
class ExportFormat:
    name: str  # what --format and [export] formats call it
    label: str  # what a reader calls it
    stem: str  # the file is NNN-<stem>.<suffix>, NNN the export step's number
    suffix: str
    module: str  # planexe_pipeline.export.<module>, whose write(...) returns the file's bytes
    libraries: tuple[str, ...]  # import names of what the module needs beyond the core install
    mime_type: str
    binary: bool = False  # not text: the MCP server hands it out in base64

    def file_name(self, number: int) -> str:
        return f"{number:03d}-{self.stem}.{self.suffix}"

    def missing(self) -> tuple[str, ...]:
        """The libraries of this format that are not installed."""
        return tuple(lib for lib in self.libraries if not _installed(lib))

    def writer(self):
        """The format's module; call only when missing() is empty."""
        return importlib.import_module(f"planexe_pipeline.export.{self.module}")


FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    # The standard library writes XML: the project file needs nothing of the extra.
    ExportFormat("mspdi", "MS Project XML", "schedule", "xml", "ms_project", (), "application/xml"),
    ExportFormat("ics", "iCalendar", "schedule", "ics", "ical", ("icalendar",), "text/calendar"),
    ExportFormat("pdf", "PDF", "report", "pdf", "pdf", ("weasyprint", "pikepdf"), "application/pdf", binary=True),
    ExportFormat("docx", "Word", "plan", "docx", "word", ("docx", "PIL"),
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document", binary=True),
)}


@cache
def _installed(library: str) -> bool:
    # find_spec, not an import: asked when a run starts, where importing WeasyPrint would cost
    # half a second before the first task.
    return importlib.util.find_spec(library) is not None


def parse_formats(text: str) -> tuple[ExportFormat, ...]:
    """'mspdi,pdf' -> the formats, in the order of FORMATS; ValueError names an unknown one."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format {', '.join(repr(n) for n in unknown)}: "
                         f"choose from {', '.join(FORMATS)}")
    return tuple(f for f in FORMATS.values() if f.name in names)


def missing_line(formats: tuple[ExportFormat, ...]) -> str | None:
    """One line naming the formats whose libraries are missing and the extra that brings them."""
    lacking = [f for f in formats if f.missing()]
    if not lacking:
        return None
    names = ", ".join(f.label for f in lacking)
    plural = len(lacking) > 1
    return f"the {names} export{'s need' if plural else ' needs'} the export extra: {EXTRA_INSTALL}"
