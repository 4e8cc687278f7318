"""The report's Gantt chart as a PNG, for the Word export: Word takes no SVG.

Drawn with Pillow from the same bars, axis and colours as the report's SVG (report/gantt_svg.py),
not by rasterising the SVG: Pillow comes with WeasyPrint in the export extra, where an SVG
rasteriser would bring Cairo besides. Text uses Pillow's own font, so the image is the same
bytes on every machine.
"""

from __future__ import annotations

import datetime
import io

from PIL import Image, ImageDraw, ImageFont

from planexe_pipeline.report.gantt_svg import (AXIS_HEIGHT, BAR_HEIGHT, COLOR_CRITICAL, COLOR_GRID_MONTH,
                                               COLOR_GRID_WEEK, COLOR_MUTED, COLOR_PHASE, COLOR_ROW_STRIPE,
                                               COLOR_TASK, COLOR_TEXT, LABEL_MAX_CHARS, LABEL_WIDTH,
                                               LEGEND_HEIGHT, MIN_BAR_WIDTH, RIGHT_PADDING, ROW_HEIGHT,
                                               GanttChart, month_marks, time_axis, truncate_label)

SCALE = 3  # image pixels per SVG unit: sharp at the width a page prints it
FONT_SIZE = 12


def render_png(chart: GanttChart) -> bytes:
    """The chart as PNG bytes; a chart without bars is not drawn (the caller leaves it out)."""
    start, end, per_day = time_axis(chart)
    width = LABEL_WIDTH + (end - start).days * per_day + RIGHT_PADDING
    height = AXIS_HEIGHT + len(chart.bars) * ROW_HEIGHT + LEGEND_HEIGHT
    image = Image.new("RGB", (round(width * SCALE), round(height * SCALE)), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=FONT_SIZE * SCALE)
    small = ImageFont.load_default(size=10 * SCALE)
    rows_bottom = AXIS_HEIGHT + len(chart.bars) * ROW_HEIGHT

    def x_of(day: datetime.date) -> float:
        return LABEL_WIDTH + (day - start).days * per_day

    def box(x0: float, y0: float, x1: float, y1: float, fill: str) -> None:
        draw.rectangle([x0 * SCALE, y0 * SCALE, x1 * SCALE, y1 * SCALE], fill=fill)

    def line(x: float, y0: float, y1: float, fill: str) -> None:
        draw.line([(x * SCALE, y0 * SCALE), (x * SCALE, y1 * SCALE)], fill=fill, width=SCALE // 2 or 1)

    def text(x: float, y: float, words: str, fill: str, *, face=font, bold: bool = False) -> None:
        draw.text((x * SCALE, y * SCALE), words, fill=fill, font=face, anchor="ls",
                  stroke_width=1 if bold else 0, stroke_fill=fill)

    for row in range(0, len(chart.bars), 2):
        box(0, AXIS_HEIGHT + row * ROW_HEIGHT, width, AXIS_HEIGHT + (row + 1) * ROW_HEIGHT, COLOR_ROW_STRIPE)
    if 7 * per_day >= 10:  # week lines on Mondays, as the SVG draws them
        day = start + datetime.timedelta(days=(7 - start.weekday()) % 7)
        while day < end:
            line(x_of(day), AXIS_HEIGHT - 6, rows_bottom, COLOR_GRID_WEEK)
            if 7 * per_day >= 26:
                text(x_of(day) + 2, AXIS_HEIGHT - 8, str(day.day), COLOR_MUTED, face=small)
            day += datetime.timedelta(days=7)
    for mark in month_marks(start, end, per_day):
        if mark.line:
            line(x_of(mark.first_day), 4, rows_bottom, COLOR_GRID_MONTH)
        if mark.year:
            text(x_of(mark.first_day) + 4, AXIS_HEIGHT - 8, mark.year, COLOR_MUTED, face=small)
        if mark.label:
            text(x_of(mark.first_day) + 4, 16, mark.label, COLOR_TEXT, bold=True)
    line(x_of(end), 4, rows_bottom, COLOR_GRID_MONTH)
    draw.line([(LABEL_WIDTH * SCALE, AXIS_HEIGHT * SCALE), (x_of(end) * SCALE, AXIS_HEIGHT * SCALE)],
              fill=COLOR_GRID_MONTH, width=SCALE // 2 or 1)

    for row, bar in enumerate(chart.bars):
        top = AXIS_HEIGHT + row * ROW_HEIGHT
        phase = bar.level <= 1
        indent = 8 + 14 * max(0, bar.level - 1)
        label = truncate_label(f"{bar.id} {bar.title}".strip(), LABEL_MAX_CHARS - (indent - 8) // 7)
        text(indent, top + ROW_HEIGHT / 2 + 4, label, COLOR_TEXT, bold=phase)
        bar_height = BAR_HEIGHT - 4 if phase else BAR_HEIGHT
        y = top + (ROW_HEIGHT - bar_height) / 2
        x = x_of(bar.start)
        fill = COLOR_CRITICAL if bar.critical else (COLOR_PHASE if phase else COLOR_TASK)
        draw.rounded_rectangle([x * SCALE, y * SCALE, (x + max(MIN_BAR_WIDTH, x_of(bar.end) - x)) * SCALE,
                                (y + bar_height) * SCALE], radius=2 * SCALE, fill=fill)

    x = 8.0
    for name, color in (("Phase", COLOR_PHASE), ("Task", COLOR_TASK), ("Critical path", COLOR_CRITICAL)):
        box(x, rows_bottom + 12, x + 14, rows_bottom + 22, color)
        text(x + 20, rows_bottom + 21, name, COLOR_MUTED, face=small)
        x += 30 + 7 * len(name)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
