"""A task's reads and writes in its run folder, and the record of what its outputs were made from.

Steps compute; this module stores (as an I/O manager does beside a pipeline's steps). Every
input a task reads goes through `TaskIO.read`, which notes the fingerprint of the bytes it read;
when the task has succeeded, `finish` writes its record (records.py): the fingerprints of its
outputs and of what it read, the version of its LLM calls' instructions, the models that answered,
and a person's remark if they asked for it again. When a task starts, `begin` marks its record
stale, so a run killed while the task rewrites its files redoes it rather than taking the
half-new files for a person's edit.
"""

from __future__ import annotations

import os
from typing import Any

import luigi

from planexe_pipeline.errors import UnreadableOutput
from planexe_pipeline.records import (OutputRecord, file_fingerprint, fingerprint, read_record, record_path,
                                      relative, stage_version, write_record)


class TaskIO:
    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self.made_from: dict[str, str] = {}  # relative path -> fingerprint of what was read

    def read_bytes(self, target: luigi.LocalTarget) -> bytes:
        """An input file's bytes, their fingerprint noted."""
        with open(target.path, "rb") as fh:
            data = fh.read()
        self.made_from[relative(self.run_dir, target.path)] = fingerprint(data)
        return data

    def read(self, target: luigi.LocalTarget) -> str:
        """An input file's text, its fingerprint noted. Line ends as a text file reads them."""
        data = self.read_bytes(target)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UnreadableOutput(target.path) from None
        return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def record_name(task: Any) -> str:
    """Where a task's record goes under records/: named like its files."""
    index = getattr(task, "index", None)
    if index is not None:
        return f"{task.stage_dir}/item-{index:03d}"
    stem = getattr(task, "stem", None)
    return f"{task.number:03d}-{stem or task.task_family}"


def begin(task: Any) -> None:
    """The task is being made (again): its record, if it has one, is stale until it is done."""
    record = read_record(task.run_dir, record_name(task))
    task.previous_record = record  # what a person asked of it (a remark, a model) carries over
    if record is not None and not record.stale:
        record.stale = True
        write_record(task.run_dir, record_name(task), record)


def finish(task: Any) -> None:
    """The task is done: the record of what each of its outputs was made from."""
    outputs = luigi.task.flatten(task.output())
    if not outputs:
        return
    executors = task.__dict__.get("_executors", ())
    asked = getattr(task, "previous_record", None)
    record = OutputRecord(
        task=task.task_family, item=getattr(task, "index", None),
        outputs={relative(task.run_dir, t.path): file_fingerprint(t.path) for t in outputs if os.path.exists(t.path)},
        made_from=dict(sorted(task.io.made_from.items())),
        version=stage_version([v for e in executors for v in e.call_versions]),
        models=list(dict.fromkeys(name for e in executors for name in e.answered_by)),
        remark=asked.remark if asked else None, asked_model=asked.asked_model if asked else None)
    write_record(task.run_dir, record_name(task), record)


def recorded(task: Any) -> OutputRecord | None:
    return read_record(task.run_dir, record_name(task))


_STALE: dict[str, tuple[tuple, bool]] = {}  # record path -> (its state when read, stale)


def is_stale(task: Any) -> bool:
    """Whether the task's record says it is to be made again. Asked on every look at the task:
    a record is read again only when it changed."""
    path = str(record_path(task.run_dir, record_name(task)))
    try:
        stat = os.stat(path)
    except OSError:
        return False
    state = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    known = _STALE.get(path)
    if known is None or known[0] != state:
        record = read_record(task.run_dir, record_name(task))
        known = _STALE[path] = (state, bool(record and record.stale))
    return known[1]


def remove_items_past(item: Any, width: int) -> None:
    """A revised list that came out shorter: the items past its end (and their records) are not part
    of the plan any more, and would only mislead a reader of the folder."""
    folder = os.path.join(item.run_dir, item.stage_dir)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        stem, _, suffix = name.partition(".")
        if suffix == "json" and stem.startswith("item-") and stem[5:].isdigit() and int(stem[5:]) >= width:
            os.unlink(os.path.join(folder, name))
            record_path(item.run_dir, f"{item.stage_dir}/{stem}").unlink(missing_ok=True)


def revisions(task_cls: Any, run_dir: str) -> list[str]:
    """What a person did to one task class of a run (each of its items, for a fan-out), in words."""
    if getattr(task_cls, "stage_dir", None) and hasattr(task_cls, "index"):
        folder = record_path(run_dir, f"{task_cls.stage_dir}/x").parent
        records = [read_record(run_dir, f"{task_cls.stage_dir}/{p.stem}") for p in sorted(folder.glob("item-*.json"))]
    else:
        name = f"{task_cls.number:03d}-{getattr(task_cls, 'stem', None) or task_cls.task_family}"
        records = [read_record(run_dir, name)]
    lines = []
    for record in filter(None, records):
        who = record.task + ("" if record.item is None else f" [item {record.item}]")
        if record.remark or record.asked_model:
            model = f" of {record.asked_model}" if record.asked_model else ""
            remark = f" with the remark \u201c{record.remark}\u201d" if record.remark else ""
            lines.append(f"{who} was asked again{model}{remark}.")
        if record.edited:
            lines.append(f"{who} was edited by hand ({', '.join(record.edited)}).")
    return lines
