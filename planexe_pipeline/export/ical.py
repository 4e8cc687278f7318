"""iCalendar (RFC 5545): the plan's milestones and work packages as events for a team calendar.

Each phase's milestone (its last day, from project_network.py) and each level-2 task of the
schedule (a work package, from its first to its last day) is one all-day event; its text names
the plan and the report section to read it in. Events are transparent: a work package of six
weeks must not mark six weeks busy. The file is the same for the same plan: every UID comes
from the plan's fingerprint and the task's id, and DTSTAMP is the plan's first day.
"""

from __future__ import annotations

import datetime

from icalendar import Calendar, Event

from planexe_pipeline.export.project_network import NetworkTask, build_network
from planexe_pipeline.stages.schedule import DatedSchedule

PRODUCT_ID = "-//planexe-pipeline//plan schedule//EN"
WORK_PACKAGE_LEVEL = 2


def write(schedule: DatedSchedule, *, title: str, plan_id: str, section_link: str) -> bytes:
    """`plan_id` tells this plan's events from another's; `section_link` is where the report
    shows the schedule (a path relative to the run folder, with its anchor)."""
    network = build_network(schedule)
    calendar = Calendar()
    for key, value in (("prodid", PRODUCT_ID), ("version", "2.0"), ("calscale", "GREGORIAN"),
                       ("method", "PUBLISH"), ("name", title), ("x-wr-calname", title)):
        calendar.add(key, value)
    stamp = datetime.datetime.combine(schedule.start_date, datetime.time(), datetime.timezone.utc)
    phases = {t.id: t.title for t in network.tasks if t.parent_id is None}

    def event(task: NetworkTask, summary: str, kind: str, first: datetime.date, last: datetime.date) -> Event:
        phase = task.parent_id or task.id
        about = [f"Plan: {title}", f"{kind} {task.id} of phase {phase} {phases.get(phase, '')}".rstrip(),
                 f"{first.isoformat()} to {last.isoformat()}{' (critical path)' if task.critical else ''}",
                 f"In the report: {section_link}"]
        item = Event()
        item.add("uid", f"{task.id}.{plan_id}@planexe-pipeline")
        item.add("dtstamp", stamp)
        item.add("dtstart", first)
        item.add("dtend", last + datetime.timedelta(days=1))  # all-day events end the day after
        item.add("summary", summary)
        item.add("description", "\n".join(about))
        item.add("categories", [kind])
        item.add("transp", "TRANSPARENT")
        return item

    for task in network.tasks:
        if task.milestone:
            day = network.day(task.early_start - 1)  # the phase's last day
            calendar.add_component(event(task, f"Milestone: {task.title}", "Milestone", day, day))
        elif task.level == WORK_PACKAGE_LEVEL:
            calendar.add_component(event(task, f"{task.id} {task.title}", "Work package",
                                         network.day(task.early_start), network.day(task.early_finish - 1)))
    return calendar.to_ical()
