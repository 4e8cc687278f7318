"""A small JSON state file that many processes (and hosts sharing a folder) update in turn.

Every update is read-modify-write under an exclusive flock on the file itself. A file torn by
a writer killed mid-write reads as empty state: the state it holds (leases, counters) is soft,
it rebuilds itself, and a crash must never stop a run. Leases name their host and process, so
a dead process's share is freed at once on its own host and by expiry elsewhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any, Iterator

HOST = socket.gethostname()


@contextlib.contextmanager
def locked_json(path: Path, seen: list[int] | None = None) -> Iterator[dict[str, Any]]:
    """The state as a dict; changes made to it are written back when the block ends cleanly
    (an unchanged state is not rewritten, so a file's mtime moves only when its state does).
    `seen`, if given, receives the file's mtime (ns) as this block leaves it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = b""
        while chunk := os.read(fd, 1 << 16):
            raw += chunk
        try:
            state = json.loads(raw) if raw else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            state = {}
        if not isinstance(state, dict):
            state = {}
        yield state
        data = json.dumps(state, sort_keys=True).encode("utf-8")
        if data != raw:
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, data)
        if seen is not None:
            seen[:] = [os.fstat(fd).st_mtime_ns]
    finally:
        os.close(fd)  # closing releases the flock


def changed_since(path: Path, seen: list[int]) -> bool:
    """Whether the file was rewritten since `seen` was taken: a cheap look, no lock."""
    try:
        return [os.stat(path).st_mtime_ns] != seen
    except FileNotFoundError:
        return True


def holder() -> dict[str, Any]:
    """Who holds a lease: enough to tell later whether it is still alive."""
    return {"host": HOST, "pid": os.getpid()}


def holder_alive(entry: dict[str, Any], now: float) -> bool:
    """A lease or waiter counts while its process lives (same host) and it has not expired."""
    if entry.get("expires", 0) < now:
        return False
    if entry.get("host") != HOST:
        return True
    try:
        os.kill(int(entry.get("pid", 0)), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return True


def prune(entries: dict[str, dict[str, Any]], now: float) -> dict[str, dict[str, Any]]:
    return {key: e for key, e in entries.items() if holder_alive(e, now)}
