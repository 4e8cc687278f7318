"""Render a project schedule as a self-contained inline SVG Gantt chart.

The chart is embedded straight into the HTML report and may also be saved as a
standalone .svg, so it must be well-formed XML, reference nothing outside itself
and escape every piece of text: bar ids and titles come from an LLM.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from dataclasses import dataclass
from html import escape
from typing import Iterable

__all__ = ["GanttBar", "GanttChart", "MonthMark", "render_gantt_svg", "count_by_level", "time_axis", "month_marks",
           "add_month", "truncate_label"]


@dataclass(frozen=True)
class GanttBar:
    id: str
    title: str
    start: datetime.date
    end: datetime.date  # exclusive, so a one-day task has end == start + 1 day
    critical: bool = False
    level: int = 1  # 1 = top-level phase, 2 = task


@dataclass(frozen=True)
class GanttChart:
    bars: list[GanttBar]


# Layout, in SVG user units (pixels at 100% zoom).
LABEL_WIDTH = 320  # fits ~50 characters of 12px sans-serif
LABEL_MAX_CHARS = 50
ROW_HEIGHT = 22
BAR_HEIGHT = 14
AXIS_HEIGHT = 40
LEGEND_HEIGHT = 30
RIGHT_PADDING = 16
# A short project gets roomy days; a multi-year one stays readable by scrolling
# rather than squeezing every bar into a sliver.
TARGET_TIMELINE_WIDTH = 760  # with the labels, a one-year plan fits a laptop screen
MIN_PX_PER_DAY = 2.0
MAX_PX_PER_DAY = 28.0
# Zero-length (milestone-like) bars would otherwise be invisible.
MIN_BAR_WIDTH = 4.0

FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
COLOR_TASK = "#5b8bd0"
COLOR_PHASE = "#2c4f86"
COLOR_CRITICAL = "#c8372d"
COLOR_GRID_MONTH = "#b9c0ca"
COLOR_GRID_WEEK = "#e4e8ee"
COLOR_ROW_STRIPE = "#f5f7fa"
COLOR_TEXT = "#1f2933"
COLOR_MUTED = "#5f6b7a"

# Fixed English names: strftime("%b") would follow the process locale and make
# the output depend on where the pipeline happens to run.
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# What the report calls an item of the work breakdown at each level: every count it states (header,
# work breakdown, Gantt) names its items by these, so none counts "tasks" that another does not.
LEVEL_NAMES = {1: ("phase", "phases"), 2: ("task", "tasks"), 3: ("subtask", "subtasks")}


def count_by_level(levels: Iterable[int]) -> str:
    """'4 phases, 24 tasks and 94 subtasks': the items of the given work-breakdown levels, counted."""
    counts = Counter(levels)
    parts = []
    for level in sorted(counts):
        one, many = LEVEL_NAMES.get(level, (f"level-{level} item", f"level-{level} items"))
        parts.append(f"{counts[level]} {one if counts[level] == 1 else many}")
    if not parts:
        return "no items"
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def render_gantt_svg(chart: GanttChart) -> str:
    """Return one <svg> element drawing every bar of `chart` on a shared time axis."""
    if not chart.bars:
        return _empty_svg()

    range_start, range_end, px_per_day = time_axis(chart)
    timeline_width = (range_end - range_start).days * px_per_day

    width = LABEL_WIDTH + timeline_width + RIGHT_PADDING
    rows_height = len(chart.bars) * ROW_HEIGHT
    height = AXIS_HEIGHT + rows_height + LEGEND_HEIGHT

    def x_of(day: datetime.date) -> float:
        return LABEL_WIDTH + (day - range_start).days * px_per_day

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" role="img" '
        f'width="{_num(width)}" height="{_num(height)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" '
        f'font-family="{escape(FONT_FAMILY)}" font-size="12">',
        f"<title>Gantt chart: {count_by_level(bar.level for bar in chart.bars)}, "
        f"{range_start.isoformat()} to {(range_end - datetime.timedelta(days=1)).isoformat()}</title>",
    ]
    parts.extend(_row_stripes(len(chart.bars), width))
    parts.extend(_axis(range_start, range_end, px_per_day, x_of, rows_height))
    for row, bar in enumerate(chart.bars):
        parts.append(_bar_row(bar, row, x_of))
    parts.append(_legend(AXIS_HEIGHT + rows_height))
    parts.append("</svg>")
    return "\n".join(parts)


def time_axis(chart: GanttChart) -> tuple[datetime.date, datetime.date, float]:
    """(first day, day after the last, pixels per day) of a chart with bars: any drawing of it
    (this SVG, the Word export's PNG) spaces its days alike."""
    range_start = min(bar.start for bar in chart.bars)
    # max(start + 1) keeps a degenerate chart of zero-length bars at least a day wide.
    range_end = max(max(bar.end, bar.start + datetime.timedelta(days=1)) for bar in chart.bars)
    span_days = (range_end - range_start).days
    return range_start, range_end, min(MAX_PX_PER_DAY, max(MIN_PX_PER_DAY, TARGET_TIMELINE_WIDTH / span_days))


def _empty_svg() -> str:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" class="gantt gantt-empty" role="img" '
        'width="320" height="48" viewBox="0 0 320 48" '
        f'font-family="{escape(FONT_FAMILY)}" font-size="14">'
        '<rect x="0.5" y="0.5" width="319" height="47" rx="4" fill="#f5f7fa" stroke="#d5dbe3"/>'
        f'<text x="160" y="29" text-anchor="middle" fill="{COLOR_MUTED}">No scheduled tasks</text>'
        "</svg>"
    )


