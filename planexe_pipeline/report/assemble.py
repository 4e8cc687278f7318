"""Glue between the run folder and the report: sections in reading order, WBS tree, Gantt bars.

Every text of the report was written by an LLM in an earlier stage; this module only orders
it, fixes heading levels so each stage's markdown nests under the report's own section
heading, and turns the WBS and schedule models into the renderer's inputs. Nothing here
depends on the run folder's path or the time of day, so the same plan gives the same bytes.
"""

from __future__ import annotations

import datetime
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

from markdown_it import MarkdownIt

from planexe_pipeline.report.gantt_svg import GanttBar, GanttChart, count_by_level
from planexe_pipeline.report.html import ReportSection, WBSNode
from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages.markdown import one_line
from planexe_pipeline.stages.schedule import DatedSchedule
from planexe_pipeline.stages.wbs import WBSProject, WBSTask
from planexe_pipeline.telemetry.plan_authors import NOTICE_TITLE, PlanAuthors


def report_links(plan_markdown: str) -> dict[str, str]:
    """Our own relative links in the page header; timeline.html is written at the end of
    `planexe-pipeline run` (or by `planexe-pipeline timeline`), from the run's telemetry."""
    return {"Timeline": "timeline.html", "Plan (markdown)": plan_markdown}

# Block structure is all heading normalisation needs; skipping the inline pass (emphasis,
# links...) halves the time the report spends on the critical path's last step.
_PARSER = MarkdownIt("commonmark", {"html": False}).enable("table").disable("inline")


def normalise_headings(markdown: str, top_level: int) -> str:
    """Drop the stage's own leading title and shift the remaining headings so the shallowest
    is `top_level`: the report supplies the section title, and the stage's sub-headings
    must nest under it whatever level the stage used."""
    lines = markdown.splitlines()
    title, headings = _headings(markdown)
    if title is not None:
        start, end = title
        lines[start:end] = [""] * (end - start)
    if headings:
        shift = top_level - min(level for _, _, level, _ in headings)
        for start, end, level, text in headings:
            level = max(1, min(6, level + shift))
            lines[start:end] = [f"{'#' * level} {one_line(text)}"] + [""] * (end - start - 1)
    return "\n".join(lines).strip() + "\n"


@lru_cache(maxsize=64)
def _headings(markdown: str) -> tuple[tuple[int, int] | None, tuple[tuple[int, int, int, str], ...]]:
    """(the leading title's line span or None, (start, end, level, text) of every other top-level
    heading). Cached: the report normalises each section twice (plan.md and the HTML page), and
    parsing is most of the time it spends on the critical path's last step."""
    tokens = _PARSER.parse(markdown)
    # Only top-level headings: one inside a list or quote belongs to that block's text.
    headings = [(*t.map, int(t.tag[1]), tokens[i + 1].content) for i, t in enumerate(tokens)
                if t.type == "heading_open" and t.level == 0 and t.map]
    title = None
    if headings and tokens[0].type == "heading_open" and tokens[0].map and tokens[0].level == 0:
        title = tuple(headings.pop(0)[:2])
    return title, tuple(headings)


def report_sections(specs: Sequence[Section], texts: Mapping[str, str], *,
                    for_html: bool = False) -> list[ReportSection]:
    """The sections in reading order, the same in plan.md and on the page; `texts` maps each
    section key to its stage markdown."""
    missing = [s.key for s in specs if s.key not in texts]
    if missing:
        raise KeyError(f"report sections missing: {', '.join(missing)}")
    return [ReportSection(key=s.key, title=s.title, page_part=s.page_part,
                          markdown=normalise_headings(texts[s.key], top_level=1 if for_html else 3))
            for s in sorted(specs, key=lambda s: s.position)]


def notice(authors: PlanAuthors) -> tuple[str, str] | None:
    """(title, text) of the warning a plan the simulator wrote carries, else None."""
    text = authors.notice()
    return (NOTICE_TITLE, text) if text else None


