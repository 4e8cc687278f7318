"""A one-file HTML timeline of a run: which task ran when, on which slot, and what held it up.

The page has no script and no external reference, so it can be attached to a bug report,
opened from a CI artefact or viewed offline, and it renders the same everywhere.
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Callable

from planexe_pipeline.run_folder import write_whole
from planexe_pipeline.telemetry.critical_path import run_intervals
from planexe_pipeline.telemetry.event_log import of_kind
from planexe_pipeline.telemetry.events import Event, ProviderLimitEvent
from planexe_pipeline.telemetry.expected_work import read_expected_work
from planexe_pipeline.telemetry.plan_authors import NOTICE_TITLE, plan_authors
from planexe_pipeline.telemetry.stats import (
    RunStats, TaskExecution, llm_in_flight, load_events, memory_over_time, stats_from_events, task_executions,
)
from planexe_pipeline.telemetry.stats_table import money, ratio_text, share, wait_text

# Colours readable under dark text, given to the stage groups in the order the run started them:
# the groups are the tasks' own (their modules), so a new one needs no entry here.
PALETTE = ("#80b1d3", "#fdb462", "#fb8072", "#bc80bd", "#8dd3c7", "#b3de69", "#ffe066", "#f4a6c8", "#a6a1e0",
           "#66c2a5", "#c7c7c7", "#d9b38c", "#9ecae1", "#fdd0a2")
OTHER_COLOUR = "#e0e0e0"


def group_colours(executions: list[TaskExecution]) -> dict[str, str]:
    """Each group of the run, in the order its first task started, with its colour."""
    first: dict[str, float] = {}
    for run in executions:
        if run.group:
            first[run.group] = min(first.get(run.group, run.start), run.start)
    ordered = sorted(first, key=lambda group: (first[group], group))
    return {group: PALETTE[i % len(PALETTE)] for i, group in enumerate(ordered)}
# Executions that did no lasting work: a merge that yielded its items, a killed task.
FADED = {"yielded", "superseded", "incomplete"}

WIDTH, LEFT, RIGHT = 1200, 64, 28
PLOT = WIDTH - LEFT - RIGHT
LANE, BAR = 24, 18
CURVE = 120
MEMORY = 80
_MB = 1024 * 1024

CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2327;background:#fff}
h1{font-size:20px;margin:0 0 2px}
.sub{color:#5f6b73;margin:0 0 16px;font-size:13px}
.notice{margin:0 0 12px;padding:8px 12px;border:1px solid #e0b252;border-left:6px solid #d48806;background:#fff7e0;
border-radius:4px;font-size:13px;max-width:1140px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:18px}
.card{border:1px solid #dde3e8;border-radius:6px;padding:8px 12px;min-width:112px;background:#f8fafb}
.card b{display:block;font-size:20px;font-variant-numeric:tabular-nums}
.card span{color:#5f6b73;font-size:12px}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:0 0 8px;font-size:13px;color:#3b454c}
.sw{display:inline-block;width:14px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.sw.crit{background:#fff;border:2.5px solid #111;box-sizing:border-box}
.sw.faded{background:#dcdcdc;border:1px dashed #666;box-sizing:border-box}
.sw.fail{background:#fff;border:2px solid #d62728;box-sizing:border-box}
.sw.takeover{background:linear-gradient(135deg,#e6550d 45%,#fff 45%);border:1px solid #999;box-sizing:border-box}
svg{width:100%;max-width:1200px;height:auto;display:block}
svg text{font:11px system-ui,sans-serif;fill:#3b454c}
svg text.in{font-size:10px;fill:#1d2327}
table{border-collapse:collapse;margin-top:20px;font-size:13px;font-variant-numeric:tabular-nums}
th,td{padding:3px 10px;border-bottom:1px solid #e6eaed;text-align:right}
th{color:#5f6b73;font-weight:600}
th:first-child,td:first-child{text-align:left}
tfoot td{font-weight:600;border-top:2px solid #c9d1d7}
td.items{padding-left:28px}
"""


