"""planexe-pipeline fork DIR NEW: a new plan folder that shares every finished step of DIR.

The files are copied, never linked: Luigi replaces an output it writes, but telemetry is appended
in place and a person's editor may rewrite a file in place, and a change in the fork must never
reach its parent. The copy is made beside NEW and renamed to it when complete, so a fork cut
short leaves no half folder that looks like a plan. DIR is only read; while it is copied no run
may start in it. NEW records its parent in lineage.json, by a path relative to NEW (a run folder
holds no absolute path, so a copied or moved pair of folders still names each other).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from planexe_pipeline.errors import InputError
from planexe_pipeline.prompt_input import FINGERPRINT_FILE, PLAN_FILE, read_fingerprint
from planexe_pipeline.run_folder import LOCK_FILE, no_run_while
from planexe_pipeline.telemetry.event_log import TELEMETRY_DIR
from planexe_pipeline.telemetry.run_state import read_run_state

LINEAGE_FILE = "lineage.json"
# What belongs to the folder's runs, not to its plan: locks and probes, and Luigi's temporary
# files of writes a killed run left (never outputs).
NOT_COPIED = (LOCK_FILE, ".run_id.lock", ".write-check-*", "*-luigi-tmp-*")


@dataclass(frozen=True)
class Fork:
    path: Path
    parent: Path
    files: int
    bytes: int
    finished: bool  # whether the parent's last run completed it (else the fork's first run completes it)


def check_plan_folder(run_dir: Path) -> None:
    """A folder that holds a plan: its prompt and fingerprint (written before any step runs)."""
    if not run_dir.is_dir():
        raise InputError(f"{run_dir} is not a folder: pass the run folder of a plan")
    if not (run_dir / PLAN_FILE).is_file() or not (run_dir / FINGERPRINT_FILE).is_file():
        raise InputError(f"{run_dir} is not a plan (it has no {PLAN_FILE} and {FINGERPRINT_FILE}): "
                         "pass the run folder of a plan")


def _check_new(source: Path, new: Path) -> None:
    if new.exists() and (not new.is_dir() or any(new.iterdir())):
        raise InputError(f"{new} already exists and is not an empty folder: pass the name of a new folder")
    resolved, home = new.resolve(), source.resolve()
    if resolved == home or home in resolved.parents:
        raise InputError(f"{new} is inside the plan {source}: pass a folder outside it")


def _state_of(run_dir: Path) -> str | None:
    """The state its telemetry says (None before any run): a scaled-out run holds no lock, and its
    lines say whether it is going on."""
    if not (run_dir / TELEMETRY_DIR).is_dir():
        return None
    try:
        state = read_run_state(run_dir).state
    except ValueError:  # no run has started in it
        return None
    if state in ("running", "stalled"):
        raise InputError(f"{run_dir} is being run right now: wait for its run to end (or stop it) before forking it")
    return state


def lineage_record(parent: Path, new: Path, now: datetime.datetime | None = None) -> dict:
    recorded = read_fingerprint(parent) or {}
    when = (now or datetime.datetime.now(datetime.timezone.utc)).astimezone(datetime.timezone.utc)
    return {"parent": os.path.relpath(os.path.abspath(parent), os.path.abspath(new)),
            "parent_prompt_sha256": recorded.get("prompt_sha256"),
            "forked_at": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


def read_lineage(run_dir: Path) -> dict | None:
    """The folder's lineage.json, or None for a plan that is no fork (or whose record is unreadable)."""
    try:
        record = json.loads((run_dir / LINEAGE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("parent"), str) else None


def parent_of(run_dir: Path) -> Path | None:
    """The parent folder a fork names, as a path usable from here."""
    record = read_lineage(run_dir)
    return Path(os.path.normpath(run_dir / record["parent"])) if record else None


def fork_plan(source: Path, new: Path, now: datetime.datetime | None = None) -> Fork:
    check_plan_folder(source)
    _check_new(source, new)
    new.parent.mkdir(parents=True, exist_ok=True)
    staging = new.parent / f".{new.name}.forking-{os.getpid()}"
    with no_run_while(source, "forking it"):
        state = _state_of(source)
        try:
            shutil.copytree(source, staging, ignore=shutil.ignore_patterns(*NOT_COPIED))
            (staging / LINEAGE_FILE).write_text(json.dumps(lineage_record(source, new, now), indent=2) + "\n",
                                                encoding="utf-8")
            if new.exists():
                new.rmdir()  # empty (checked): the complete copy takes its place
            staging.rename(new)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    files = [p for p in new.rglob("*") if p.is_file()]
    return Fork(new, source, len(files), sum(p.stat().st_size for p in files), state == "done")


def cmd_fork(args) -> int:
    """planexe-pipeline fork DIR NEW. Imports no task graph (a fork is a copy), so it answers at once."""
    source, new = Path(args.run_dir), Path(args.new_dir)
    fork = fork_plan(source, new)
    print(f"Forked {source} into {new}: {fork.files} files ({fork.bytes / 1e6:.1f} MB) of its work; "
          f"its parent is recorded in {new / LINEAGE_FILE}.")
    if fork.finished:
        print(f"Revise it, run it with planexe-pipeline run --run-dir {new}, "
              f"then compare: planexe-pipeline diff {source} {new}")
    else:
        print(f"{source} is not finished: planexe-pipeline run --run-dir {new} completes the fork on its own.")
    return 0
