"""The telemetry log: one JSON object per line under RUN_DIR/telemetry/, each line one of the
event kinds of events.py.

Many worker processes (and, when scaled out, many machines sharing the run folder) write at
once. Each host appends to its own file, under an exclusive flock, with one os.write per line,
so lines never interleave and no file is shared between machines whose locks do not see each
other. `read_events` is the one reader: progress, stats, the timeline, the benchmark, the run
summary and scale-out all see typed events; `EventFollower` reads what is new since its last look.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any, Iterable, TypeVar

from planexe_pipeline.telemetry.events import EVENT_KINDS, Event, TaskEvent

TELEMETRY_DIR = "telemetry"


def last_models(run_dir: str | os.PathLike) -> tuple[tuple[str, ...], str | None]:
    """(models, llm config) of the latest run of the folder that recorded them; ((), None) if none did.
    The config's path is usable from here (it was recorded relative to the run folder)."""
    starts = [e for e in read_events(run_dir, "run") if e.event == "start" and e.models and e.start is not None]
    latest = max(starts, key=lambda e: e.start, default=None)
    if latest is None:
        return (), None
    config = os.path.normpath(os.path.join(run_dir, latest.llm_config)) if latest.llm_config else None
    return latest.models, config


def path_in_run_folder(run_dir: str | os.PathLike, path: str | os.PathLike) -> str:
    """A path as a run folder records it: relative to that folder, so that a copy of the folder
    (a fork, a backup) names no place of the original."""
    return os.path.relpath(os.path.abspath(path), os.path.abspath(run_dir))


def telemetry_dir(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / TELEMETRY_DIR


def host_label() -> str:
    """This machine's name as it appears in its telemetry file name."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname()) or "host"


def _host_file(run_dir: str | os.PathLike) -> Path:
    return telemetry_dir(run_dir) / f"events-{host_label()}.jsonl"


def append_event(run_dir: str | os.PathLike, event: Event) -> None:
    """Append one event as one line; safe under concurrent writers."""
    append_events(run_dir, [event])


def append_events(run_dir: str | os.PathLike, events: Iterable[Event]) -> None:
    """Append events as lines, in one write; safe under concurrent writers."""
    path = _host_file(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(e.to_record(), sort_keys=True, default=str) + "\n" for e in events).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            os.write(fd, data)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def parse_event(record: Any) -> Event | None:
    """The typed event of one record, or None if it is not one this reader knows."""
    kind = EVENT_KINDS.get(record.get("kind")) if isinstance(record, dict) else None
    return kind.from_record(record) if kind else None


def parse_events(records: Iterable[Any]) -> list[Event]:
    """Typed events of the records that are events, oldest first."""
    events = [event for event in map(parse_event, records) if event is not None]
    events.sort(key=lambda e: (e.start or 0, e.end or 0))
    return events


T = TypeVar("T", bound=Event)


def read_events(run_dir: str | os.PathLike, kind: type[T] | str = Event) -> list[T]:
    """Every telemetry event of a run (or those of one kind: its class or its name in the file),
    oldest first; a torn last line (a killed writer) is skipped."""
    if isinstance(kind, str):
        kind = EVENT_KINDS[kind]
    records: list[Any] = []
    folder = telemetry_dir(run_dir)
    if not folder.is_dir():
        return []
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    return [e for e in parse_events(records) if isinstance(e, kind)]


def of_kind(events: Iterable[Event], kind: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


def failed_tasks(events: Iterable[Event], since: float = 0.0) -> list[TaskEvent]:
    """End lines of task executions that failed, started at `since` or later."""
    return [e for e in of_kind(events, TaskEvent) if e.failed and (e.start or 0) >= since]


class EventFollower:
    """The events appended to a run's telemetry since the last look, each with the host that wrote it.

    Files only grow, so each look reads the new bytes of each file and stops at the last whole
    line (a line being written is read next time). A worker that looks often pays for what is
    new, not for the whole run."""

    def __init__(self, run_dir: str | os.PathLike):
        self.folder = telemetry_dir(run_dir)
        self.offsets: dict[Path, int] = {}

    def new_events(self) -> list[tuple[str, Event]]:
        found: list[tuple[str, Event]] = []
        for path in sorted(self.folder.glob("events-*.jsonl")):
            seen = self.offsets.get(path, 0)
            try:
                if path.stat().st_size <= seen:
                    continue
                with open(path, "rb") as fh:
                    fh.seek(seen)
                    data = fh.read()
            except OSError:
                continue
            whole = data[:data.rfind(b"\n") + 1]
            self.offsets[path] = seen + len(whole)
            host = path.stem[len("events-"):]
            for line in whole.splitlines():
                try:
                    event = parse_event(json.loads(line))
                except ValueError:
                    continue
                if event is not None:
                    found.append((host, event))
        return found
