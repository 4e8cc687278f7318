"""Revising a plan: what a rerun of a run folder redoes, found from the records before it starts.

Each task's record (records.py) says what its outputs were when written and what they were made
from. Before a run goes on with a folder, every record is compared with the files now:

- a file whose bytes no longer match its own record was edited by a person: the edit is checked
  against the stage's answer model (an edit that no longer fits is refused before anything is
  changed, naming the file and the field) and kept: the task is not redone, and its record says
  it was edited;
- a task whose outputs are missing, whose inputs are not what it read, or whose record is marked
  stale (a redo asked for, a revision cut short) is redone;
- and so is everything that depends on either, through the plan's graph of the folder, except
  what a person edited (their edit stands; `planexe-pipeline redo` asks the stage again).

`plan_revision` finds all of that without writing; `apply` records the edits and marks the
records of what is to be redone stale, so that Luigi (which looks no further than a complete
task) finds those tasks incomplete, in this process or any other that runs the folder: a
scaled-out worker, Luigi's own command line, a run after a kill. Outputs without a record (a
folder from before records) are recorded as they are.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import luigi
from pydantic import ValidationError

from planexe_pipeline.errors import InputError
from planexe_pipeline.records import OutputRecord, file_fingerprint, fingerprint, read_record, relative, write_record
from planexe_pipeline.run_folder import write_whole
from planexe_pipeline.stages.markdown import FLAGS_KEY
from planexe_pipeline.tasks.fanout import FanOutMerge
from planexe_pipeline.tasks.graph import Key, PlanGraph, RunGraph, StageNode
from planexe_pipeline.tasks.run_io import record_name


@dataclass
class Revision:
    run_dir: str
    edited: dict[Key, list[str]] = field(default_factory=dict)  # task -> files a person changed
    redo: list[Key] = field(default_factory=list)  # in the graph's order
    llm_calls: int = 0
    unrecorded: list[Key] = field(default_factory=list)  # outputs written before records, none to redo
    md_only: list[str] = field(default_factory=list)  # edited .md files whose .json later stages read
    # The files a stage writes from its JSON by code (its markdown), written again from an edited JSON.
    rendered: dict[str, str] = field(default_factory=dict)
    _records: dict[Key, OutputRecord | None] = field(default_factory=dict, repr=False)
    _run: RunGraph | None = field(default=None, repr=False)

    def fingerprint_now(self, name: str) -> str | None:
        """A file's fingerprint as the run will find it: after what an edit makes written again."""
        if name in self.rendered:
            return fingerprint(self.rendered[name].encode("utf-8"))
        return file_fingerprint(Path(self.run_dir) / name)

    def inputs_changed(self, record: OutputRecord) -> bool:
        return any(self.fingerprint_now(name) != fp for name, fp in record.made_from.items())

    @property
    def edited_files(self) -> list[str]:
        return sorted(f for files in self.edited.values() for f in files)

    def line(self) -> str | None:
        """The one line said before the run starts, or None when nothing was edited or is to be redone."""
        if not self.edited and not self.redo:
            return None
        edited = f"edited {', '.join(self.edited_files)}; " if self.edited else ""
        if not self.redo:
            return f"Revising {self.run_dir}: {edited}nothing reads it, nothing to redo"
        return (f"Revising {self.run_dir}: {edited}redoing {len(self.redo)} task{'s' * (len(self.redo) != 1)} "
                f"and {self.llm_calls} LLM call{'s' * (self.llm_calls != 1)}")

    def notes(self) -> list[str]:
        return [f"{name} was edited, but later stages read {name[:-3]}.json: edit that file for them to see "
                "the change" for name in self.md_only]

    def listing(self) -> list[str]:
        return [f"  {family}{'' if item is None else f' [{item}]'}" for family, item in self.redo]