def plan_markdown(title: str, prompt: str, sections: Iterable[ReportSection],
                  authors: PlanAuthors | None = None) -> str:
    """The plan.md of a run: the whole plan as one markdown document, sections under level-2
    headings; under the title, the models that wrote it and, for simulated text, the warning."""
    sections = list(sections)
    parts = _front(title, prompt, [s.title for s in sections], authors)
    for section in sections:
        parts += [f"## {section.title}", section.markdown.strip()]
    return "\n\n".join(p for p in parts if p) + "\n"


def plan_front(title: str, prompt: str, section_titles: Sequence[str], authors: PlanAuthors | None = None) -> str:
    """What plan.md holds before its first section: the title, the byline, the idea, the contents."""
    return "\n\n".join(p for p in _front(title, prompt, section_titles, authors) if p) + "\n"


def _front(title: str, prompt: str, section_titles: Sequence[str], authors: PlanAuthors | None) -> list[str]:
    quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in prompt.strip().splitlines())
    contents = "\n".join(f"{i}. [{t}](#{_anchor(t)})" for i, t in enumerate(section_titles, 1))
    byline = []
    if authors is not None:
        warning = notice(authors)
        byline = [f"> **{warning[0]}.** {warning[1]}" if warning else "", f"**Written by:** {authors.line()}"]
    return [f"# {one_line(title)}", *byline, "## The idea", quoted, "## Contents", contents]


def _anchor(title: str) -> str:
    # The anchor markdown viewers (GitHub, GitLab, VS Code) derive from a heading; our
    # section titles are plain words, so lower-casing and hyphenating is the whole rule.
    return "-".join("".join(c for c in title.lower() if c.isalnum() or c == " ").split())


def report_title(topic: str) -> str:
    topic = one_line(topic)
    return f"Project plan: {topic}" if topic else "Project plan"


# -- schedule -> Gantt ---------------------------------------------------------------------

def _depths(schedule: DatedSchedule) -> dict[str, int]:
    parent = {t.id: t.parent_id for t in schedule.tasks}
    depth: dict[str, int] = {}
    for task in schedule.tasks:
        d, p, seen = 1, parent.get(task.id), {task.id}
        while p is not None and p in parent and p not in seen:
            seen.add(p)
            d, p = d + 1, parent[p]
        depth[task.id] = d
    return depth


def gantt_chart(schedule: DatedSchedule, max_depth: int = 2) -> GanttChart | None:
    """Phases and their tasks as bars, in WBS order; subtasks are left to the schedule table,
    or a plan of a hundred subtasks would be a chart nobody can read."""
    if not schedule.tasks:
        return None
    depth = _depths(schedule)
    children: dict[str | None, list] = {}
    for task in schedule.tasks:
        children.setdefault(task.parent_id if task.parent_id in depth else None, []).append(task)

    bars: list[GanttBar] = []

    def visit(task) -> None:
        if depth[task.id] > max_depth:
            return
        # A zero-day task still gets a visible day on the chart.
        end = task.end if task.end > task.start else task.start + datetime.timedelta(days=1)
        bars.append(GanttBar(id=task.id, title=one_line(task.title), start=task.start, end=end,
                             critical=task.critical, level=depth[task.id]))
        for child in children.get(task.id, []):
            visit(child)

    for root in children.get(None, []):
        visit(root)
    return GanttChart(bars=bars)


def wbs_tree(project: WBSProject) -> list[WBSNode]:
    def node(task: WBSTask) -> WBSNode:
        return WBSNode(id=task.id, title=one_line(task.title), duration_days=task.duration_days,
                       children=tuple(node(c) for c in task.children))

    return [node(phase) for phase in project.phases]


def report_meta(schedule: DatedSchedule, authors: PlanAuthors | None = None) -> dict[str, str]:
    levels = {task.id: task.level for task in schedule.tasks}
    last_day = max(schedule.start_date, schedule.end_date - datetime.timedelta(days=1))
    days = (schedule.end_date - schedule.start_date).days
    return {
        **({"Written by": authors.line()} if authors is not None else {}),
        "Start": schedule.start_date.isoformat(),
        "Last day": last_day.isoformat(),
        "Duration": f"{days} calendar days",
        "Work breakdown": count_by_level(task.level for task in schedule.tasks),
        "Critical path": count_by_level(levels[task_id] for task_id in schedule.critical_path if task_id in levels),
    }