def lane_layout(executions: list[TaskExecution]) -> tuple[list[int], list[str]]:
    """The lane of each execution, and each lane's label: the LLM calls above (never more lanes than
    calls were in flight at once, so never more than the run's LLM slots), our own steps below (a
    merge, a chapter, the report: they hold no slot, and ran beside the calls)."""
    calls = [run for run in executions if run.llm]
    steps = [run for run in executions if not run.llm]
    call_lanes, step_lanes = assign_lanes(calls), assign_lanes(steps)
    first_step = max(call_lanes, default=-1) + 1
    lane_of = {id(run): lane for run, lane in zip(calls, call_lanes)}
    lane_of.update({id(run): first_step + lane for run, lane in zip(steps, step_lanes)})
    labels = [f"LLM {lane + 1}" for lane in range(first_step)]
    labels += [f"step {lane + 1}" for lane in range(max(step_lanes, default=-1) + 1)]
    return [lane_of[id(run)] for run in executions], labels


def assign_lanes(executions: list[TaskExecution]) -> list[int]:
    """Lowest free lane for each execution, taken in start order: one lane per busy slot."""
    lane_ends: list[float] = []
    lanes = []
    for run in executions:
        free = next((i for i, end in enumerate(lane_ends) if end <= run.start), None)
        if free is None:
            free = len(lane_ends)
            lane_ends.append(run.end)
        lane_ends[free] = max(run.end, run.start)
        lanes.append(free)
    return lanes


def _nice_step(span: float, target_ticks: int = 12) -> float:
    raw = max(span, 1e-9) / target_ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def _fit(label: str, room: float) -> str:
    # No script means no text measuring: assume ~6 px per character of the 10 px font.
    chars = int(room / 6.0)
    if chars >= len(label):
        return label
    return label[: chars - 1] + "…" if chars >= 5 else ""


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _seconds_label(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def _svg(executions: list[TaskExecution], steps: list[tuple[float, int]], stats: RunStats,
         t0: float, t1: float, colours: dict[str, str], limits: dict[str, list[tuple[float, int]]] | None = None,
         memory: list[tuple[float, int]] | None = None) -> str:
    span = max(t1 - t0, 1e-9)
    lanes, labels = lane_layout(executions)
    gantt_top = 10
    gantt_bottom = gantt_top + len(labels) * LANE
    curve_top = gantt_bottom + 56
    curve_bottom = curve_top + CURVE
    # Memory beside the calls in flight, on the same time axis: what the concurrency costs.
    memory_top = curve_bottom + 48
    bottom = memory_top + MEMORY if memory else curve_bottom

    def x(t: float) -> float:
        return LEFT + (t - t0) / span * PLOT

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {bottom + 40}" '
           'role="img" aria-label="task timeline">',
           f'<rect x="{LEFT}" y="{gantt_top}" width="{PLOT}" height="{gantt_bottom - gantt_top}" '
           'fill="#fbfcfd"/>']
    step = _nice_step(span)
    decimals = max(0, -math.floor(math.log10(step)))
    for index in range(int(span / step + 1e-9) + 1):
        tick = index * step  # multiplied, not accumulated, so labels never drift to 2.9999
        tx = _fmt(x(t0 + tick))
        out.append(f'<line class="grid" x1="{tx}" x2="{tx}" y1="{gantt_top}" y2="{bottom}" '
                   'stroke="#e9edf0"/>')
        for y in (gantt_bottom + 14, bottom + 15):
            out.append(f'<text x="{tx}" y="{y}" text-anchor="middle">{tick:.{decimals}f}</text>')
    out.append(f'<text x="{LEFT + PLOT}" y="{bottom + 32}" text-anchor="end">'
               'time since start (s)</text>')
    notes = {task: "on the chain that set the makespan" for task in stats.executed_chain} | {
        wait["task_id"]: wait_text(wait) for wait in stats.resource_waits}  # the waits say more
    out += _gantt(executions, lanes, labels, notes, stats.executed_chain, x, gantt_top, colours)
    out += _curve(steps, stats, x, t0, t1, curve_top, curve_bottom, limits or {})
    if memory:
        out += _memory_curve(memory, x, t0, t1, memory_top, bottom)
    out.append("</svg>")
    return "\n".join(out)


