"""What each output of a run folder was made from: one record per task, beside the plan's files.

A plan is a build of files made from files. Every task that writes files writes, once they are
all written, a record of them under `records/` in the run folder, named like its files:
`records/012-select_scenario.json` for a stage, `records/008-enrich_levers/item-003.json` for a
fan-out item, `records/001-Setup.json` for a step without a stem. The plan's own files stay
exactly what the stages write (byte for byte the same as a folder without records).

A record holds, by paths relative to the run folder (so a copied folder stays valid):

- `outputs`: the fingerprint (sha256 of the bytes) of each file the task wrote;
- `made_from`: the fingerprint of each input file the task read, as it read it;
- `version`: a fingerprint of the system prompts and JSON schemas of the task's LLM calls;
- `models`: the models that answered;
- `edited`: the files a person changed since (their new fingerprints are in `outputs`);
- `remark` and `asked_model`: what a person asked when they had the stage asked again;
- `stale`: the task is to be made again (its inputs changed, or someone asked), until it is.

An output is current when its record is not stale; a file whose bytes no longer match its record
was edited by a person (revision.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planexe_pipeline.run_folder import write_whole

RECORDS_DIR = "records"


def fingerprint(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_fingerprint(path: str | os.PathLike) -> str | None:
    """The fingerprint of a file's bytes, or None where there is no file."""
    try:
        with open(path, "rb") as fh:
            return fingerprint(fh.read())
    except OSError:
        return None


def relative(run_dir: str | os.PathLike, path: str | os.PathLike) -> str:
    """A file's name in its run folder, with '/' between parts whatever the system."""
    return Path(os.path.relpath(path, run_dir)).as_posix()


@dataclass
class OutputRecord:
    task: str
    item: int | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    made_from: dict[str, str] = field(default_factory=dict)
    version: str | None = None
    models: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    remark: str | None = None
    asked_model: str | None = None
    stale: bool = False

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "OutputRecord":
        data: dict[str, Any] = json.loads(text)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


def record_path(run_dir: str | os.PathLike, name: str) -> Path:
    return Path(run_dir) / RECORDS_DIR / f"{name}.json"


def read_record(run_dir: str | os.PathLike, name: str) -> OutputRecord | None:
    """The task's record, or None: none written yet (or one that does not read back, which a run
    then writes again)."""
    try:
        return OutputRecord.from_json(record_path(run_dir, name).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return None


def write_record(run_dir: str | os.PathLike, name: str, record: OutputRecord) -> None:
    """Whole or not at all: a temporary file renamed over the record."""
    write_whole(record_path(run_dir, name), record.to_json())


def call_version(system_prompt: str, schema: dict) -> str:
    """A fingerprint of one LLM call's instructions: its system prompt and its answer's JSON schema."""
    text = system_prompt + "\n" + json.dumps(schema, sort_keys=True, ensure_ascii=False)
    return fingerprint(text.encode("utf-8"))


def stage_version(calls: list[str]) -> str | None:
    """One fingerprint for all the calls a task made (in any order), or None for a task of code alone."""
    distinct = sorted(set(calls))
    return fingerprint("\n".join(distinct).encode("ascii")) if distinct else None
