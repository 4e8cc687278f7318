"""MS Project XML (MSPDI): the schedule as a project file for MS Project, ProjectLibre, GanttProject.

Phases and their tasks are the outline (a task with subtasks is a summary task), each phase
closes with a milestone, every dependency is a finish-to-start link without lag, and each task
carries its dates and its total slack as MS Project computes them (project_network.py). The
schedule counts calendar days, so the file's one calendar makes every day a working day of
eight hours: a task of 3 days is 24 working hours, from 08:00 on its first day to 17:00 on its
last. MSPDI is an XML Schema sequence: every element is written in the schema's order, or MS
Project refuses the file. Standard library only: this format needs no extra.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from planexe_pipeline.export.project_network import NetworkTask, ProjectNetwork, build_network
from planexe_pipeline.stages.schedule import DatedSchedule

NS = "http://schemas.microsoft.com/project"
SAVE_VERSION = "14"  # Project 2010's schema; 2010 and later open it
CALENDAR_UID = "1"
HOURS_PER_DAY = 8
DAY_START, LUNCH_START, LUNCH_END, DAY_END = "08:00:00", "12:00:00", "13:00:00", "17:00:00"
DAYS = "7"  # DurationFormat and LagFormat: days
FINISH_TO_START = "1"
FIXED_DURATION = "1"
AS_SOON_AS_POSSIBLE = "0"
TENTHS_OF_MINUTES_PER_DAY = HOURS_PER_DAY * 60 * 10  # the unit of LinkLag and of slack
MAX_NAME_CHARS = 255  # MS Project's limit on a task name

# XML 1.0 has no place for control characters; one in an LLM title would make the file unreadable.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def write(schedule: DatedSchedule, *, title: str) -> bytes:
    """The project file of a dated schedule; `title` is the plan's."""
    network = build_network(schedule)
    project = ET.Element(f"{{{NS}}}Project")
    finish = _finish(network, network.finish) if network.tasks else _start(network, 0)
    _add(project, [("SaveVersion", SAVE_VERSION), ("Name", _text(title)), ("Title", _text(title)),
                   ("ScheduleFromStart", "1"), ("StartDate", _start(network, 0)), ("FinishDate", finish),
                   ("CriticalSlackLimit", "0"), ("CalendarUID", CALENDAR_UID),
                   ("DefaultStartTime", DAY_START), ("DefaultFinishTime", DAY_END),
                   ("MinutesPerDay", str(HOURS_PER_DAY * 60)), ("MinutesPerWeek", str(7 * HOURS_PER_DAY * 60)),
                   ("DaysPerMonth", "30"), ("DurationFormat", DAYS), ("NewTasksEstimated", "0"),
                   ("WeekStartDay", "1"), ("NewTasksAreManual", "0")])
    project.append(_calendars())
    tasks = ET.SubElement(project, "Tasks")
    uids = {task.id: n for n, task in enumerate(network.tasks, 1)}
    outline = _outline_numbers(network.tasks)
    for task in network.tasks:
        tasks.append(_task(network, task, uids, outline[task.id]))
    for element in project.iter():
        if not element.tag.startswith("{"):
            element.tag = f"{{{NS}}}{element.tag}"
    ET.register_namespace("", NS)
    ET.indent(project, space=" ")
    return ET.tostring(project, encoding="utf-8", xml_declaration=True) + b"\n"


def _add(parent: ET.Element, fields: list[tuple[str, str]]) -> None:
    for tag, value in fields:
        ET.SubElement(parent, tag).text = value


def _text(text: str) -> str:
    return " ".join(_XML_INVALID.sub("", text).split())[:MAX_NAME_CHARS]


def _start(network: ProjectNetwork, offset: int) -> str:
    return f"{network.day(offset).isoformat()}T{DAY_START}"


def _finish(network: ProjectNetwork, offset: int) -> str:
    """The end of the working day before `offset`: a task whose last day is d ends at d 17:00."""
    return f"{network.day(offset - 1).isoformat()}T{DAY_END}"


def _hours(days: int) -> str:
    return f"PT{days * HOURS_PER_DAY}H0M0S"


def _calendars() -> ET.Element:
    calendars = ET.Element("Calendars")
    calendar = ET.SubElement(calendars, "Calendar")
    _add(calendar, [("UID", CALENDAR_UID), ("Name", "Every day"), ("IsBaseCalendar", "1"),
                    ("IsBaselineCalendar", "0"), ("BaseCalendarUID", "-1")])
    week = ET.SubElement(calendar, "WeekDays")
    for day_type in range(1, 8):  # Sunday to Saturday: the schedule counts every day
        day = ET.SubElement(week, "WeekDay")
        _add(day, [("DayType", str(day_type)), ("DayWorking", "1")])
        times = ET.SubElement(day, "WorkingTimes")
        for start, end in ((DAY_START, LUNCH_START), (LUNCH_END, DAY_END)):
            _add(ET.SubElement(times, "WorkingTime"), [("FromTime", start), ("ToTime", end)])
    return calendars


def _outline_numbers(tasks: list[NetworkTask]) -> dict[str, str]:
    numbers: dict[str, str] = {}
    count: dict[str | None, int] = {}
    for task in tasks:
        count[task.parent_id] = count.get(task.parent_id, 0) + 1
        prefix = numbers[task.parent_id] + "." if task.parent_id in numbers else ""
        numbers[task.id] = f"{prefix}{count[task.parent_id]}"
    return numbers


def _task(network: ProjectNetwork, task: NetworkTask, uids: dict[str, int], outline: str) -> ET.Element:
    element = ET.Element("Task")
    if task.milestone:  # at the end of the day its last predecessor ends, as MS Project puts it
        start = finish = _finish(network, task.early_start)
        late_start = late_finish = _finish(network, task.late_start)
    else:
        start, finish = _start(network, task.early_start), _finish(network, task.early_finish)
        late_start, late_finish = _start(network, task.late_start), _finish(network, task.late_finish)
    _add(element, [
        ("UID", str(uids[task.id])), ("ID", str(uids[task.id])), ("Name", _text(task.title) or task.id),
        ("Active", "1"), ("Manual", "0"), ("Type", FIXED_DURATION), ("IsNull", "0"), ("WBS", task.id),
        ("OutlineNumber", outline), ("OutlineLevel", str(task.level)),
        ("Start", start), ("Finish", finish), ("Duration", _hours(task.days)), ("DurationFormat", DAYS),
        ("Estimated", "0"), ("Milestone", "1" if task.milestone else "0"), ("Summary", "1" if task.summary else "0"),
        ("Critical", "1" if task.critical else "0"),
        ("EarlyStart", start), ("EarlyFinish", finish), ("LateStart", late_start), ("LateFinish", late_finish),
        ("TotalSlack", str(task.total_slack * TENTHS_OF_MINUTES_PER_DAY)), ("PercentComplete", "0"),
        # A plan not started: nothing done, all of it remaining (a scheduler reads both).
        ("ActualDuration", _hours(0)), ("RemainingDuration", _hours(task.days)), ("ConstraintType", AS_SOON_AS_POSSIBLE), ("CalendarUID", "-1"),
    ])
    for before in task.depends_on:
        link = ET.SubElement(element, "PredecessorLink")
        _add(link, [("PredecessorUID", str(uids[before])), ("Type", FINISH_TO_START), ("CrossProject", "0"),
                    ("LinkLag", "0"), ("LagFormat", DAYS)])
    return element

