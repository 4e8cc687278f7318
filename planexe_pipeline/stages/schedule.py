"""Turn a WBS with durations and LLM-proposed dependencies into a dated schedule.

Pure computation, no LLM: the dependencies come from a model, so every
malformed one (unknown id, self-loop, cycle) is dropped with a one-line warning
instead of failing the run, and the result depends only on the input so a
re-run of the same plan gives a byte-identical schedule.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import deque
from datetime import date, timedelta
from graphlib import TopologicalSorter

from pydantic import BaseModel, Field

from planexe_pipeline.stages.markdown import cell


class ScheduleTask(BaseModel):
    id: str
    title: str
    parent_id: str | None = None
    duration_days: float = 1.0
    level: int = 1


class ScheduledTask(BaseModel):
    id: str
    title: str
    parent_id: str | None
    level: int
    # Whole calendar days between start and end; for a parent it is its span.
    duration_days: int
    start: date
    end: date  # exclusive: the first day the task is no longer running
    critical: bool
    depends_on: list[str] = Field(default_factory=list)


class DatedSchedule(BaseModel):
    start_date: date
    end_date: date
    tasks: list[ScheduledTask] = Field(default_factory=list)
    critical_path: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


# Graph nodes. A leaf is one node (its start and its end are tied by its
# duration). A parent has two: "begin" (when its own predecessors are done; its
# descendants wait on it) and "done" (when all its descendants are done; tasks
# that depend on the parent wait on it). One node per parent would merge "waits
# for" and "is waited for" and invent cycles between a parent and its children.
_Node = tuple[str, str]


def _leaf_days(task: ScheduleTask, warnings: list[str]) -> int:
    d = task.duration_days
    if not math.isfinite(d):
        warnings.append(f"task '{task.id}' has no usable duration ({d}); scheduled as 1 day")
        return 1
    return max(1, math.ceil(d))


def _clean_parents(tasks: list[ScheduleTask], warnings: list[str]) -> dict[str, str | None]:
    known = {t.id for t in tasks}
    parent: dict[str, str | None] = {}
    for t in tasks:
        p = t.parent_id
        if p is not None and p not in known:
            warnings.append(f"task '{t.id}' names unknown parent '{p}'; treated as top-level")
            p = None
        elif p == t.id:
            warnings.append(f"task '{t.id}' is its own parent; treated as top-level")
            p = None
        parent[t.id] = p
    # Our own code assigns parents, so a loop is a bug upstream; cut it at the
    # first task (input order) found on it rather than hang or crash.
    for t in tasks:
        seen = {t.id}
        p = parent[t.id]
        while p is not None:
            if p in seen:
                warnings.append(f"task '{t.id}' is inside a parent loop; treated as top-level")
                parent[t.id] = None
                break
            seen.add(p)
            p = parent[p]
    return parent


def _ancestors(tid: str, parent: dict[str, str | None]) -> list[str]:
    out = []
    p = parent[tid]
    while p is not None:
        out.append(p)
        p = parent[p]
    return out


def _reaches(graph: dict[_Node, list[_Node]], source: _Node, target: _Node) -> bool:
    seen = {source}
    queue = deque([source])
    while queue:
        node = queue.popleft()
        if node == target:
            return True
        for nxt in graph[node]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return False


def compute_schedule(
    tasks: list[ScheduleTask],
    dependencies: list[tuple[str, str]],
    start_date: date,
) -> DatedSchedule:
    """Earliest-start schedule on calendar days; `dependencies` are (task, depends_on)."""
    warnings: list[str] = []
    index: dict[str, int] = {}
    for i, t in enumerate(tasks):
        if t.id in index:
            # Ids come from our own WBS numbering, so a duplicate is a bug, not LLM noise.
            raise ValueError(f"duplicate task id '{t.id}' in schedule input")
        index[t.id] = i
    if not tasks:
        return DatedSchedule(start_date=start_date, end_date=start_date)

    parent = _clean_parents(tasks, warnings)
    children: dict[str, list[str]] = {t.id: [] for t in tasks}
    for t in tasks:
        if parent[t.id] is not None:
            children[parent[t.id]].append(t.id)
    is_leaf = {tid: not kids for tid, kids in children.items()}
    days = {t.id: _leaf_days(t, warnings) for t in tasks if is_leaf[t.id]}

    def begin(tid: str) -> _Node:
        return ("task", tid) if is_leaf[tid] else ("begin", tid)

    def done(tid: str) -> _Node:
        return ("task", tid) if is_leaf[tid] else ("done", tid)

    graph: dict[_Node, list[_Node]] = {}  # node -> nodes that must finish first
    for t in tasks:
        graph[begin(t.id)] = []
        graph[done(t.id)] = []
    for t in tasks:
        p = parent[t.id]
        if p is not None:
            graph[begin(t.id)].append(begin(p))
        for child in children[t.id]:
            graph[done(t.id)].append(done(child))

    # Clean the LLM's edges. Duplicates collapse silently: they change nothing.
    candidates: list[tuple[str, str]] = []
    seen_edges: set[tuple[str, str]] = set()
    for raw in dependencies:
        edge = (str(raw[0]), str(raw[1]))
        if edge in seen_edges:
            continue
        seen_edges.add(edge)
        a, b = edge
        unknown = [x for x in (a, b) if x not in index]
        if unknown:
            names = ", ".join(f"'{x}'" for x in dict.fromkeys(unknown))
            warnings.append(f"dropped dependency '{a}' depends on '{b}': unknown task id {names}")
        elif a == b:
            warnings.append(f"dropped dependency '{a}' depends on itself")
        elif b in _ancestors(a, parent) or a in _ancestors(b, parent):
            # "after all of b's descendants" is impossible when a is one of them.
            warnings.append(
                f"dropped dependency '{a}' depends on '{b}': one contains the other"
            )
        else:
            candidates.append(edge)

    # Accept edges in a fixed order (by the input position of the dependent task,
    # then of its prerequisite), so the edge dropped from a cycle is always the one
    # that closes it, whatever order the LLM listed them in.
    candidates.sort(key=lambda e: (index[e[0]], index[e[1]]))
    accepted: dict[str, list[str]] = {t.id: [] for t in tasks}
    for a, b in candidates:
        if _reaches(graph, done(b), begin(a)):
            warnings.append(f"dropped dependency '{a}' depends on '{b}': it closes a cycle")
            continue
        graph[begin(a)].append(done(b))
        accepted[a].append(b)

    # value[node] = day offset at which the node is finished (a leaf: its end).
    value: dict[_Node, int] = {}
    for node in TopologicalSorter(graph).static_order():
        ready = max((value[p] for p in graph[node]), default=0)
        value[node] = ready + (days[node[1]] if node[0] == "task" else 0)

    leaves = [t.id for t in tasks if is_leaf[t.id]]
    leaf_end = {tid: value[("task", tid)] for tid in leaves}
    leaf_start = {tid: leaf_end[tid] - days[tid] for tid in leaves}
    finish = max(leaf_end.values())

    # Walk back from the first leaf that ends last, always through the first
    # prerequisite that set the start, so ties resolve the same way every run.
    path: list[str] = []
    current = next(tid for tid in leaves if leaf_end[tid] == finish)
    while True:
        path.append(current)
        at = leaf_start[current]
        if at == 0:
            break
        node: _Node = ("task", current)
        while True:
            node = next(p for p in graph[node] if value[p] == at)
            if node[0] == "task":
                break
        current = node[1]
    path.reverse()
    on_path = set(path)

    span: dict[str, tuple[int, int]] = {}
    crit: dict[str, bool] = {}
    for tid in leaves:
        span[tid] = (leaf_start[tid], leaf_end[tid])
        crit[tid] = tid in on_path
        for anc in _ancestors(tid, parent):
            s, e = span.get(anc, (leaf_start[tid], leaf_end[tid]))
            span[anc] = (min(s, leaf_start[tid]), max(e, leaf_end[tid]))
            crit[anc] = crit.get(anc, False) or tid in on_path

    out = []
    for t in tasks:
        s, e = span[t.id]
        out.append(
            ScheduledTask(
                id=t.id,
                title=t.title,
                parent_id=parent[t.id],
                level=t.level,
                duration_days=e - s,
                start=start_date + timedelta(days=s),
                end=start_date + timedelta(days=e),
                critical=crit[t.id],
                depends_on=accepted[t.id],
            )
        )
    return DatedSchedule(
        start_date=start_date,
        end_date=start_date + timedelta(days=finish),
        tasks=out,
        critical_path=path,
        warnings=warnings,
    )


CSV_COLUMNS = ["id", "title", "parent_id", "level", "start", "end", "duration_days", "critical", "depends_on"]


def schedule_to_csv(schedule: DatedSchedule) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for t in schedule.tasks:
        writer.writerow(
            [
                t.id,
                t.title,
                t.parent_id or "",
                t.level,
                t.start.isoformat(),
                t.end.isoformat(),
                t.duration_days,
                "true" if t.critical else "false",
                ";".join(t.depends_on),
            ]
        )
    return buf.getvalue()


# Line-leading words the Mermaid gantt lexer reads as directives (case-insensitive).
_MERMAID_KEYWORDS = {
    "title", "section", "dateformat", "axisformat", "tickinterval", "excludes",
    "includes", "inclusiveenddates", "topaxis", "todaymarker", "weekday", "click",
    "call", "href", "acctitle", "accdescr", "gantt",
}


def _mermaid_text(text: str, fallback: str) -> str:
    # ':' ends a task title, '#' starts an entity code, ';' ends a statement,
    # '%' can start a comment; none of them can appear in a title or section.
    cleaned = re.sub(r"[:#;%\r\n\t]+", " ", text)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        cleaned = fallback
    first = cleaned.split(" ", 1)[0].lower()
    if first in _MERMAID_KEYWORDS:
        cleaned = f"{fallback} {cleaned}"
    return cleaned


def _mermaid_id(task_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", task_id)


def schedule_to_mermaid(schedule: DatedSchedule, title: str) -> str:
    lines = [
        "gantt",
        f"    title {_mermaid_text(title, 'Schedule')}",
        "    dateFormat YYYY-MM-DD",
        "    axisFormat %Y-%m-%d",
    ]
    by_id = {t.id: t for t in schedule.tasks}
    has_children = {t.parent_id for t in schedule.tasks if t.parent_id is not None}

    def root_of(t: ScheduledTask) -> str:
        while t.parent_id is not None:
            t = by_id[t.parent_id]
        return t.id

    sections: dict[str, list[ScheduledTask]] = {}
    for t in schedule.tasks:
        if t.parent_id is None:
            sections.setdefault(t.id, [])
    for t in schedule.tasks:
        if t.id not in has_children:
            sections[root_of(t)].append(t)
    for root_id, leaves in sections.items():
        root = by_id[root_id]
        lines.append(f"    section {_mermaid_text(root.title, root.id)}")
        for t in leaves:
            tag = "crit, " if t.critical else ""
            lines.append(
                f"    {_mermaid_text(t.title, t.id)} :{tag}{_mermaid_id(t.id)}, "
                f"{t.start.isoformat()}, {t.duration_days}d"
            )
    return "\n".join(lines) + "\n"


def to_markdown(schedule: DatedSchedule) -> str:
    days = (schedule.end_date - schedule.start_date).days
    lines = [
        "# Schedule",
        "",
        f"From {schedule.start_date.isoformat()} to {schedule.end_date.isoformat()} "
        f"(exclusive), {days} calendar days.",
        "",
    ]
    if schedule.tasks:
        lines += [
            "| ID | Task | Start | Last day | Days | Critical | Depends on |",
            "|---|---|---|---|---|---|---|",
        ]
        for t in schedule.tasks:
            indent = "&nbsp;&nbsp;" * max(0, t.level - 1)
            # The table shows the inclusive last day because that is how people read
            # dates; the CSV keeps the exclusive end that tools expect.
            last = t.end - timedelta(days=1)
            lines.append(
                f"| {t.id} | {indent}{cell(t.title)} | {t.start.isoformat()} | "
                f"{last.isoformat()} | {t.duration_days} | {'yes' if t.critical else ''} | "
                f"{', '.join(t.depends_on)} |"
            )
    else:
        lines.append("No tasks to schedule.")
    lines += ["", "## Critical path", ""]
    if schedule.critical_path:
        titles = {t.id: t.title for t in schedule.tasks}
        for tid in schedule.critical_path:
            lines.append(f"1. {tid} {cell(titles.get(tid, ''))}".rstrip())
    else:
        lines.append("None.")
    lines += ["", "## Warnings", ""]
    if schedule.warnings:
        lines += [f"- {cell(w)}" for w in schedule.warnings]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"