def _gantt(executions: list[TaskExecution], lanes: list[int], labels: list[str], chain_notes: dict[str, str],
           chain_order: list[str], x: Callable[[float], float], top: float, colours: dict[str, str]) -> list[str]:
    out = [f'<text x="{LEFT - 8}" y="{_fmt(top + lane * LANE + LANE / 2 + 4)}" text-anchor="end">'
           f'{label}</text>' for lane, label in enumerate(labels)]
    boxes: dict[str, tuple[float, float, float]] = {}
    bars: list[str] = []
    for run, lane in zip(executions, lanes):
        bx, bw = x(run.start), max(x(run.end) - x(run.start), 1.5)
        by = top + lane * LANE + (LANE - BAR) / 2
        on_chain = run.status == "ok" and run.task_id in chain_notes
        classes = ["bar", f"group-{run.group or 'other'}", f"status-{run.status}"]
        style = [f'fill="{colours.get(run.group, OTHER_COLOUR)}"']
        if on_chain:
            classes.append("critical")
            style.append('stroke="#111" stroke-width="2.2"')
            boxes[run.task_id] = (bx, bx + bw, by + BAR / 2)
        elif run.status == "failed":
            style.append('stroke="#d62728" stroke-width="2"')
        elif run.status in FADED:
            style.append('fill-opacity="0.45" stroke="#666" stroke-dasharray="3 2"')
        else:
            style.append('stroke="#fff" stroke-width="0.6"')
        name = run.family + ("" if run.item is None else f" [{run.item}]")
        tip = f"{name}\n{_seconds_label(run.seconds)}, {run.status}" + (f"\n{chain_notes[run.task_id]}" if on_chain else "")
        if run.taken_over_from:
            classes.append("taken-over")
            tip += f"\ntaken over from lost worker {run.taken_over_from}"
        tip += f"\n{run.task_id}"
        bars.append(f'<rect class="{escape(" ".join(classes))}" x="{_fmt(bx)}" y="{_fmt(by)}" '
                    f'width="{_fmt(bw)}" height="{BAR}" rx="2" {" ".join(style)}>'
                    f'<title>{escape(tip)}</title></rect>')
        if run.taken_over_from:  # a notch on the bar's start: this run replaced one lost with its worker
            bars.append(f'<path class="takeover-mark" d="M{_fmt(bx)} {_fmt(by)}h7l-7 9z" fill="#e6550d"/>')
        # The item goes first so that truncation keeps what tells fan-out bars apart.
        prefix = "" if run.item is None else f"[{run.item}] "
        label = _fit(run.family, bw - 8 - 6.0 * len(prefix))
        label = prefix + label if label or not prefix else _fit(prefix.strip(), bw - 8)
        if label:
            bars.append(f'<text class="in" x="{_fmt(bx + 4)}" y="{_fmt(by + BAR - 5)}">'
                        f'{escape(label)}</text>')
    # Connect the chain so the eye can follow it across slots; drawn first, so bars hide
    # the parts that cross them and only the hand-over gaps show.
    chain = [boxes[t] for t in chain_order if t in boxes]
    for (_, end_x, end_y), (start_x, _, start_y) in zip(chain, chain[1:]):
        out.append(f'<line class="critical-link" x1="{_fmt(end_x)}" y1="{_fmt(end_y)}" '
                   f'x2="{_fmt(start_x)}" y2="{_fmt(start_y)}" stroke="#111" stroke-width="1.2" '
                   'stroke-dasharray="2 2"/>')
    return out + bars


