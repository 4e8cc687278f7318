"""The dated schedule as a project-management tool sees it: phase milestones, and slack.

MS Project (and ProjectLibre, GanttProject) mark as critical every task whose total slack is
zero, computed from the links alone; our schedule's own critical path is one chain through
them. So the project file carries the tool's answer, computed here the tool's way: a link to or
from a summary task stands for links to or from every task under it, a forward pass from the
start, a backward pass from the finish, and total slack the smaller of start and finish slack.
Days are whole calendar days, as in the schedule (every day a working day).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from graphlib import TopologicalSorter

from planexe_pipeline.stages.schedule import DatedSchedule

MILESTONE_SUFFIX = ".M"  # a phase's milestone is its id with this suffix: T-2 -> T-2.M


@dataclass
class NetworkTask:
    id: str
    title: str
    parent_id: str | None
    level: int
    milestone: bool = False
    depends_on: list[str] = field(default_factory=list)
    # Day offsets from the project's start: [early_start, early_finish) and the late ones.
    early_start: int = 0
    early_finish: int = 0
    late_start: int = 0
    late_finish: int = 0
    summary: bool = False

    @property
    def days(self) -> int:
        return self.early_finish - self.early_start

    @property
    def total_slack(self) -> int:
        return min(self.late_start - self.early_start, self.late_finish - self.early_finish)

    @property
    def critical(self) -> bool:
        return self.total_slack <= 0


@dataclass
class ProjectNetwork:
    start: datetime.date
    finish: int  # day offset of the project's end (exclusive)
    tasks: list[NetworkTask]  # in outline order, each phase's milestone after its last task

    def milestones(self) -> list[NetworkTask]:
        return [t for t in self.tasks if t.milestone]

    def day(self, offset: int) -> datetime.date:
        return self.start + datetime.timedelta(days=offset)


def phase_milestone_title(phase_title: str) -> str:
    return f"{phase_title} complete"


def build_network(schedule: DatedSchedule) -> ProjectNetwork:
    """Every scheduled task in outline order, a milestone closing each phase that has tasks
    (linked from them), and each task's early and late dates and slack."""
    children: dict[str | None, list[str]] = {}
    for t in schedule.tasks:
        children.setdefault(t.parent_id, []).append(t.id)
    offset = {t.id: ((t.start - schedule.start_date).days, (t.end - schedule.start_date).days)
              for t in schedule.tasks}
    by_id = {t.id: t for t in schedule.tasks}

    ordered: list[NetworkTask] = []

    def visit(task_id: str) -> None:
        t = by_id[task_id]
        own = NetworkTask(t.id, t.title, t.parent_id, t.level, depends_on=list(t.depends_on),
                          summary=bool(children.get(t.id)))
        own.early_start, own.early_finish = offset[t.id]
        ordered.append(own)
        kids = children.get(t.id, [])
        for child in kids:
            visit(child)
        if t.parent_id is None and kids:
            end = max(offset[k][1] for k in kids)
            ordered.append(NetworkTask(t.id + MILESTONE_SUFFIX, phase_milestone_title(t.title), t.id, t.level + 1,
                                       milestone=True, depends_on=list(kids), early_start=end, early_finish=end))

    for root in children.get(None, []):
        visit(root)
    finish = max((offset[t.id][1] for t in schedule.tasks), default=0)
    _slack(ordered, finish)
    return ProjectNetwork(start=schedule.start_date, finish=finish, tasks=ordered)


def _slack(tasks: list[NetworkTask], finish: int) -> None:
    """Late dates by a backward pass over the links between the tasks that carry work (a link
    on a summary stands for its tasks'), then a summary's from the tasks under it."""
    by_id = {t.id: t for t in tasks}
    leaves_under: dict[str, list[str]] = {}
    for t in reversed(tasks):  # children come after their parent: theirs are known first
        if not t.summary:
            leaves_under[t.id] = [t.id]
        else:
            leaves_under[t.id] = [leaf for c in tasks if c.parent_id == t.id for leaf in leaves_under[c.id]]
    ancestors: dict[str, list[str]] = {}
    for t in tasks:
        ancestors[t.id] = ([t.parent_id, *ancestors[t.parent_id]] if t.parent_id in by_id else [])
    successors: dict[str, set[str]] = {t.id: set() for t in tasks if not t.summary}
    for t in tasks:
        # A task waits for its own links and for those of every summary above it.
        for holder in (t.id, *ancestors[t.id]) if not t.summary else ():
            for before in by_id[holder].depends_on:
                for leaf in leaves_under[before]:
                    successors[leaf].add(t.id)
    order = TopologicalSorter({leaf: successors[leaf] for leaf in successors}).static_order()
    for leaf_id in order:  # successors first
        leaf = by_id[leaf_id]
        leaf.late_finish = min((by_id[s].late_start for s in successors[leaf_id]), default=finish)
        leaf.late_start = leaf.late_finish - leaf.days
    for t in tasks:
        if t.summary:
            under = [by_id[leaf] for leaf in leaves_under[t.id]]
            t.late_start = min(u.late_start for u in under)
            t.late_finish = max(u.late_finish for u in under)
