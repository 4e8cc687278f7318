"""The diff of two plans as one self-contained HTML page: inline CSS, no script, nothing loaded.

Nearly every word on it (titles, items, section lines) was written by an LLM, so it goes through
Jinja's autoescaping and nothing is marked safe; the page forbids scripts and remote loads by its
Content-Security-Policy as the report does (report/html.py).
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from planexe_pipeline.run_folder import write_whole
from planexe_pipeline.variants.diff import PlanDiff

_ENV = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")), autoescape=True,
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _line_class(line: str) -> str:
    return {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "ctx")


_ENV.filters["line_class"] = _line_class


def render_diff_html(diff: PlanDiff) -> str:
    changed = [s for s in diff.sections if s.status != "same"]
    return _ENV.get_template("diff.html.j2").render(
        diff=diff, changed_sections=changed, same_sections=[s for s in diff.sections if s.status == "same"],
        changed_items=[i for i in diff.items if i.any])


def write_diff_html(diff: PlanDiff, out: Path) -> Path:
    """Written whole or not at all (a temporary file renamed), like every file of a plan."""
    write_whole(out, render_diff_html(diff))
    return out