def _row_stripes(row_count: int, width: float) -> list[str]:
    # Alternate row shading lets the eye follow a label across to its bar.
    return [
        f'<rect class="row-stripe" x="0" y="{_num(AXIS_HEIGHT + row * ROW_HEIGHT)}" '
        f'width="{_num(width)}" height="{ROW_HEIGHT}" fill="{COLOR_ROW_STRIPE}"/>'
        for row in range(0, row_count, 2)
    ]


def _axis(range_start: datetime.date, range_end: datetime.date, px_per_day: float,
          x_of, rows_height: int) -> list[str]:
    grid_bottom = AXIS_HEIGHT + rows_height
    parts = ['<g class="axis">']

    # Week ticks on Mondays; skipped when weeks would be too cramped to help.
    week_px = 7 * px_per_day
    if week_px >= 10:
        day = range_start + datetime.timedelta(days=(7 - range_start.weekday()) % 7)
        while day < range_end:
            x = _num(x_of(day))
            parts.append(f'<line class="week-tick" x1="{x}" y1="{AXIS_HEIGHT - 6}" x2="{x}" '
                         f'y2="{grid_bottom}" stroke="{COLOR_GRID_WEEK}"/>')
            if week_px >= 26:
                parts.append(f'<text x="{_num(x_of(day) + 2)}" y="{AXIS_HEIGHT - 8}" '
                             f'font-size="10" fill="{COLOR_MUTED}">{day.day}</text>')
            day += datetime.timedelta(days=7)

    for mark in month_marks(range_start, range_end, px_per_day):
        x = x_of(mark.first_day)
        if mark.line:
            parts.append(f'<line class="month-tick" x1="{_num(x)}" y1="4" x2="{_num(x)}" '
                         f'y2="{grid_bottom}" stroke="{COLOR_GRID_MONTH}"/>')
        if mark.year:
            parts.append(f'<text class="year" x="{_num(x + 4)}" y="{AXIS_HEIGHT - 8}" font-size="10" '
                         f'fill="{COLOR_MUTED}">{mark.year}</text>')
        if mark.label:
            parts.append(f'<text x="{_num(x + 4)}" y="16" font-weight="600" '
                         f'fill="{COLOR_TEXT}">{mark.label}</text>')

    parts.append(f'<line x1="{LABEL_WIDTH}" y1="{AXIS_HEIGHT}" x2="{_num(x_of(range_end))}" '
                 f'y2="{AXIS_HEIGHT}" stroke="{COLOR_GRID_MONTH}"/>')
    parts.append(f'<line x1="{_num(x_of(range_end))}" y1="4" x2="{_num(x_of(range_end))}" '
                 f'y2="{grid_bottom}" stroke="{COLOR_GRID_MONTH}"/>')
    parts.append("</g>")
    return parts


@dataclass(frozen=True)
class MonthMark:
    first_day: datetime.date  # where the month starts on the chart (the chart's first day, mid-month)
    line: bool  # a boundary line: the month starts within the chart
    label: str  # "Mar 2026", "Mar", or "" where even that would run into the next month's
    year: str  # the year on the row below, where the label has no room for it: "" elsewhere