def provider_limit_steps(events: list[Event]) -> dict[str, list[tuple[float, int]]]:
    """Each provider endpoint's shared limit over time (llm/limiter.py), from its telemetry."""
    steps: dict[str, list[tuple[float, int]]] = {}
    for e in of_kind(events, ProviderLimitEvent):
        steps.setdefault(e.model or e.endpoint, []).append((e.start, e.limit))
    return {name: sorted(points) for name, points in steps.items()}


def _curve(steps: list[tuple[float, int]], stats: RunStats, x: Callable[[float], float],
           t0: float, t1: float, top: float, bottom: float,
           limits: dict[str, list[tuple[float, int]]]) -> list[str]:
    out = [f'<text x="{LEFT}" y="{top - 10}" font-weight="600">LLM calls in flight</text>']
    most = stats.max_llm_in_flight
    ceiling = max(most, stats.llm_slots or 0, *(n for points in limits.values() for _, n in points), 1)

    def y(level: float) -> str:
        return _fmt(bottom - level / ceiling * CURVE)

    for level in range(0, ceiling + 1, max(1, math.ceil(ceiling / 5))):
        out.append(f'<line x1="{LEFT}" x2="{LEFT + PLOT}" y1="{y(level)}" y2="{y(level)}" stroke="#eef1f3"/>')
        out.append(f'<text x="{LEFT - 8}" y="{_fmt(float(y(level)) + 4)}" text-anchor="end">{level}</text>')
    curve = f"M{_fmt(x(t0))},{y(0)}" + "".join(f"H{_fmt(x(t))}V{y(n)}" for t, n in steps) + f"H{_fmt(x(t1))}"
    out.append(f'<path class="in-flight-area" d="{curve}V{y(0)}Z" fill="#80b1d3" fill-opacity="0.25"/>')
    out.append(f'<path class="in-flight" d="{curve}" fill="none" stroke="#2f6d99" stroke-width="1.5"/>')
    if stats.llm_slots and stats.llm_slots != most:
        out.append(f'<line class="slots" x1="{LEFT}" x2="{LEFT + PLOT}" y1="{y(stats.llm_slots)}" '
                   f'y2="{y(stats.llm_slots)}" stroke="#999" stroke-dasharray="6 4"/>')
        out.append(f'<text x="{LEFT + PLOT}" y="{_fmt(float(y(stats.llm_slots)) - 4)}" '
                   f'text-anchor="end">{stats.llm_slots} slots</text>')
    for name, points in limits.items():
        # The provider's adaptive limit, drawn over the calls it let through.
        path = f"M{_fmt(x(points[0][0]))},{y(points[0][1])}" + "".join(
            f"H{_fmt(x(t))}V{y(n)}" for t, n in points[1:]) + f"H{_fmt(x(t1))}"
        out.append(f'<path class="provider-limit" d="{path}" fill="none" stroke="#ff7f0e" stroke-width="1.5" '
                   f'stroke-dasharray="5 3"><title>{escape(name)}: shared provider limit</title></path>')
        out.append(f'<text x="{_fmt(x(t1) - 4)}" y="{_fmt(float(y(points[-1][1])) - 4)}" text-anchor="end" '
                   f'fill="#ff7f0e">{escape(name)} limit {points[-1][1]}</text>')
    peak = next((t for t, n in steps if n == most), None)
    if peak is not None and most > 0:
        out.append(f'<line class="max-in-flight" x1="{LEFT}" x2="{LEFT + PLOT}" y1="{y(most)}" '
                   f'y2="{y(most)}" stroke="#d62728" stroke-dasharray="4 3"/>')
        out.append(f'<circle cx="{_fmt(x(peak))}" cy="{y(most)}" r="3.5" fill="#d62728"/>')
        out.append(f'<text x="{_fmt(x(peak) + 6)}" y="{_fmt(float(y(most)) - 6)}" fill="#d62728">'
                   f'max {most} in flight</text>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{top}" y2="{bottom}" stroke="#9aa5ad"/>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT + PLOT}" y1="{bottom}" y2="{bottom}" stroke="#9aa5ad"/>')
    return out


