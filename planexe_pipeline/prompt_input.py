"""The plan prompt: read, checked and fingerprinted before anything is written."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from pathlib import Path

from planexe_pipeline.errors import InputError, RunFolderMismatch

PLAN_FILE = "001-plan.txt"
FINGERPRINT_FILE = "001-plan_fingerprint.json"


def read_prompt_file(path: str | os.PathLike) -> str:
    p = Path(path)
    if p.is_dir():
        raise InputError(f"prompt file {p} is a folder: pass a text file to --prompt-file")
    if not p.is_file():
        raise InputError(f"prompt file {p} does not exist: pass an existing file to --prompt-file")
    data = p.read_bytes()
    if b"\x00" in data:
        raise InputError(f"prompt file {p} is binary: pass a UTF-8 text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"prompt file {p} is not UTF-8 text: save it as UTF-8 and try again") from None


def check_prompt(text: str, max_chars: int) -> str:
    prompt = text.strip()
    if not prompt:
        raise InputError("the prompt is empty: describe the project in a paragraph (--prompt, --prompt-file or --prompt-id)")
    if len(prompt) > max_chars:
        raise InputError(f"the prompt has {len(prompt)} characters, over the limit of {max_chars}: shorten it to one or two paragraphs")
    return prompt + "\n"


def fingerprint(prompt: str, speed: str, start_date: str | None = None) -> dict:
    """What identifies a run folder. start_date is recorded here once, so a resumed run
    schedules from the same day; the schedule reads it from this file. (The models a run used
    are in its telemetry: the same plan from another model must be the same files.)"""
    record = {"prompt_sha256": hashlib.sha256(prompt.encode("utf-8")).hexdigest(), "speed": speed}
    if start_date is not None:
        record["start_date"] = start_date
    return record


def read_fingerprint(run_dir: str | os.PathLike) -> dict | None:
    """What the folder recorded when its run began, or None for a folder with no plan yet."""
    path = Path(run_dir) / FINGERPRINT_FILE
    if not path.exists():
        return None
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        recorded = None
    if not isinstance(recorded, dict):
        raise RunFolderMismatch(f"run folder {run_dir} has an unreadable {FINGERPRINT_FILE}: use a new --run-dir")
    return recorded


def check_start_date(value: str) -> str:
    try:
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise InputError(f"start date '{value}' is not a date: use YYYY-MM-DD") from None


def check_run_folder(run_dir: str | os.PathLike, prompt: str | None, speed: str,
                     start_date: str | None = None) -> None:
    """Refuse a run folder that already holds a plan of another prompt, speed or start date."""
    recorded = read_fingerprint(run_dir)
    if recorded is None:
        return
    if prompt is not None and recorded.get("prompt_sha256") != fingerprint(prompt, speed)["prompt_sha256"]:
        raise RunFolderMismatch(
            f"run folder {run_dir} holds a plan for another prompt: use a new --run-dir, or rerun without a prompt to resume it"
        )
    if recorded.get("speed") != speed:
        raise RunFolderMismatch(
            f"run folder {run_dir} was started with --speed {recorded.get('speed')}: pass the same --speed "
            "or use a new --run-dir"
        )
    if start_date is not None and recorded.get("start_date") not in (None, start_date):
        raise RunFolderMismatch(
            f"run folder {run_dir} schedules from {recorded['start_date']}: pass the same --start-date "
            "or use a new --run-dir"
        )