def plan_revision(graph: PlanGraph, run_dir: str) -> Revision:
    """What a run of the folder would redo now; InputError when an edit no longer fits its stage."""
    run = graph.instances(str(run_dir), guess=lambda item, widths: 0)
    revision = Revision(str(run_dir), _run=run)
    roots: list[Key] = []
    made: dict[Key, bool] = {}
    for key in run.deps:  # in the graph's order: a task's inputs are looked at before it
        task = run.task(key, str(run_dir))
        record = read_record(run_dir, record_name(task))
        revision._records[key] = record
        outputs = {relative(run_dir, t.path): file_fingerprint(t.path) for t in luigi.task.flatten(task.output())}
        made[key] = any(outputs.values())
        if record is None:
            if outputs and all(outputs.values()):
                revision.unrecorded.append(key)
            continue
        if record.stale or not all(outputs.values()) or revision.inputs_changed(record):
            roots.append(key)
            continue
        changed = sorted(name for name, fp in outputs.items() if record.outputs.get(name) not in (None, fp))
        if changed:
            revision.edited[key] = changed
            revision.rendered.update(_checked_edit(graph, key, task, changed))
    pinned = set(revision.edited)
    redo = set(roots) | _downstream(run, roots, pinned)
    # Redone: what was made before (a task not made yet is simply made, as in any run).
    revision.redo = [key for key in run.deps if key in redo and (revision._records[key] or made[key])]
    revision.llm_calls = sum(1 for family, _ in revision.redo if graph.nodes[family].llm)
    revision.unrecorded = [key for key in revision.unrecorded if key not in redo]
    revision.md_only = sorted(name for files in revision.edited.values() for name in files
                              if name.endswith(".md") and f"{name[:-3]}.json" not in files
                              and os.path.exists(Path(run_dir) / f"{name[:-3]}.json"))
    return revision


def apply(revision: Revision, graph: PlanGraph, record_unrecorded: bool = True) -> None:
    """Write the files an edited JSON renders, record the edits, mark what is to be redone stale,
    and (by a run that holds the folder's lock, so that no task is writing them now) record the
    outputs written before records."""
    run_dir, run = revision.run_dir, revision._run
    for name, text in revision.rendered.items():
        write_whole(Path(run_dir) / name, text)
    for key, files in revision.edited.items():
        record = revision._records[key]
        record.outputs = _fingerprints(run.task(key, run_dir))
        record.edited = sorted(set(record.edited) | set(files))
        write_record(run_dir, record_name(run.task(key, run_dir)), record)
    for key in revision.redo:
        task = run.task(key, run_dir)
        record = revision._records.get(key) or OutputRecord(task=key[0], item=key[1])
        if not record.stale and any(os.path.exists(t.path) for t in luigi.task.flatten(task.output())):
            record.stale = True
            write_record(run_dir, record_name(task), record)
    for key in revision.unrecorded if record_unrecorded else ():
        task = run.task(key, run_dir)
        if read_record(run_dir, record_name(task)) is None:
            # What it read is not known: every file of every task it depends on, as they are now.
            made_from = {name: fp for dep in run.deps[key] for name, fp in _fingerprints(run.task(dep, run_dir)).items()
                         if fp is not None}
            write_record(run_dir, record_name(task), OutputRecord(task=key[0], item=key[1], outputs=_fingerprints(task),
                                                                  made_from=dict(sorted(made_from.items()))))


def _fingerprints(task) -> dict[str, str | None]:
    return {relative(task.run_dir, t.path): file_fingerprint(t.path) for t in luigi.task.flatten(task.output())}


def _downstream(run: RunGraph, starts: list[Key], pinned: set[Key]) -> set[Key]:
    """What depends on `starts`, not going through what a person edited (their edit stands)."""
    dependents, found, todo = run.dependents(), set(), list(starts)
    while todo:
        for dependent in dependents.get(todo.pop(), ()):
            if dependent not in found and dependent not in pinned:
                found.add(dependent)
                todo.append(dependent)
    return found


def _checked_edit(graph: PlanGraph, key: Key, task, changed: list[str]) -> dict[str, str]:
    """Each edited file still reads as what its stage writes, or InputError naming the file and
    the field; an edited JSON gives the files its stage renders from it (those not edited too)."""
    rendered: dict[str, str] = {}
    for name in changed:
        data = _checked_file(graph, key, Path(task.run_dir) / name, name)
        model = graph.nodes[key[0]].answer
        if data is not None and model is not None and name == _json_name(task):
            result = model.model_validate(data)
            flags = data.get(FLAGS_KEY, []) if isinstance(data, dict) else []
            for output, text in task.rendered_from(result, flags).items():
                path = relative(task.run_dir, task.output()[output].path)
                if path not in changed:
                    rendered[path] = text
    return rendered


def _json_name(task) -> str | None:
    target = task.output().get("json") if isinstance(task.output(), dict) else None
    return relative(task.run_dir, target.path) if target is not None else None