def _memory_curve(points: list[tuple[float, int]], x: Callable[[float], float], t0: float, t1: float,
                  top: float, bottom: float) -> list[str]:
    """The memory of the run's processes (PSS, MB) at each sample, as a line."""
    most = max(size for _, size in points) / _MB
    ceiling = max(_nice_step(most, 4) * 4, 1.0)

    def y(megabytes: float) -> str:
        return _fmt(bottom - megabytes / ceiling * MEMORY)

    out = [f'<text x="{LEFT}" y="{top - 10}" font-weight="600">Memory of the run\'s processes (MB, PSS)</text>']
    for level in (0.0, ceiling / 2, ceiling):
        out.append(f'<line x1="{LEFT}" x2="{LEFT + PLOT}" y1="{y(level)}" y2="{y(level)}" stroke="#eef1f3"/>')
        out.append(f'<text x="{LEFT - 8}" y="{_fmt(float(y(level)) + 4)}" text-anchor="end">{level:.0f}</text>')
    line = "".join(f"{'M' if i == 0 else 'L'}{_fmt(x(min(max(t, t0), t1)))},{y(size / _MB)}"
                   for i, (t, size) in enumerate(points))
    out.append(f'<path class="memory" d="{line}" fill="none" stroke="#6a3d9a" stroke-width="1.5">'
               f'<title>peak {most:.0f} MB</title></path>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{top}" y2="{bottom}" stroke="#9aa5ad"/>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT + PLOT}" y1="{bottom}" y2="{bottom}" stroke="#9aa5ad"/>')
    return out


def _cards(stats: RunStats) -> str:
    cards = [
        ("makespan", f"{stats.makespan_seconds:.1f} s"),
        ("sum of LLM time", f"{stats.llm_seconds:.1f} s"),
        ("critical path", f"{stats.critical_path_seconds:.1f} s"),
        ("executed chain", f"{stats.executed_chain_seconds:.1f} s"),
        ("efficiency", ratio_text(stats.efficiency, "", missing="–")),
        ("speedup vs sequential", ratio_text(stats.speedup, "×", missing="–")),
        ("tasks", str(stats.tasks)),
        ("LLM calls", str(stats.llm_calls)),
        ("retries", str(stats.retries)),
        ("max in flight", str(stats.max_llm_in_flight) + (f" / {stats.llm_slots}" if stats.llm_slots else "")),
    ]
    if stats.cost is not None or stats.unpriced:
        cards.append(("cost" + (" of the priced calls" if stats.unpriced and stats.cost is not None else ""),
                      money(stats.cost, stats.unpriced)))
    if stats.cached_share is not None:
        cards.append(("input served from cache", share(stats.cached_share)))
    cards.append(("CPU", f"{stats.cpu_seconds:.1f} s"))
    if stats.peak_memory_bytes:
        cards.append(("peak memory", f"{stats.peak_memory_bytes / _MB:.0f} MB"))
    return "".join(f'<div class="card"><b>{escape(value)}</b><span>{escape(label)}</span></div>'
                   for label, value in cards)


def _legend(executions: list[TaskExecution], colours: dict[str, str]) -> str:
    items = [f'<span><i class="sw" style="background:{colour}"></i>{escape(group)}</span>'
             for group, colour in colours.items()]
    items.append('<span><i class="sw crit"></i>the chain that set the makespan</span>')
    statuses = {run.status for run in executions}
    if statuses & FADED:
        items.append('<span><i class="sw faded"></i>yielded and re-ran later, or never finished</span>')
    if "failed" in statuses:
        items.append('<span><i class="sw fail"></i>failed</span>')
    if any(run.taken_over_from for run in executions):
        items.append('<span><i class="sw takeover"></i>taken over from a lost worker</span>')
    return '<div class="legend">' + "".join(items) + "</div>"


def _megabytes(value: int | None) -> str:
    return "–" if value is None else f"{value / _MB:.0f}"