def month_marks(range_start: datetime.date, range_end: datetime.date, px_per_day: float) -> list[MonthMark]:
    """The months of the axis and what each shows; every drawing of the chart marks them alike.

    The first label sits at the range start even mid-month, so the reader always knows where the
    chart begins. A label is drawn only where it fits its month ("Mar 2026" would run into "Apr"
    on a year-long chart); where the year does not fit, it stands on the row below, at the start
    and where a new year begins (unless week days are shown on that row)."""
    marks = []
    month_start = range_start.replace(day=1)
    while month_start < range_end:
        next_month = _add_month(month_start)
        seg_start = max(month_start, range_start)
        seg_px = (min(next_month, range_end) - seg_start).days * px_per_day
        label, year = f"{MONTH_NAMES[month_start.month - 1]} {month_start.year}", ""
        if seg_px < _label_px(label):
            label = MONTH_NAMES[month_start.month - 1]
            if 7 * px_per_day < 26 and (seg_start == range_start or month_start.month == 1):
                year = str(month_start.year)
        marks.append(MonthMark(seg_start, month_start >= range_start, label if seg_px >= _label_px(label) else "",
                               year))
        month_start = next_month
    return marks


def _bar_row(bar: GanttBar, row: int, x_of) -> str:
    top = AXIS_HEIGHT + row * ROW_HEIGHT
    is_phase = bar.level <= 1
    classes = ["bar", "phase" if is_phase else "task"]
    if bar.critical:
        classes.append("critical")
    fill = COLOR_CRITICAL if bar.critical else (COLOR_PHASE if is_phase else COLOR_TASK)

    x = x_of(bar.start)
    bar_width = max(MIN_BAR_WIDTH, x_of(bar.end) - x)
    # Phases are drawn slightly slimmer so they read as summaries of the tasks below.
    bar_height = BAR_HEIGHT - 4 if is_phase else BAR_HEIGHT
    bar_y = top + (ROW_HEIGHT - bar_height) / 2

    indent = 8 + 14 * max(0, bar.level - 1)
    label = truncate_label(f"{bar.id} {bar.title}".strip(), LABEL_MAX_CHARS - (indent - 8) // 7)
    weight = ' font-weight="700"' if is_phase else ""
    last_day = bar.end - datetime.timedelta(days=1)
    tooltip = (f"{bar.id} {bar.title} ({bar.start.isoformat()} to "
               f"{max(last_day, bar.start).isoformat()}){' - critical path' if bar.critical else ''}")
    return (
        '<g class="gantt-row">'
        f"<title>{_xml_text(tooltip)}</title>"
        f'<text x="{indent}" y="{_num(top + ROW_HEIGHT / 2 + 4)}" fill="{COLOR_TEXT}"{weight}>'
        f"{_xml_text(label)}</text>"
        f'<rect class="{" ".join(classes)}" x="{_num(x)}" y="{_num(bar_y)}" '
        f'width="{_num(bar_width)}" height="{_num(bar_height)}" rx="2" fill="{fill}"/>'
        "</g>"
    )


def _legend(top: int) -> str:
    y = top + 12
    items = [("Phase", COLOR_PHASE), ("Task", COLOR_TASK), ("Critical path", COLOR_CRITICAL)]
    parts = ['<g class="legend">']
    x = 8
    for name, color in items:
        parts.append(f'<rect x="{x}" y="{y}" width="14" height="10" rx="2" fill="{color}"/>')
        parts.append(f'<text x="{x + 20}" y="{y + 9}" fill="{COLOR_MUTED}">{name}</text>')
        x += 30 + 7 * len(name)
    parts.append("</g>")
    return "".join(parts)


def _label_px(label: str) -> float:
    """Room a month label needs: its offset, about 7 px a character at the axis's size, a gap."""
    return 4 + 7 * len(label) + 6


def _add_month(day: datetime.date) -> datetime.date:
    if day.month == 12:
        return day.replace(year=day.year + 1, month=1)
    return day.replace(month=day.month + 1)


def truncate_label(text: str, limit: int) -> str:
    # Collapse whitespace first: an LLM title with newlines would break the row layout.
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "\u2026"


# Control characters are not allowed in XML 1.0, so one stray byte from the LLM
# would make a standalone .svg unparseable.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return escape(_XML_INVALID.sub("", text), quote=True)


def _num(value: float) -> str:
    # Fixed rounding keeps the output byte-identical across runs and platforms.
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