def _checked_file(graph: PlanGraph, key: Key, path: Path, name: str):
    """The edited file's JSON (None for text), or InputError naming the file and the field."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path} was edited and is not UTF-8 text: {REMEDY}") from None
    return checked_text(graph, key, name, text, where=str(path))


REMEDY = "fix the file, or delete it to have that step made again; nothing was changed"


def checked_text(graph: PlanGraph, key: Key, name: str, text: str, *, where: str):
    """The text of an edit of the file `name` of task `key`, as JSON (None for a text file), or
    InputError naming the file and the field when it no longer reads as what its stage writes."""
    if not name.endswith(".json"):
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{where} was edited and is not JSON ({exc.msg} at line {exc.lineno}): {REMEDY}") from None
    model = graph.nodes[key[0]].answer
    if model is None:
        return data
    try:
        model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field_name = ".".join(str(part) for part in error["loc"]) or "(the whole file)"
        raise InputError(f"{where} was edited and no longer fits {key[0]}'s answer: field '{field_name}': "
                         f"{error['msg']}: {REMEDY}") from None
    return data


def task_writing(graph: PlanGraph, run_dir: str, name: str) -> Key:
    """The task of the folder that writes the file `name` (relative to the folder)."""
    run = graph.instances(str(run_dir), guess=lambda item, widths: 0)
    for key in run.deps:
        if name in _fingerprints(run.task(key, str(run_dir))):
            return key
    raise InputError(f"'{name}' is not a file a step of the plan writes: name one of the plan's numbered files, "
                     "such as '038-swot_analysis.json'")


def edit(graph: PlanGraph, run_dir: str, name: str, text: str) -> Revision:
    """A person's (or an agent's) edit of one file of a plan, checked as a rerun checks an edit before
    it is written; what a run of the folder would then redo."""
    key = task_writing(graph, run_dir, name)
    checked_text(graph, key, name, text, where=name)
    write_whole(Path(run_dir) / name, text)
    return plan_revision(graph, str(run_dir))


# Runs checked in this process: a run checks its folder once, before it starts (runner.py), and a
# task process forked from it inherits that. Luigi's own command line checks on the first look.
_CHECKED: set[str] = set()


def checked(run_dir: str) -> bool:
    return os.path.abspath(run_dir) in _CHECKED


def mark_checked(run_dir: str) -> None:
    _CHECKED.add(os.path.abspath(run_dir))


def redo_targets(graph: PlanGraph, run_dir: str, stage: str, item: int | None) -> list[Key]:
    """The tasks `planexe-pipeline redo DIR STAGE [--item N]` asks again: STAGE by its task name,
    its file stem or its number; a fan-out (its items or its merge) means its items, or item N."""
    node = _stage_named(graph, stage)
    if issubclass(node.cls, FanOutMerge):
        node = graph.nodes[node.cls.item_task.task_family]
    if not node.fan_out_item:
        if item is not None:
            raise InputError(f"{node.family} is not a fan-out, it has no items: drop --item")
        return [(node.family, None)]
    width = len(node.cls(run_dir=str(run_dir), index=0).items())
    if item is None:
        return [(node.family, i) for i in range(width)]
    if not 0 <= item < width:
        raise InputError(f"{node.family} has {width} items in {run_dir} (0 to {width - 1}): pass one of them to --item")
    return [(node.family, item)]


def _stage_named(graph: PlanGraph, stage: str) -> StageNode:
    wanted = stage.strip().lower().removesuffix(".json").removesuffix(".md")
    exact = [n for n in graph.nodes.values() if n.family.lower() == wanted]
    found = exact or [n for n in graph.nodes.values()
                      if wanted in (str(getattr(n.cls, "stem", "")).lower(), f"{n.number:03d}", str(n.number),
                                    f"{n.number:03d}-{getattr(n.cls, 'stem', '')}".lower())]
    if not found:
        raise InputError(f"no stage '{stage}' in this plan: name it by its task (SWOTAnalysis), its file stem "
                         "(swot_analysis) or its number (038), as docs/edges.md lists them")
    return next((n for n in found if n.fan_out_item), found[0])


def ask_again(graph: PlanGraph, run_dir: str, keys: list[Key], *, remark: str | None, model: str | None) -> None:
    """Mark the tasks to be made again, with the person's remark and model in their records (a
    person's edit of them goes: they asked the stage again)."""
    run = graph.instances(str(run_dir), guess=lambda item, widths: 0)
    for key in keys:
        node = graph.nodes[key[0]]
        if (remark or model) and not node.llm:
            raise InputError(f"{key[0]} makes no LLM call: a note or a model has nothing to go to; "
                             "redo it without --note and --llm")
        name = record_name(run.task(key, str(run_dir)))
        if read_record(run_dir, name) is None:
            raise InputError(f"{key[0]} has not been made yet in {run_dir}: run the plan first "
                             f"(planexe-pipeline run --run-dir {run_dir})")
    for key in keys:
        name = record_name(run.task(key, str(run_dir)))
        record = read_record(run_dir, name)
        record.stale, record.remark, record.asked_model, record.edited = True, remark, model, []
        write_record(run_dir, name, record)