def _stage_table(stats: RunStats, colours: dict[str, str]) -> str:
    rows = []
    for row in stats.stages:
        swatch = f'<i class="sw" style="background:{colours.get(row.group, OTHER_COLOUR)}"></i>'
        cell = '<td class="items">' if row.merged_into else "<td>"  # a fan-out's items, under their stage
        rows.append(f"<tr>{cell}{swatch}{escape(row.family)}</td><td>{row.tasks}</td><td>{row.calls}</td>"
                    f"<td>{row.retries}</td><td>{row.task_seconds:.1f}</td><td>{row.span_seconds:.1f}</td>"
                    f"<td>{row.llm_seconds:.1f}</td><td>{row.cpu_seconds:.2f}</td><td>{_megabytes(row.peak_rss_bytes)}</td>"
                    f"<td>{row.input_tokens}</td><td>{row.output_tokens}</td></tr>")
    mark = " (estimated)" if stats.tokens_estimated else ""
    return ("<table><thead><tr><th>stage</th><th>tasks</th><th>calls</th><th>retries</th><th>task s</th>"
            f"<th>span s</th><th>LLM s</th><th>CPU s</th><th>peak MB</th><th>tokens in{mark}</th><th>tokens out{mark}</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody><tfoot><tr><td>total</td><td>{stats.tasks}</td>"
            f"<td>{stats.llm_calls}</td><td>{stats.retries}</td><td>{stats.task_seconds:.1f}</td>"
            f"<td>{stats.makespan_seconds:.1f}</td><td>{stats.llm_seconds:.1f}</td>"
            f"<td>{stats.task_cpu_seconds:.2f}</td><td>{_megabytes(stats.peak_task_rss_bytes)}</td>"
            f"<td>{stats.input_tokens}</td><td>{stats.output_tokens}</td></tr></tfoot></table>")


def render_timeline_html(run_dir: str | os.PathLike) -> str:
    events = load_events(run_dir)
    stats = stats_from_events(events, run_dir, expected=read_expected_work(run_dir))
    executions = task_executions(events)
    colours = group_colours(executions)
    steps = llm_in_flight(events)
    intervals = run_intervals(events)
    t0 = min([run.start for run in executions] + [s for s, _ in intervals] + [t for t, _ in steps])
    t1 = max([run.end for run in executions] + [e for _, e in intervals] + [t for t, _ in steps])
    started = datetime.fromtimestamp(t0, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    authors = plan_authors(events)
    settings = [f"plan written by {authors.line()}", f"started {started}", f"{stats.runs} run invocation(s)"]
    if stats.workers:
        settings.append(f"{stats.workers} workers")
    if stats.llm_slots:
        settings.append(f"{stats.llm_slots} LLM slots")
    processes = sum(stats.processes_per_worker.values())
    settings.append(f"{stats.executions} executions of {stats.tasks} tasks in {processes} "
                    f"process{'es' if processes != 1 else ''}")
    name = Path(run_dir).resolve().name or str(run_dir)
    notice = authors.notice()
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Timeline – {escape(name)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Run timeline: {escape(name)}</h1>",
        f'<p class="notice" role="note"><strong>{NOTICE_TITLE}.</strong> {escape(notice)}</p>' if notice else "",
        f'<p class="sub">{escape(" · ".join(settings))}. LLM calls above, our own steps below; hover a bar '
        'for its stage, item and duration.</p>',
        f'<div class="cards">{_cards(stats)}</div>',
        _legend(executions, colours),
        _svg(executions, steps, stats, t0, t1, colours, provider_limit_steps(events), memory_over_time(events)),
        _stage_table(stats, colours),
        "</body></html>",
        "",
    ])


def write_timeline(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    page = render_timeline_html(run_dir)
    target = Path(out) if out is not None else Path(run_dir) / "timeline.html"
    # Whole, so a browser refreshing the page never sees half a file; the workers of a scaled-out
    # plan all write it when the plan completes.
    write_whole(target, page)
    return target
