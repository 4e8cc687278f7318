"""Telemetry lines: one JSON object per line under RUN_DIR/telemetry/.

Many worker processes (and, when scaled out, many machines sharing the run folder) write at
once. Each host appends to its own file, under an exclusive flock, with one os.write per line,
so lines never interleave and no file is shared between machines whose locks do not see each
other.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any

TELEMETRY_DIR = "telemetry"


def telemetry_dir(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / TELEMETRY_DIR


def _host_file(run_dir: str | os.PathLike) -> Path:
    host = "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname()) or "host"
    return telemetry_dir(run_dir) / f"events-{host}.jsonl"


def append_event(run_dir: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one record as one line; safe under concurrent writers."""
    path = _host_file(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            os.write(fd, line)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def read_events(run_dir: str | os.PathLike, kind: str | None = None) -> list[dict[str, Any]]:
    """Every telemetry line of a run, oldest first; a torn last line (a killed writer) is skipped."""
    records: list[dict[str, Any]] = []
    folder = telemetry_dir(run_dir)
    if not folder.is_dir():
        return records
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and (kind is None or record.get("kind") == kind):
                    records.append(record)
    records.sort(key=lambda r: (r.get("start") or 0, r.get("end") or 0))
    return records
