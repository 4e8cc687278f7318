"""MPXJ (the library ProjectLibre reads project files with), driven from Python through JPype.

Reading a file back with MPXJ, rescheduling it with MPXJ's emulation of MS Project's scheduler,
and checking the element order against MPXJ's schema classes (generated from Microsoft's XML
schema) are the independent checks of the MS Project export. They run in a process of their own
(`read_all`, this module as a script): a process that runs a JVM must not fork, and the test
process forks for every plan Luigi runs after it.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from xml.etree import ElementTree


NO_JAVA = "no Java runtime: MPXJ needs one (apt-get install default-jre-headless; .ci/run installs it)"


def java_found() -> bool:
    return shutil.which("java") is not None


@cache
def java_classes():
    import jpype
    import mpxj  # noqa: F401 - puts MPXJ's jars on the class path

    if not jpype.isJVMStarted():
        jpype.startJVM()
    return jpype


@dataclass
class ReadTask:
    wbs: str
    name: str
    outline_level: int
    days: float
    start: datetime.datetime
    finish: datetime.datetime
    milestone: bool
    summary: bool
    critical: bool
    links: list[tuple[str, str, float]]  # (predecessor's WBS, type, lag in days)
    late_start: datetime.datetime | None
    late_finish: datetime.datetime | None


def _date_time(value) -> datetime.datetime | None:
    return None if value is None else datetime.datetime.fromisoformat(str(value))


def _tasks(project) -> list[ReadTask]:
    jpype = java_classes()
    days = jpype.JClass("org.mpxj.TimeUnit").DAYS
    properties = project.getProjectProperties()
    out = []
    for task in project.getTasks():
        links = [(str(r.getPredecessorTask().getWBS()), str(r.getType()),
                  float(r.getLag().convertUnits(days, properties).getDuration())) for r in task.getPredecessors()]
        out.append(ReadTask(str(task.getWBS()), str(task.getName()), int(task.getOutlineLevel()),
                            float(task.getDuration().convertUnits(days, properties).getDuration()),
                            _date_time(task.getStart()), _date_time(task.getFinish()), bool(task.getMilestone()),
                            bool(task.getSummary()), bool(task.getCritical()), links,
                            _date_time(task.getLateStart()), _date_time(task.getLateFinish())))
    return out


def read_project(path) -> tuple[list[ReadTask], datetime.datetime, datetime.datetime]:
    """(tasks in file order, project start, project finish) as MPXJ reads them."""
    jpype = java_classes()
    project = jpype.JClass("org.mpxj.mspdi.MSPDIReader")().read(str(path))
    properties = project.getProjectProperties()
    return _tasks(project), _date_time(properties.getStartDate()), _date_time(properties.getFinishDate())


def rescheduled(path) -> list[ReadTask]:
    """The file's tasks after MPXJ's emulation of MS Project's scheduler placed them from the links."""
    jpype = java_classes()
    project = jpype.JClass("org.mpxj.mspdi.MSPDIReader")().read(str(path))
    jpype.JClass("org.mpxj.cpm.MicrosoftScheduler")().schedule(project, project.getProjectProperties().getStartDate())
    return _tasks(project)


def schema_order_problems(path) -> list[str]:
    """Elements not in the MSPDI schema or out of its order, by MPXJ's classes generated from it."""
    jpype = java_classes()
    xml_type = jpype.JClass("jakarta.xml.bind.annotation.XmlType")
    xml_element = jpype.JClass("jakarta.xml.bind.annotation.XmlElement")
    java_list = jpype.JClass("java.util.List")

    def schema_of(cls) -> dict[str, tuple[int, object]]:
        known = {}
        for position, field_name in enumerate(cls.getAnnotation(xml_type).propOrder()):
            field = cls.getDeclaredField(field_name)
            annotation = field.getAnnotation(xml_element)
            name = str(annotation.name()) if annotation is not None and str(annotation.name()) != "##default" \
                else str(field_name)[0].upper() + str(field_name)[1:]
            content = field.getType()
            if java_list.class_.isAssignableFrom(content):
                content = field.getGenericType().getActualTypeArguments()[0]
            known[name] = (position, content)
        return known

    problems: list[str] = []

    def check(element, cls, where: str) -> None:
        known, last = schema_of(cls), -1
        for child in element:
            tag = child.tag.split("}")[-1]
            if tag not in known:
                problems.append(f"{where}/{tag}: not in the schema")
                continue
            position, content = known[tag]
            if position < last:
                problems.append(f"{where}/{tag}: out of the schema's order")
            last = position
            if len(child):
                check(child, content, f"{where}/{tag}")

    check(ElementTree.parse(path).getroot(), jpype.JClass("org.mpxj.mspdi.schema.Project").class_, "Project")
    return problems


def read_all(paths: list[Path]) -> dict[str, dict]:
    """For each project file: MPXJ's reading of it, its rescheduling, and the schema order's
    problems; in a process of its own (see the module's docstring)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "support.mpxj_project", *map(str, paths)], env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    for result in found.values():
        for key in ("tasks", "rescheduled"):
            result[key] = [_task_of(t) for t in result[key]]
        result["start"], result["finish"] = (_date_time(result[k]) for k in ("start", "finish"))
    return found


def _task_of(fields: dict) -> ReadTask:
    for key in ("start", "finish", "late_start", "late_finish"):
        fields[key] = _date_time(fields[key])
    fields["links"] = [tuple(link) for link in fields["links"]]
    return ReadTask(**fields)


def _main(paths: list[str]) -> None:
    out = {}
    for path in paths:
        tasks, start, finish = read_project(path)
        out[path] = {"tasks": [asdict(t) for t in tasks], "start": start, "finish": finish,
                     "rescheduled": [asdict(t) for t in rescheduled(path)], "order_problems": schema_order_problems(path)}
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    _main(sys.argv[1:])
